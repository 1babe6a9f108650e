package scenario

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

func TestFromQuick(t *testing.T) {
	cases := map[string]struct {
		opts  QuickOptions
		check func(*testing.T, *model.Scenario)
	}{
		"--vus and --duration make constant-vus with one stage": {
			opts: QuickOptions{URL: "http://127.0.0.1:8080/api/orders/42", VUs: 10, Duration: 30 * time.Second},
			check: func(t *testing.T, s *model.Scenario) {
				if s.Target != "http://127.0.0.1:8080" {
					t.Errorf("target %q", s.Target)
				}
				st := s.Flows[0].Steps[0]
				if st.Method != "GET" || st.Path != "/api/orders/42" || st.Endpoint != "GET /api/orders/42" {
					t.Errorf("step %+v", st)
				}
				e := s.Executors[0]
				if e.Type != model.ExecutorConstantVUs || e.VUs != 10 || e.Duration.D() != 30*time.Second {
					t.Errorf("executor %+v", e)
				}
				if want := []model.Stage{{Name: "constant-vus", Duration: sec(30), Target: 10}}; !reflect.DeepEqual(e.Stages, want) {
					t.Errorf("stages %+v, want %+v", e.Stages, want)
				}
			},
		},
		"--duration alone runs one VU, as in k6": {
			opts: QuickOptions{URL: "http://127.0.0.1:8080", Duration: time.Second},
			check: func(t *testing.T, s *model.Scenario) {
				if e := s.Executors[0]; e.VUs != 1 || s.Flows[0].Steps[0].Path != "/" {
					t.Errorf("executor %+v path %q", e, s.Flows[0].Steps[0].Path)
				}
			},
		},
		"--rate makes constant-arrival-rate with a VU pool for the rate": {
			opts: QuickOptions{URL: "http://127.0.0.1:8080/api/orders/create", Method: "post", Rate: 200, Duration: time.Minute, MaxVUs: 400},
			check: func(t *testing.T, s *model.Scenario) {
				e := s.Executors[0]
				if e.Type != model.ExecutorConstantArrivalRate || e.Rate != 200 || e.PreAllocatedVUs != 200 || e.MaxVUs != 400 || e.TimeUnit.D() != time.Second {
					t.Errorf("executor %+v", e)
				}
				if st := s.Flows[0].Steps[0]; st.Method != "POST" || st.Endpoint != "POST /api/orders/create" {
					t.Errorf("step %+v", st)
				}
			},
		},
		"--stage values make ramping-vus": {
			opts: QuickOptions{URL: "http://127.0.0.1:8080/healthz", Stages: []model.Stage{{Duration: sec(30), Target: 50}, {Name: "peak", Duration: sec(60), Target: 200}}},
			check: func(t *testing.T, s *model.Scenario) {
				e := s.Executors[0]
				if e.Type != model.ExecutorRampingVUs || len(e.Stages) != 2 || e.Stages[0].Name != "stage-1" || e.Stages[1].Name != "peak" {
					t.Errorf("executor %+v", e)
				}
			},
		},
		"ramping-arrival-rate stages count iterations per second from --rate": {
			opts: QuickOptions{URL: "http://127.0.0.1:8080/", Executor: model.ExecutorRampingArrivalRate, Rate: 10, VUs: 20,
				Stages: []model.Stage{{Duration: sec(30), Target: 100}, {Duration: sec(30), Target: 300}}},
			check: func(t *testing.T, s *model.Scenario) {
				e := s.Executors[0]
				if e.Type != model.ExecutorRampingArrivalRate || e.StartRate != 10 || e.PreAllocatedVUs != 20 || e.MaxVUs != 20 || e.Stages[1].Target != 300 {
					t.Errorf("executor %+v", e)
				}
			},
		},
		"a JSON --body makes a POST whose numbers stay numbers": {
			opts: QuickOptions{URL: "http://127.0.0.1:8080/api/cart/add?src=cli", Body: `{"product_id":"prod_{{randomInt(1,500)}}","quantity":2,"price":1.5}`,
				Headers: map[string]string{"X-Test": "1"}, Duration: time.Second},
			check: func(t *testing.T, s *model.Scenario) {
				st := s.Flows[0].Steps[0]
				want := map[string]any{"product_id": "prod_{{randomInt(1,500)}}", "quantity": int64(2), "price": 1.5}
				if st.Method != "POST" || !reflect.DeepEqual(st.Body, want) || st.Headers["X-Test"] != "1" {
					t.Errorf("step %+v", st)
				}
				if st.Path != "/api/cart/add?src=cli" || st.Endpoint != "POST /api/cart/add" {
					t.Errorf("path %q endpoint %q", st.Path, st.Endpoint)
				}
			},
		},
		"a templated URL keeps its braces": {
			opts: QuickOptions{URL: "http://127.0.0.1:8080/api/orders/{{randomInt(1, 100)}}", Duration: time.Second},
			check: func(t *testing.T, s *model.Scenario) {
				if p := s.Flows[0].Steps[0].Path; p != "/api/orders/{{randomInt(1, 100)}}" {
					t.Errorf("path %q", p)
				}
			},
		},
		"--threshold values are grouped by metric, tag filters included": {
			opts: QuickOptions{URL: "http://127.0.0.1:8080/api/orders/1", Duration: time.Second,
				Thresholds: []string{"http_req_duration:p(95)<800", "http_req_duration:p(99)<1500", "http_req_failed{endpoint:GET /api/orders/1}:rate<0.01"}},
			check: func(t *testing.T, s *model.Scenario) {
				want := map[string][]model.Threshold{
					"http_req_duration":                           {{Expr: "p(95)<800"}, {Expr: "p(99)<1500"}},
					"http_req_failed{endpoint:GET /api/orders/1}": {{Expr: "rate<0.01"}},
				}
				if !reflect.DeepEqual(s.Thresholds, want) {
					t.Errorf("thresholds %+v", s.Thresholds)
				}
			},
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := FromQuick(c.opts)
			if err != nil {
				t.Fatalf("FromQuick: %v", err)
			}
			if err := s.CheckRunnable(); err != nil {
				t.Errorf("not runnable: %v", err)
			}
			c.check(t, s)
			roundTrip(t, s)
		})
	}
}

