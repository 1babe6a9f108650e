package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	gapi "github.com/grafana/grafana-api-golang-client"

	"github.com/headroom-sh/headroom/internal/outbound"
)

// DefaultDatasourceURL is where the datasource created by a push points:
// the Prometheus of deploy/ as Grafana's container reaches it.
const DefaultDatasourceURL = "http://prometheus:9090"

// DefaultPushTimeout bounds each request to Grafana.
const DefaultPushTimeout = 30 * time.Second

// pushMessage is the version message of every dashboard a push saves.
const pushMessage = "headroom dashboards push"

// Outcomes of a dashboard push.
const (
	PushCreated   = "created"
	PushUpdated   = "updated"
	PushUnchanged = "unchanged"
)

// ErrBadPushConfig is wrapped by every error about a PushConfig.
var ErrBadPushConfig = errors.New("invalid Grafana push configuration")

// GrafanaError is an answer of Grafana's HTTP API that is not a success.
type GrafanaError struct {
	Method string
	// URL is the request's URL, without credentials.
	URL        string
	StatusCode int
	// Status is Grafana's status word when it sends one, e.g.
	// "version-mismatch" or "name-exists".
	Status string
	// Message is Grafana's message; a body that is not Grafana's JSON is
	// described by its size, not repeated.
	Message string
}

func (e *GrafanaError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Grafana answered %d %s to %s %s", e.StatusCode, http.StatusText(e.StatusCode), e.Method, e.URL)
	msg := e.Message
	if e.Status != "" && !strings.Contains(msg, e.Status) {
		msg = e.Status + ": " + msg
	}
	if msg != "" {
		b.WriteString(": " + msg)
	}
	switch e.StatusCode {
	case http.StatusUnauthorized:
		b.WriteString(" (check --grafana-token or $GRAFANA_TOKEN)")
	case http.StatusForbidden:
		b.WriteString(" (the token's role may not write dashboards, folders or datasources: it needs Editor, or Admin for datasources)")
	}
	return b.String()
}

// PushConfig says where to push and what to create.
type PushConfig struct {
	// URL is Grafana's base URL, with any sub-path, e.g.
	// http://127.0.0.1:3000; required.
	URL string
	// Token is a service account token (or API key), sent as a bearer
	// token. Without one, User and Password are used, if set.
	Token string
	// User and Password are basic auth credentials.
	User, Password string
	// Folder is the title of the folder the dashboards go in (default
	// "headroom"); FolderUID the uid it is created with (default: "headroom"
	// for the default title, else the title in lower case with dashes).
	Folder, FolderUID string
	// DatasourceUID and DatasourceName identify the Prometheus datasource
	// the dashboards use (default: the provisioned headroom-prometheus);
	// DatasourceURL is where it points when the push creates it (default
	// http://prometheus:9090). An existing datasource is left as it is.
	DatasourceUID, DatasourceName, DatasourceURL string
	// Client makes the requests (default: one with DefaultPushTimeout).
	Client *http.Client
	// Logger receives a line per action; nil discards them.
	Logger *slog.Logger
}

func (c *PushConfig) defaults() error {
	if strings.TrimSpace(c.URL) == "" {
		return fmt.Errorf("%w: no Grafana URL: expected one such as http://127.0.0.1:3000", ErrBadPushConfig)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: Grafana URL %q: expected http(s)://HOST[:PORT][/PATH]", ErrBadPushConfig, c.URL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: Grafana URL %q: pass credentials with a token or user and password, not in the URL", ErrBadPushConfig, u.Redacted())
	}
	if c.Folder == "" {
		c.Folder = FolderTitle
	}
	if c.FolderUID == "" {
		c.FolderUID = slug(c.Folder)
	}
	if len(c.FolderUID) > 40 {
		return fmt.Errorf("%w: folder uid %q is longer than Grafana's 40 characters", ErrBadPushConfig, c.FolderUID)
	}
	if c.DatasourceUID == "" {
		c.DatasourceUID = DatasourceUID
	}
	if c.DatasourceName == "" {
		c.DatasourceName = DatasourceName
		if c.DatasourceUID != DatasourceUID {
			c.DatasourceName = c.DatasourceUID
		}
	}
	if c.DatasourceURL == "" {
		c.DatasourceURL = DefaultDatasourceURL
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: DefaultPushTimeout}
	}
	// Requests carry Grafana credentials: a redirect to another host is
	// refused.
	c.Client = outbound.Client(c.Client)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes a uid from a title: lower case, runs of other characters
// turned into single dashes.
func slug(title string) string {
	s := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(title), "-"), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" {
		s = FolderUID
	}
	return s
}

