package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/headroom-sh/headroom/internal/testenv"
)

// fakeGrafana is Grafana's HTTP API as far as a push uses it: folders,
// datasources by uid and dashboards, kept in memory. Grafana cannot run
// here, so this fake records every request for the tests to compare with
// the exact requests they expect; it answers the way Grafana 10–12 does.
type fakeGrafana struct {
	t *testing.T
	// auth is the Authorization header every request must carry.
	auth string
	// prefix is the sub-path Grafana is served under, e.g. "/grafana".
	prefix string

	mu          sync.Mutex
	requests    []request
	folders     []map[string]any
	datasources map[string]map[string]any
	dashboards  map[string]*storedDashboard
	// fail answers "METHOD /path" with a status and body instead.
	fail map[string]failure
}

type request struct {
	Method, Path string
	// Body is the decoded JSON body; nil without one.
	Body any
}

type storedDashboard struct {
	model     map[string]any
	folderUID string
	version   int
}

type failure struct {
	status int
	body   string
}

func newFakeGrafana(t *testing.T, token string) (*fakeGrafana, *httptest.Server) {
	f := &fakeGrafana{t: t, auth: "Bearer " + token, datasources: map[string]map[string]any{},
		dashboards: map[string]*storedDashboard{}, fail: map[string]failure{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGrafana) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("fake Grafana: %v", err)
	}
}

func (f *fakeGrafana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body any
	raw, _ := io.ReadAll(r.Body)
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			f.t.Errorf("fake Grafana: %s %s: body is not JSON: %v", r.Method, r.URL, err)
		}
	}
	path := strings.TrimPrefix(r.URL.Path, f.prefix)
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	f.requests = append(f.requests, request{Method: r.Method, Path: path, Body: body})
	if got := r.Header.Get("Authorization"); got != f.auth {
		f.reply(w, http.StatusUnauthorized, map[string]any{"message": "invalid API key"})
		return
	}
	if fl, ok := f.fail[r.Method+" "+strings.Split(path, "?")[0]]; ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(fl.status)
		io.WriteString(w, fl.body)
		return
	}
	b, _ := body.(map[string]any)
	switch {
	case r.Method == "GET" && path == "/api/folders?limit=1000&page=1":
		list := f.folders
		if list == nil {
			list = []map[string]any{}
		}
		f.reply(w, 200, list)
	case r.Method == "POST" && path == "/api/folders":
		folder := map[string]any{"id": len(f.folders) + 1, "uid": b["uid"], "title": b["title"], "url": fmt.Sprintf("/dashboards/f/%s/", b["uid"])}
		f.folders = append(f.folders, folder)
		f.reply(w, 200, folder)
	case r.Method == "GET" && strings.HasPrefix(path, "/api/datasources/uid/"):
		ds, ok := f.datasources[strings.TrimPrefix(path, "/api/datasources/uid/")]
		if !ok {
			f.reply(w, 404, map[string]any{"message": "Data source not found"})
			return
		}
		f.reply(w, 200, ds)
	case r.Method == "POST" && path == "/api/datasources":
		uid, _ := b["uid"].(string)
		ds := map[string]any{"id": len(f.datasources) + 1}
		for k, v := range b {
			ds[k] = v
		}
		f.datasources[uid] = ds
		f.reply(w, 200, map[string]any{"id": ds["id"], "message": "Datasource added", "name": ds["name"], "datasource": ds})
	case r.Method == "GET" && strings.HasPrefix(path, "/api/dashboards/uid/"):
		d, ok := f.dashboards[strings.TrimPrefix(path, "/api/dashboards/uid/")]
		if !ok {
			f.reply(w, 404, map[string]any{"message": "Dashboard not found"})
			return
		}
		f.reply(w, 200, map[string]any{"dashboard": d.model, "meta": map[string]any{
			"folderUid": d.folderUID, "slug": "s", "url": "/d/" + d.model["uid"].(string) + "/s"}})
	case r.Method == "POST" && path == "/api/dashboards/db":
		m, _ := b["dashboard"].(map[string]any)
		uid, _ := m["uid"].(string)
		d, ok := f.dashboards[uid]
		if !ok {
			d = &storedDashboard{}
			f.dashboards[uid] = d
		}
		d.version++
		stored := map[string]any{}
		for k, v := range m {
			stored[k] = v
		}
		stored["id"], stored["version"] = len(f.dashboards), d.version
		d.model, d.folderUID = stored, b["folderUid"].(string)
		f.reply(w, 200, map[string]any{"id": stored["id"], "uid": uid, "url": "/d/" + uid + "/s", "status": "success", "version": d.version, "slug": "s"})
	default:
		f.t.Errorf("fake Grafana: unexpected request %s %s", r.Method, path)
		f.reply(w, 404, map[string]any{"message": "Not found"})
	}
}

