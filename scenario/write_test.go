package scenario

import (
	"bytes"
	"github.com/headroom-sh/headroom/internal/golden"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headroom-sh/headroom/model"
)

func TestMarshalGolden(t *testing.T) {
	for _, name := range []string{"checkout", "quick", "checkout-arrival-rate", "every-field"} {
		t.Run(name, func(t *testing.T) {
			s := defaulted(fullScenario())
			if name != "every-field" {
				var err error
				if s, err = ReadFile("../examples/scenarios/" + name + ".yaml"); err != nil {
					t.Fatal(err)
				}
			}
			var buf bytes.Buffer
			if err := Write(&buf, s); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, "", ".yaml", buf.Bytes())
		})
	}
}

func TestEveryExampleRoundTripsThroughMarshal(t *testing.T) {
	files, _ := filepath.Glob("../examples/scenarios/*.yaml")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, s)
		})
	}
}

// roundTrip checks that Parse(Marshal(s)) gives s back.
func roundTrip(t *testing.T, s *model.Scenario) {
	t.Helper()
	b, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b, "marshalled.yaml")
	if err != nil {
		t.Fatalf("Parse(Marshal(s)): %v\n%s", err, b)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("Parse(Marshal(s)) differs from s:\n%s\nwant %+v\ngot  %+v", b, s, back)
	}
}

func sec(n float64) model.Duration { return model.Duration(time.Duration(n * float64(time.Second))) }

// fullScenario uses every part of the document, with values that are and
// are not defaults.
func fullScenario() *model.Scenario {
	return &model.Scenario{
		Name:      "full",
		Target:    "https://127.0.0.1:8443/base",
		Variables: map[string]string{"region": "eu", "n": "007", "yes": "true"},
		Headers:   map[string]string{"X-Region": "{{region}}", "Accept": "application/json"},
		Timeout:   sec(5),
		Auth: &model.Auth{
			Step:      model.Step{Method: "POST", Path: "/login", Body: map[string]any{"u": "user{{vu()}}", "p": "secret"}, Capture: map[string]string{"jwt": "$.data.jwt", "uid": "$.data.id"}},
			Token:     "jwt",
			Header:    "X-Auth",
			Scheme:    "none",
			RefreshOn: []int{401, 403},
		},
		Flows: []model.Flow{
			{Name: "buy", Weight: 2.5, Steps: []model.Step{
				{Name: "create", Method: "POST", Path: "/orders", Endpoint: "create order",
					Body: map[string]any{
						"qty": "{{skewedInt(1,10)}}", "note": "", "gift": false, "price": 9.99, "count": int64(3),
						"tags": []any{"a", int64(1), nil}, "nested": map[string]any{"list": []any{map[string]any{"k": "v"}}},
						"colon": "a: b", "hash": "# not a comment", "multi": "line one\nline two",
					},
					Capture: map[string]string{"orderId": "id"},
					Checks: []model.Check{
						{Name: "created", Status: []int{200, 201}},
						{JSONPath: "$.id", Equals: "1"},
						{MaxDuration: sec(0.25)},
					},
					Think: &model.Think{Distribution: model.ThinkNormal, Duration: sec(1), StdDev: sec(0.2)},
				},
				{Method: "GET", Path: "/orders/{{orderId}}?verbose=1", Think: &model.Think{Min: sec(0.1), Max: sec(0.3)}},
				{Method: "DELETE", Path: "https://127.0.0.1:8443/orders/{{orderId}}", Headers: map[string]string{"X-Uid": "{{uid}}"}},
			}},
			{Name: "flow-2", Steps: []model.Step{{Method: "HEAD", Path: "/"}}},
		},
		Executors: []model.Executor{
			{Type: model.ExecutorRampingVUs, StartVUs: 2, Flows: []string{"buy"}, StartTime: sec(3), GracefulRampDown: sec(5),
				Stages: []model.Stage{{Duration: sec(10), Target: 5}, {Name: "peak", Duration: sec(0), Target: 10}, {Duration: sec(10), Target: 0}}},
			{Type: model.ExecutorConstantVUs, VUs: 3, Duration: sec(20)},
			{Type: model.ExecutorConstantVUs, Name: "second", VUs: 4, Duration: sec(20), GracefulStop: sec(1)},
			{Type: model.ExecutorConstantArrivalRate, Rate: 30, TimeUnit: sec(60), Duration: sec(30), MaxVUs: 50},
			{Type: model.ExecutorRampingArrivalRate, StartRate: 1.5, PreAllocatedVUs: 7, Stages: []model.Stage{{Duration: sec(5), Target: 20.5}}},
		},
		Thresholds: map[string][]model.Threshold{
			"http_req_duration":                        {{Expr: "p(95)<800"}, {Expr: "max<2000", AbortOnFail: true, DelayAbortEval: sec(10)}},
			"http_req_failed{endpoint:create order}":   {{Expr: "rate<0.01"}},
			"checks{check:created}":                    {{Expr: "rate>0.99", AbortOnFail: true}},
			"http_reqs":                                {{Expr: "count>10"}},
			"http_req_duration{stage:peak,method:GET}": {{Expr: "p(99)<1000"}},
		},
	}
}

func TestAScenarioUsingEveryFieldRoundTrips(t *testing.T) {
	s := fullScenario()
	s.SetDefaults()
	if err := s.Validate(); err != nil {
		t.Fatalf("the fixture is invalid: %v", err)
	}
	roundTrip(t, s)
}

func TestAScenarioThatWasNotDefaultedReadsBackDefaulted(t *testing.T) {
	s := fullScenario()
	b, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b, "m.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	want := fullScenario()
	want.SetDefaults()
	if !reflect.DeepEqual(back, want) {
		t.Errorf("got %+v\nwant %+v", back, want)
	}
}

func TestMarshalDoesNotChangeItsInput(t *testing.T) {
	for name, s := range map[string]*model.Scenario{"defaulted": defaulted(fullScenario()), "as written": fullScenario()} {
		t.Run(name, func(t *testing.T) {
			before := s.Clone()
			if _, err := Marshal(s); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s, before) {
				t.Errorf("Marshal changed its input:\nbefore %+v\nafter  %+v", before, s)
			}
		})
	}
}

func defaulted(s *model.Scenario) *model.Scenario {
	s.SetDefaults()
	return s
}

func TestMarshalLeavesDefaultsOut(t *testing.T) {
	b, err := Marshal(defaulted(fullScenario()))
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, absent := range []string{"gracefulStop: 30s", "timeUnit: 1s", "weight: 1\n", "refreshOn: [401]", "name: stage-", "name: flow-2", "endpoint: GET /orders/{orderId}", "distribution: uniform", "name: constant-vus-1", "name: ramping-vus"} {
		if strings.Contains(out, absent) {
			t.Errorf("output contains the default %q:\n%s", absent, out)
		}
	}
	for _, present := range []string{"gracefulStop: 1s", "timeUnit: 1m", "weight: 2.5", "refreshOn: [401, 403]", "name: peak", "endpoint: create order", "distribution: normal", "name: second", "scheme: none", "maxVUs: 50", "preAllocatedVUs: 7"} {
		if !strings.Contains(out, present) {
			t.Errorf("output lacks %q:\n%s", present, out)
		}
	}
}

func TestMarshalRefusesNil(t *testing.T) {
	if _, err := Marshal(nil); err == nil {
		t.Error("Marshal(nil) succeeded")
	}
}