func TestFromQuickNamesTheFlagInErrors(t *testing.T) {
	url := "http://127.0.0.1:8080/x"
	cases := map[string]struct {
		opts QuickOptions
		msg  string
	}{
		"a URL without scheme":                {QuickOptions{URL: "127.0.0.1:8080/x", Duration: time.Second}, `URL "127.0.0.1:8080/x": expected an absolute http(s) URL`},
		"no URL at all":                       {QuickOptions{Duration: time.Second}, `URL "": expected`},
		"--vus without --duration":            {QuickOptions{URL: url, VUs: 5}, "--duration is required with --vus"},
		"--stage with constant-vus":           {QuickOptions{URL: url, Executor: model.ExecutorConstantVUs, Duration: time.Second, Stages: []model.Stage{{Duration: sec(1), Target: 1}}}, "--stage needs a ramping executor"},
		"--rate with ramping-vus":             {QuickOptions{URL: url, Executor: model.ExecutorRampingVUs, Rate: 5, Stages: []model.Stage{{Duration: sec(1), Target: 1}}}, "--rate needs --executor constant-arrival-rate"},
		"ramping-arrival-rate without stages": {QuickOptions{URL: url, Executor: model.ExecutorRampingArrivalRate, Rate: 5}, "ramping-arrival-rate needs at least one --stage"},
		"--max-vus below --pre-allocated-vus": {QuickOptions{URL: url, Rate: 5, Duration: time.Second, PreAllocatedVUs: 10, MaxVUs: 5}, "--max-vus 5 is less than --pre-allocated-vus 10"},
		"an unknown --executor":               {QuickOptions{URL: url, Executor: "shared-iterations", Duration: time.Second}, `--executor "shared-iterations": expected one of ramping-vus`},
		"a --body that is not JSON":           {QuickOptions{URL: url, Body: "{sku: 1}", Duration: time.Second}, "--body: expected a JSON body"},
		"a --threshold without a metric":      {QuickOptions{URL: url, Duration: time.Second, Thresholds: []string{"p(95)<800"}}, `--threshold "p(95)<800": expected METRIC:EXPRESSION`},
		"a --threshold on an unknown metric":  {QuickOptions{URL: url, Duration: time.Second, Thresholds: []string{"latency:p(95)<800"}}, `--threshold: threshold key "latency": unknown metric`},
		"a --threshold that does not fit":     {QuickOptions{URL: url, Duration: time.Second, Thresholds: []string{"http_req_failed:p(95)<1"}}, "--threshold: threshold \"p(95)<1\": aggregation p(N) does not fit http_req_failed"},
		"an undefined variable in the URL":    {QuickOptions{URL: url + "/{{id}}", Duration: time.Second}, `URL: template "/x/{{id}}" refers to undefined variable "id"`},
		"a --method that is not HTTP":         {QuickOptions{URL: url, Method: "fetch", Duration: time.Second}, `--method: expected one of GET`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := FromQuick(c.opts)
			if err == nil {
				t.Fatal("FromQuick accepted the options")
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not contain %q", err, c.msg)
			}
		})
	}
}

func TestParseStageFlag(t *testing.T) {
	cases := map[string]struct {
		in   string
		want model.Stage
	}{
		"duration and target":              {"30s:50", model.Stage{Duration: sec(30), Target: 50}},
		"duration, target and name":        {"1m:200:peak", model.Stage{Name: "peak", Duration: sec(60), Target: 200}},
		"a bare number of seconds":         {"45:10", model.Stage{Duration: sec(45), Target: 10}},
		"a fractional arrival-rate target": {"10s:2.5", model.Stage{Duration: sec(10), Target: 2.5}},
		"a zero-length jump":               {"0s:100", model.Stage{Target: 100}},
		"a name holding a colon":           {"1m:5:a:b", model.Stage{Name: "a:b", Duration: sec(60), Target: 5}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseStageFlag(c.in)
			if err != nil {
				t.Fatalf("ParseStageFlag(%q): %v", c.in, err)
			}
			if got != c.want {
				t.Errorf("ParseStageFlag(%q) = %+v, want %+v", c.in, got, c.want)
			}
		})
	}
	for _, bad := range []string{"30s", "30s:", "soon:5", "30s:many", "30s:-5", "30s:5:", ":5", "-1s:5"} {
		_, err := ParseStageFlag(bad)
		if err == nil {
			t.Errorf("ParseStageFlag(%q) accepted it", bad)
			continue
		}
		if !strings.Contains(err.Error(), `--stage "`+bad+`"`) || !strings.Contains(err.Error(), "DURATION:TARGET[:NAME]") {
			t.Errorf("ParseStageFlag(%q) = %q, want the value and the expected form", bad, err)
		}
	}
}