// take returns the requests so far and forgets them.
func (f *fakeGrafana) take() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.requests
	f.requests = nil
	return r
}

// jsonOf decodes JSON into the generic form the fake records bodies in.
func jsonOf(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func testDashboards(t *testing.T) []Dashboard {
	t.Helper()
	ds, err := Build(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// dashboardSave is the exact body of a dashboard save: the model, the
// folder, overwrite, the version message, and what the API client always
// adds (folderId 0 and an empty meta, which Grafana ignores on save).
func dashboardSave(t *testing.T, d Dashboard, folderUID string) request {
	return request{Method: "POST", Path: "/api/dashboards/db", Body: map[string]any{
		"dashboard": jsonOf(t, d.JSON),
		"folderUid": folderUID,
		"folderId":  0.0,
		"overwrite": true,
		"message":   "headroom dashboards push",
		"meta":      map[string]any{"isStarred": false, "slug": "", "folderId": 0.0, "folderUid": "", "url": ""},
	}}
}

func compareRequests(t *testing.T, got, want []request) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d requests, want %d", len(got), len(want))
	}
	for i := 0; i < len(got) || i < len(want); i++ {
		switch {
		case i >= len(got):
			t.Errorf("request %d: missing, want %s %s", i, want[i].Method, want[i].Path)
		case i >= len(want):
			t.Errorf("request %d: unexpected %s %s", i, got[i].Method, got[i].Path)
		case got[i].Method != want[i].Method || got[i].Path != want[i].Path:
			t.Errorf("request %d: %s %s, want %s %s", i, got[i].Method, got[i].Path, want[i].Method, want[i].Path)
		case !reflect.DeepEqual(got[i].Body, want[i].Body):
			g, _ := json.MarshalIndent(got[i].Body, "", " ")
			w, _ := json.MarshalIndent(want[i].Body, "", " ")
			t.Errorf("request %d (%s %s): body\n%.2000s\nwant\n%.2000s", i, got[i].Method, got[i].Path, g, w)
		}
	}
}

func newTestPusher(t *testing.T, url, token string) *Pusher {
	t.Helper()
	p, err := NewPusher(PushConfig{URL: url, Token: token, DatasourceURL: "http://prometheus:9090"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPushCreatesWhatIsMissingAndIsIdempotent(t *testing.T) {
	g, srv := newFakeGrafana(t, "tok")
	ds := testDashboards(t)
	p := newTestPusher(t, srv.URL, "tok")
	ctx := context.Background()

	t.Run("a first push creates the folder, the datasource and every dashboard", func(t *testing.T) {
		res, err := p.Push(ctx, ds)
		if err != nil {
			t.Fatal(err)
		}
		want := []request{
			{Method: "GET", Path: "/api/folders?limit=1000&page=1"},
			{Method: "POST", Path: "/api/folders", Body: map[string]any{"title": "headroom", "uid": "headroom"}},
			{Method: "GET", Path: "/api/datasources/uid/headroom-prometheus"},
			{Method: "POST", Path: "/api/datasources", Body: map[string]any{
				"uid": "headroom-prometheus", "name": "headroom Prometheus", "type": "prometheus",
				"url": "http://prometheus:9090", "access": "proxy", "readOnly": false, "isDefault": false, "basicAuth": false,
				"jsonData": map[string]any{"httpMethod": "POST", "timeInterval": "5s"},
			}},
		}
		for _, d := range ds {
			want = append(want, request{Method: "GET", Path: "/api/dashboards/uid/" + d.UID}, dashboardSave(t, d, "headroom"))
		}
		compareRequests(t, g.take(), want)
		if res.FolderUID != "headroom" || !res.FolderCreated || !res.DatasourceCreated || len(res.Dashboards) != 3 {
			t.Fatalf("result %+v", res)
		}
		for _, d := range res.Dashboards {
			if d.Outcome != PushCreated || d.Version != 1 || d.URL != srv.URL+"/d/"+d.UID+"/s" || d.Title == "" {
				t.Errorf("dashboard %+v", d)
			}
		}
	})

	t.Run("a second push finds everything in place and saves nothing", func(t *testing.T) {
		res, err := p.Push(ctx, ds)
		if err != nil {
			t.Fatal(err)
		}
		want := []request{
			{Method: "GET", Path: "/api/folders?limit=1000&page=1"},
			{Method: "GET", Path: "/api/datasources/uid/headroom-prometheus"},
		}
		for _, d := range ds {
			want = append(want, request{Method: "GET", Path: "/api/dashboards/uid/" + d.UID})
		}
		compareRequests(t, g.take(), want)
		if res.FolderCreated || res.DatasourceCreated {
			t.Errorf("result %+v", res)
		}
		for _, d := range res.Dashboards {
			if d.Outcome != PushUnchanged || d.Version != 1 {
				t.Errorf("dashboard %+v", d)
			}
		}
	})

	t.Run("a changed dashboard is saved again as a new version", func(t *testing.T) {
		changed := append([]Dashboard(nil), ds...)
		changed[1].JSON = []byte(strings.Replace(string(changed[1].JSON), `"headroom / Saturation"`, `"headroom / Saturation!"`, 1))
		res, err := p.Push(ctx, changed)
		if err != nil {
			t.Fatal(err)
		}
		got := g.take()
		if len(got) != 6 || got[4].Method != "POST" || !reflect.DeepEqual(got[4], dashboardSave(t, changed[1], "headroom")) {
			t.Errorf("requests %+v", got)
		}
		outcomes := []string{res.Dashboards[0].Outcome, res.Dashboards[1].Outcome, res.Dashboards[2].Outcome}
		if !reflect.DeepEqual(outcomes, []string{PushUnchanged, PushUpdated, PushUnchanged}) || res.Dashboards[1].Version != 2 {
			t.Errorf("outcomes %v, result %+v", outcomes, res.Dashboards[1])
		}
	})
}

func TestPushReusesWhatExists(t *testing.T) {
	g, srv := newFakeGrafana(t, "tok")
	g.folders = []map[string]any{{"id": 7, "uid": "f-1", "title": "headroom"}}
	g.datasources["headroom-prometheus"] = map[string]any{"id": 3, "uid": "headroom-prometheus", "name": "mine", "type": "prometheus", "url": "http://elsewhere:9090"}
	ds := testDashboards(t)
	g.dashboards[ds[0].UID] = &storedDashboard{model: jsonOf(t, ds[0].JSON).(map[string]any), folderUID: "general", version: 4}

	res, err := newTestPusher(t, srv.URL, "tok").Push(context.Background(), ds[:1])
	if err != nil {
		t.Fatal(err)
	}
	want := []request{
		{Method: "GET", Path: "/api/folders?limit=1000&page=1"},
		{Method: "GET", Path: "/api/datasources/uid/headroom-prometheus"},
		{Method: "GET", Path: "/api/dashboards/uid/" + ds[0].UID},
		dashboardSave(t, ds[0], "f-1"),
	}
	compareRequests(t, g.take(), want)
	if res.FolderUID != "f-1" || res.FolderCreated || res.DatasourceCreated {
		t.Errorf("a folder with the same title and an existing datasource should be reused: %+v", res)
	}
	if d := res.Dashboards[0]; d.Outcome != PushUpdated || d.Version != 5 {
		t.Errorf("a dashboard in another folder should be moved into the folder: %+v", d)
	}
	if url := g.datasources["headroom-prometheus"]["url"]; url != "http://elsewhere:9090" {
		t.Errorf("an existing datasource was changed: url %v", url)
	}
}

func TestPushSurfacesGrafanasErrors(t *testing.T) {
	ds := testDashboards(t)
	cases := []struct {
		name   string
		token  string
		fail   map[string]failure
		status int
		want   []string
	}{
		{
			"a token Grafana refuses names the request and the flag to check", "wrong", nil, 401,
			[]string{"could not list Grafana's folders", "Grafana answered 401 Unauthorized to GET ", "/api/folders?limit=1000&page=1: invalid API key", "check --grafana-token"},
		},
		{
			"a version mismatch on save carries Grafana's status and message", "tok",
			map[string]failure{"POST /api/dashboards/db": {412, `{"message":"The dashboard has been changed by someone else","status":"version-mismatch"}`}}, 412,
			[]string{`could not save dashboard "headroom-load"`, "Grafana answered 412 Precondition Failed to POST ", "/api/dashboards/db: version-mismatch: The dashboard has been changed by someone else"},
		},
		{
			"a server error creating the datasource carries the body", "tok",
			map[string]failure{"POST /api/datasources": {500, `{"message":"Failed to add datasource"}`}}, 500,
			[]string{`could not create datasource "headroom-prometheus"`, "Grafana answered 500 Internal Server Error to POST ", "/api/datasources: Failed to add datasource"},
		},
		{
			// A body that is not Grafana's JSON may be anything (a proxy's
			// page): it is not repeated, only its size.
			"an answer that is not JSON is not repeated", "tok",
			map[string]failure{"POST /api/folders": {502, "Bad Gateway from the proxy"}}, 502,
			[]string{`could not create folder "headroom"`, "502 Bad Gateway to POST ", "/api/folders: a 26-byte answer that is not Grafana's JSON (not shown)"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, srv := newFakeGrafana(t, "tok")
			g.fail = c.fail
			_, err := newTestPusher(t, srv.URL, c.token).Push(context.Background(), ds)
			if err == nil {
				t.Fatal("the push succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "from the proxy") {
				t.Errorf("error %q repeats a body that is not Grafana's JSON", err)
			}
			if !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("error %q does not name Grafana's URL", err)
			}
			var ge *GrafanaError
			if !errors.As(err, &ge) || ge.StatusCode != c.status {
				t.Errorf("errors.As GrafanaError = %+v, want status %d", ge, c.status)
			}
		})
	}
}

func TestPushRefusesADatasourceOfAnotherType(t *testing.T) {
	g, srv := newFakeGrafana(t, "tok")
	g.datasources["headroom-prometheus"] = map[string]any{"uid": "headroom-prometheus", "name": "logs", "type": "loki"}
	_, err := newTestPusher(t, srv.URL, "tok").Push(context.Background(), testDashboards(t))
	if err == nil || !strings.Contains(err.Error(), `datasource "headroom-prometheus" in Grafana is of type "loki"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestPushToAGrafanaUnderASubPathWithBasicAuth(t *testing.T) {
	g, srv := newFakeGrafana(t, "")
	g.prefix = "/grafana"
	g.auth = "Basic YWRtaW46c2VjcmV0" // admin:secret
	p, err := NewPusher(PushConfig{URL: srv.URL + "/grafana/", User: "admin", Password: "secret", Folder: "Capacity Reviews"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Push(context.Background(), testDashboards(t)[:1])
	if err != nil {
		t.Fatal(err)
	}
	got := g.take()
	if len(got) != 6 || got[1].Path != "/api/folders" || !reflect.DeepEqual(got[1].Body, map[string]any{"title": "Capacity Reviews", "uid": "capacity-reviews"}) {
		t.Errorf("requests %+v", got[:2])
	}
	if body := got[3].Body.(map[string]any); body["url"] != DefaultDatasourceURL {
		t.Errorf("datasource body %v", body)
	}
	if u := res.Dashboards[0].URL; u != srv.URL+"/grafana/d/headroom-load/s" {
		t.Errorf("url %q", u)
	}
}

func TestPushStopsWhenGrafanaCannotBeReached(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := newTestPusher(t, url, "tok").Push(context.Background(), testDashboards(t))
	if err == nil || !strings.Contains(err.Error(), "could not reach Grafana (GET "+url+"/api/folders?limit=1000&page=1)") {
		t.Fatalf("err = %v", err)
	}
}

func TestPushStopsWhenItsContextIsCancelled(t *testing.T) {
	g, srv := newFakeGrafana(t, "tok")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newTestPusher(t, srv.URL, "tok").Push(ctx, testDashboards(t))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if n := len(g.take()); n != 0 {
		t.Errorf("%d requests reached Grafana after the context was cancelled", n)
	}
}

func TestPushConfigIsChecked(t *testing.T) {
	cases := []struct{ name, url, want string }{
		{"a push without a URL is refused", "", "no Grafana URL"},
		{"a URL that is not http is refused", "grafana:3000", "expected http(s)://HOST"},
		{"credentials in the URL are refused", "http://admin:admin@grafana:3000", "not in the URL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewPusher(PushConfig{URL: c.url})
			if !errors.Is(err, ErrBadPushConfig) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want ErrBadPushConfig containing %q", err, c.want)
			}
		})
	}
}

// TestPushToARealGrafana is the opt-in counterpart of the fake: with
// HEADROOM_TEST_GRAFANA_URL (and HEADROOM_TEST_GRAFANA_TOKEN) pointing at a
// Grafana, it pushes twice and expects the second push to change nothing.
// The test environment does not run Grafana, so it is skipped without them.
func TestPushToARealGrafana(t *testing.T) {
	url := testenv.Get("HEADROOM_TEST_GRAFANA_URL")
	if url == "" {
		t.Skip("HEADROOM_TEST_GRAFANA_URL is not set: no Grafana to push to")
	}
	p, err := NewPusher(PushConfig{URL: url, Token: testenv.Get("HEADROOM_TEST_GRAFANA_TOKEN"), Folder: "headroom-test"})
	if err != nil {
		t.Fatal(err)
	}
	ds := testDashboards(t)
	if _, err := p.Push(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	res, err := p.Push(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range res.Dashboards {
		if d.Outcome != PushUnchanged {
			t.Errorf("second push: %+v, want unchanged", d)
		}
	}
}

// TestPushFollowsNoRedirectToAnotherHost: a Grafana URL that redirects to
// another host (here 127.0.0.1 against localhost) sends the token nowhere
// else: the push fails, the other host gets no request, and the error does
// not repeat the redirect's body.
func TestPushFollowsNoRedirectToAnotherHost(t *testing.T) {
	var hits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`[]`))
	}))
	t.Cleanup(other.Close)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	url := "http://localhost:" + redirector.URL[strings.LastIndex(redirector.URL, ":")+1:]
	_, err := newTestPusher(t, url, "tok").Push(context.Background(), testDashboards(t))
	if err == nil || strings.Contains(err.Error(), "href") {
		t.Errorf("push through a redirect to another host: %v, want it refused without the answer's body", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the other host got %d requests", hits.Load())
	}
}