// Pusher creates the folder and the datasource when they are missing and
// upserts dashboards through Grafana's HTTP API.
type Pusher struct {
	cfg PushConfig
}

// NewPusher checks the configuration.
func NewPusher(cfg PushConfig) (*Pusher, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	return &Pusher{cfg: cfg}, nil
}

// PushResult says what a push did.
type PushResult struct {
	// FolderUID is the uid of the folder the dashboards are in.
	FolderUID         string
	FolderCreated     bool
	DatasourceCreated bool
	Dashboards        []PushedDashboard
}

// PushedDashboard is the outcome for one dashboard.
type PushedDashboard struct {
	UID, Title string
	// Outcome is PushCreated, PushUpdated or PushUnchanged.
	Outcome string
	// Version is the dashboard's version in Grafana after the push.
	Version int64
	// URL is where Grafana shows it.
	URL string
}

// Push makes sure the folder and the datasource exist, then saves each
// dashboard in the folder with overwrite, unless Grafana already holds the
// same model in the same folder. Pushing twice changes nothing the second
// time. The first error stops the push; what was done before it is in the
// result.
func (p *Pusher) Push(ctx context.Context, dashboards []Dashboard) (*PushResult, error) {
	rec := &recorder{ctx: ctx, base: p.cfg.Client.Transport}
	if rec.base == nil {
		rec.base = http.DefaultTransport
	}
	hc := *p.cfg.Client
	hc.Transport = rec
	gcfg := gapi.Config{Client: &hc, APIKey: p.cfg.Token}
	if p.cfg.Token == "" && p.cfg.User != "" {
		gcfg.BasicAuth = url.UserPassword(p.cfg.User, p.cfg.Password)
	}
	c, err := gapi.New(p.cfg.URL, gcfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPushConfig, err)
	}
	log := p.cfg.Logger
	res := &PushResult{}

	folders, err := c.Folders()
	if err != nil {
		return res, rec.wrap("could not list Grafana's folders", err)
	}
	for _, f := range folders {
		if f.UID == p.cfg.FolderUID || f.Title == p.cfg.Folder {
			res.FolderUID = f.UID
			break
		}
	}
	if res.FolderUID == "" {
		f, err := c.NewFolder(p.cfg.Folder, p.cfg.FolderUID)
		if err != nil {
			return res, rec.wrap(fmt.Sprintf("could not create folder %q", p.cfg.Folder), err)
		}
		res.FolderUID, res.FolderCreated = f.UID, true
		log.Info("created folder", "title", p.cfg.Folder, "uid", f.UID)
	} else {
		log.Debug("folder exists", "title", p.cfg.Folder, "uid", res.FolderUID)
	}

	ds, err := c.DataSourceByUID(p.cfg.DatasourceUID)
	var notFound gapi.ErrNotFound
	switch {
	case errors.As(err, &notFound):
		_, err := c.NewDataSource(&gapi.DataSource{
			UID:    p.cfg.DatasourceUID,
			Name:   p.cfg.DatasourceName,
			Type:   DatasourceType,
			URL:    p.cfg.DatasourceURL,
			Access: "proxy",
			JSONData: map[string]any{
				// POST carries long queries; 5s is the scrape interval of
				// deploy/prometheus, the floor of $__rate_interval.
				"httpMethod":   "POST",
				"timeInterval": "5s",
			},
		})
		if err != nil {
			return res, rec.wrap(fmt.Sprintf("could not create datasource %q", p.cfg.DatasourceUID), err)
		}
		res.DatasourceCreated = true
		log.Info("created datasource", "uid", p.cfg.DatasourceUID, "url", p.cfg.DatasourceURL)
	case err != nil:
		return res, rec.wrap(fmt.Sprintf("could not look up datasource %q", p.cfg.DatasourceUID), err)
	case ds.Type != DatasourceType:
		return res, fmt.Errorf("datasource %q in Grafana is of type %q; the dashboards need a %s datasource (choose another with --datasource-uid)",
			p.cfg.DatasourceUID, ds.Type, DatasourceType)
	default:
		if ds.URL != p.cfg.DatasourceURL {
			log.Debug("datasource exists; left as it is", "uid", ds.UID, "url", ds.URL)
		}
	}

	for _, d := range dashboards {
		pd, err := p.pushDashboard(c, rec, res.FolderUID, d)
		if err != nil {
			return res, err
		}
		log.Info("dashboard "+pd.Outcome, "uid", pd.UID, "version", pd.Version, "url", pd.URL)
		res.Dashboards = append(res.Dashboards, pd)
	}
	return res, nil
}

