package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
)

// oneGauge is a metric family to write.
func oneGauge() []*dto.MetricFamily {
	return []*dto.MetricFamily{{
		Name: proto.String("headroom_vus"), Type: dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(3)}}},
	}}
}

// TestARunsRemoteWriteCarriesThePrometheusOptions: the runner writes into
// the Prometheus the run records into with that Prometheus's headers,
// credentials and TLS (both front ends pass their options here), the
// remote write's own headers win by name, and its own token replaces the
// Prometheus credentials.
func TestARunsRemoteWriteCarriesThePrometheusOptions(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prom := PrometheusOptions{URL: srv.URL + "/prefix", BearerTokenFile: tokenFile, Headers: map[string]string{"X-Scope-OrgID": "t1", "X-Team": "a"}}
	for _, tc := range []struct {
		name                   string
		own                    loadgen.RemoteWriteConfig
		path, tenant, team, az string
	}{
		{"the Prometheus's own settings", loadgen.RemoteWriteConfig{}, "/prefix/api/v1/write", "t1", "a", "Bearer file-token"},
		{"a write URL of its own keeps them", loadgen.RemoteWriteConfig{URL: srv.URL + "/push"}, "/push", "t1", "a", "Bearer file-token"},
		{"a header of its own wins by name", loadgen.RemoteWriteConfig{Headers: map[string]string{"x-team": "b"}}, "/prefix/api/v1/write", "t1", "b", "Bearer file-token"},
		{"a token of its own replaces the credentials", loadgen.RemoteWriteConfig{BearerToken: "own"}, "/prefix/api/v1/write", "t1", "a", "Bearer own"},
		// The same test server reached by another host name is another
		// server: the Prometheus's tenant and token stay with it.
		{"a write URL on another server gets none of them", loadgen.RemoteWriteConfig{URL: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/push"}, "/push", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got, paths = nil, nil
			mu.Unlock()
			rm, err := StartRunMetrics(context.Background(), MetricsOptions{Prometheus: prom, RemoteWrite: tc.own})
			if err != nil {
				t.Fatal(err)
			}
			if len(rm.Sinks) != 1 {
				t.Fatalf("%d sinks, want the remote writer", len(rm.Sinks))
			}
			if err := rm.Sinks[0].Write(context.Background(), time.Now(), oneGauge()); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("%d writes, want 1", len(got))
			}
			h := got[0]
			if paths[0] != tc.path || h.Get("X-Scope-OrgID") != tc.tenant || h.Get("X-Team") != tc.team || h.Get("Authorization") != tc.az {
				t.Errorf("write to %s with X-Scope-OrgID %q, X-Team %q, Authorization %q; want %s, %q, %q, %q",
					paths[0], h.Get("X-Scope-OrgID"), h.Get("X-Team"), h.Get("Authorization"), tc.path, tc.tenant, tc.team, tc.az)
			}
		})
	}
}

// TestAttachSetsTheFlushIntervalOnce: with an embedded store the runner
// flushes at the store's finer interval unless the caller chose one, which
// the store then records as its sampling interval; without a store the
// runner's interval stands.
func TestAttachSetsTheFlushIntervalOnce(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name          string
		store         bool
		explicit      bool
		wantRunner    time.Duration
		wantRecordsMs float64
	}{
		{"a store, no choice: the store's interval", true, false, StoreFlushInterval, 1000},
		{"a store, an explicit interval: the caller's", true, true, 5 * time.Second, 5000},
		{"no store: the runner's", false, false, 5 * time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := MetricsOptions{}
			if tc.store {
				o.StoreDir = filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			}
			rm, err := StartRunMetrics(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			cfg := loadgen.Config{FlushInterval: 5 * time.Second}
			rm.Attach(&cfg, tc.explicit)
			run := &model.Run{}
			if err := rm.Finish(run); err != nil {
				t.Fatal(err)
			}
			if cfg.FlushInterval != tc.wantRunner || len(cfg.Sinks) != len(rm.Sinks) {
				t.Errorf("runner flushes every %s with %d sinks; want %s and the run's %d", cfg.FlushInterval, len(cfg.Sinks), tc.wantRunner, len(rm.Sinks))
			}
			var got float64
			if run.Metrics != nil {
				got = run.Metrics.SampleIntervalMs
			}
			if got != tc.wantRecordsMs {
				t.Errorf("run.json records a sample interval of %v ms; want %v", got, tc.wantRecordsMs)
			}
		})
	}
}

// TestCredentialsInThePrometheusURLAreNotRecorded: a user and password
// written in --prometheus are sent as basic auth with the remote write,
// and run.json records the URL without them.
func TestCredentialsInThePrometheusURLAreNotRecorded(t *testing.T) {
	var mu sync.Mutex
	var user, pass string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		user, pass, _ = r.BasicAuth()
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	withCreds := strings.Replace(srv.URL, "http://", "http://ops:s3cret@", 1)
	rm, err := StartRunMetrics(context.Background(), MetricsOptions{Prometheus: PrometheusOptions{URL: withCreds}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rm.Sinks[0].Write(context.Background(), time.Now(), oneGauge()); err != nil {
		t.Fatal(err)
	}
	run := &model.Run{}
	if err := rm.Finish(run); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if user != "ops" || pass != "s3cret" {
		t.Errorf("the remote write came as %q:%q; want the URL's ops:s3cret as basic auth", user, pass)
	}
	if got := run.Metrics.Prometheus; strings.Contains(got, "s3cret") || strings.Contains(got, "ops@") || got != srv.URL {
		t.Errorf("run.json records %q; want %q, without the credentials", got, srv.URL)
	}
	if _, err := StartRunMetrics(context.Background(), MetricsOptions{Prometheus: PrometheusOptions{URL: withCreds, Username: "other"}}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a user in the URL and a username: err %v; want an error that does not print the password", err)
	}
}
