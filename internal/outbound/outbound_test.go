package outbound

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSameHost: a redirect on the same host is followed; one to another
// host (here 127.0.0.1 against localhost, the same machine) is refused
// before any request reaches it, and the error names both hosts only.
func TestSameHost(t *testing.T) {
	var other atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.Add(1)
		w.Write([]byte("elsewhere"))
	}))
	defer elsewhere.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/here", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("here")) })
	mux.HandleFunc("/local", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/here", http.StatusFound) })
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/secret?token=abc", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	hs := httptest.NewServer(mux)
	defer hs.Close()
	base := "http://localhost:" + hs.URL[strings.LastIndex(hs.URL, ":")+1:]

	c := Client(nil)
	resp, err := c.Get(base + "/local")
	if err != nil {
		t.Fatalf("a redirect on the same host: %v", err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/here" {
		t.Errorf("a redirect on the same host ended at %s", resp.Request.URL)
	}
	_, err = c.Get(base + "/away")
	if !errors.Is(err, ErrRedirect) {
		t.Fatalf("a redirect to another host: %v, want ErrRedirect", err)
	}
	// net/http wraps the error in a *url.Error naming the redirect's URL;
	// the policy's own message names hosts only.
	var ue *url.Error
	if !errors.As(err, &ue) || strings.Contains(ue.Err.Error(), "token=abc") || strings.Contains(ue.Err.Error(), "/secret") {
		t.Errorf("the policy's error repeats the redirect's path or query: %v", err)
	}
	if other.Load() != 0 {
		t.Errorf("the other host got %d requests", other.Load())
	}
	if _, err := c.Get(base + "/loop"); !errors.Is(err, ErrRedirect) {
		t.Errorf("a redirect loop: %v, want ErrRedirect", err)
	}

	own := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if got := Client(own); got == own || got.CheckRedirect == nil {
		t.Error("Client must copy the client and keep its own policy")
	}
}