// pushDashboard saves one dashboard unless Grafana holds it unchanged.
func (p *Pusher) pushDashboard(c *gapi.Client, rec *recorder, folderUID string, d Dashboard) (PushedDashboard, error) {
	out := PushedDashboard{UID: d.UID, Title: d.Title}
	var m map[string]any
	if err := json.Unmarshal(d.JSON, &m); err != nil {
		return out, fmt.Errorf("could not read dashboard %q: %w", d.UID, err)
	}
	if uid, _ := m["uid"].(string); uid == "" || uid != d.UID {
		return out, fmt.Errorf("dashboard %q: its JSON has uid %q; expected the same uid", d.UID, m["uid"])
	}
	delete(m, "id")
	delete(m, "version")

	have, err := c.DashboardByUID(d.UID)
	var notFound gapi.ErrNotFound
	switch {
	case errors.As(err, &notFound):
		out.Outcome = PushCreated
	case err != nil:
		return out, rec.wrap(fmt.Sprintf("could not look up dashboard %q", d.UID), err)
	default:
		out.Outcome = PushUpdated
		if have.Meta.FolderUID == folderUID && sameModel(have.Model, m) {
			out.Outcome = PushUnchanged
			out.Version = number(have.Model["version"])
			out.URL = p.absolute(have.Meta.URL)
			return out, nil
		}
	}
	saved, err := c.NewDashboard(gapi.Dashboard{Model: m, FolderUID: folderUID, Overwrite: true, Message: pushMessage})
	if err != nil {
		return out, rec.wrap(fmt.Sprintf("could not save dashboard %q", d.UID), err)
	}
	out.Version = saved.Version
	out.URL = p.absolute(urlOf(saved))
	return out, nil
}

// urlOf is the dashboard's path that Grafana answered a save with.
func urlOf(r *gapi.DashboardSaveResponse) string {
	if r.Slug != "" && r.UID != "" {
		return "/d/" + r.UID + "/" + r.Slug
	}
	return ""
}

// absolute makes a path that Grafana answered absolute against its URL.
func (p *Pusher) absolute(path string) string {
	if path == "" || strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	u, err := url.Parse(p.cfg.URL)
	if err != nil {
		return path
	}
	base := strings.TrimRight(u.Path, "/")
	if base != "" && strings.HasPrefix(path, base+"/") {
		base = ""
	}
	u.Path, u.RawQuery = base+path, ""
	return u.String()
}

// sameModel compares dashboard models as Grafana stores them, without the
// id and version it assigns.
func sameModel(have, want map[string]any) bool {
	h := make(map[string]any, len(have))
	for k, v := range have {
		if k != "id" && k != "version" {
			h[k] = v
		}
	}
	// Round-trip want through JSON so that numbers compare as float64.
	b, err := json.Marshal(want)
	if err != nil {
		return false
	}
	var w map[string]any
	if err := json.Unmarshal(b, &w); err != nil {
		return false
	}
	return reflect.DeepEqual(h, w)
}

func number(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// recorder is the push's HTTP transport: it gives every request the push's
// context and keeps the last unsuccessful answer, so that errors name the
// request and carry Grafana's message (the API client reports only the
// status and body).
type recorder struct {
	ctx  context.Context
	base http.RoundTripper
	// method and url are those of the last request.
	method, url string
	// failed is the last answer that was not a success, or nil.
	failed *GrafanaError
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.WithContext(r.ctx)
	r.method, r.url, r.failed = req.Method, req.URL.Redacted(), nil
	resp, err := r.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 300 {
		return resp, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	// Only Grafana's own JSON message is kept: any other body (a proxy's
	// page, whatever answered) is not repeated in errors.
	ge := &GrafanaError{Method: req.Method, URL: r.url, StatusCode: resp.StatusCode}
	if n := len(bytes.TrimSpace(body)); n > 0 {
		ge.Message = fmt.Sprintf("a %d-byte answer that is not Grafana's JSON (not shown)", n)
	}
	var answer struct {
		Message string `json:"message"`
		Status  string `json:"status"`
	}
	if json.Unmarshal(body, &answer) == nil && answer.Message != "" {
		ge.Message, ge.Status = answer.Message, answer.Status
	}
	r.failed = ge
	return resp, nil
}

// wrap explains an error of the API client: Grafana's answer when there was
// one, else the transport error with the request that failed.
func (r *recorder) wrap(what string, err error) error {
	if r.failed != nil {
		return fmt.Errorf("%s: %w", what, r.failed)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: could not reach Grafana (%s %s): %w", what, r.method, r.url, ue.Err)
	}
	return fmt.Errorf("%s (%s %s): %w", what, r.method, r.url, err)
}
