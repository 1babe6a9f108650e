package deploy

import (
	"bytes"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/scenario"
)

// compose is the part of the Compose file format docker-compose.yml uses;
// decoding refuses any other field.
type compose struct {
	Name     string                     `yaml:"name"`
	Services map[string]composeService  `yaml:"services"`
	Volumes  map[string]*composeVolume  `yaml:"volumes"`
	Networks map[string]*map[string]any `yaml:"networks"`
}

type composeVolume struct {
	Driver string `yaml:"driver"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Restart  string   `yaml:"restart"`
	Profiles []string `yaml:"profiles"`
	PID      string   `yaml:"pid"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
	Target     string `yaml:"target"`
}

// imageTools lists, per image repository, the programs a healthcheck may
// run in it: the busybox-based Prometheus images and Alpine-based Grafana
// and redis_exporter (-alpine) have wget, the database images their own
// clients, and headroom's images (Debian slim, see the Dockerfile) curl.
var imageTools = map[string][]string{
	"prom/prometheus":                       {"wget"},
	"prom/node-exporter":                    {"wget"},
	"prometheuscommunity/postgres-exporter": {"wget"},
	"oliver006/redis_exporter":              {"wget"},
	"grafana/grafana-oss":                   {"wget"},
	"postgres":                              {"pg_isready", "psql"},
	"redis":                                 {"redis-cli"},
	"headroom":                              {"curl"},
	"headroom-checkout":                     {"curl"},
}

// defaultPorts are the ports images listen on without flags.
var defaultPorts = map[string]string{
	"prom/prometheus":                       "9090",
	"prom/node-exporter":                    "9100",
	"prometheuscommunity/postgres-exporter": "9187",
	"oliver006/redis_exporter":              "9121",
	"grafana/grafana-oss":                   "3000",
	"postgres":                              "5432",
	"redis":                                 "6379",
}

// hostPathMounts are the absolute host paths a service may mount.
var hostPathMounts = map[string][]string{"node-exporter": {"/"}}

func readCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// Compose substitutes ${VAR:-default} before reading the file; the
	// tests see the defaults.
	b = regexp.MustCompile(`\$\{(\w+)(:-([^}]*))?\}`).ReplaceAll(b, []byte("$3"))
	var c compose
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// flagValue returns the value of --name=value or --name value in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// listenPort is the port a service listens on: its --listen flag, else its
// image's default.
func listenPort(s composeService) string {
	if v, ok := flagValue(s.Command, "--listen"); ok {
		if i := strings.LastIndex(v, ":"); i >= 0 {
			return v[i+1:]
		}
	}
	repo, _ := splitImage(s.Image)
	return defaultPorts[repo]
}

func TestComposeServices(t *testing.T) {
	c := readCompose(t)
	for _, name := range []string{"prometheus", "grafana", "postgres", "redis", "postgres-exporter", "redis-exporter", "node-exporter", "checkout", "headroom"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("docker-compose.yml has no %s service", name)
		}
	}
	stages := dockerStages(t, readDockerfile(t))
	hostPorts := map[string]string{}
	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither an image nor a build", name)
		}
		repo, tag := splitImage(s.Image)
		if tag == "" || tag == "latest" {
			t.Errorf("service %s: image %q is not pinned to a tag", name, s.Image)
		}
		if s.Build != nil {
			if s.Build.Context != "." || (s.Build.Dockerfile != "" && s.Build.Dockerfile != "Dockerfile") {
				t.Errorf("service %s builds %+v; want the repository's Dockerfile", name, s.Build)
			}
			if !slices.Contains(stageNames(stages), s.Build.Target) {
				t.Errorf("service %s builds target %q, which the Dockerfile lacks (stages %v)", name, s.Build.Target, stageNames(stages))
			}
		}
		for _, p := range s.Ports {
			m := regexp.MustCompile(`^127\.0\.0\.1:(\d+):(\d+)$`).FindStringSubmatch(p)
			if m == nil {
				t.Errorf("service %s publishes %q; publish on 127.0.0.1 only, as 127.0.0.1:HOST:CONTAINER", name, p)
				continue
			}
			if other, dup := hostPorts[m[1]]; dup {
				t.Errorf("services %s and %s both publish host port %s", name, other, m[1])
			}
			hostPorts[m[1]] = name
			if lp := listenPort(s); lp != "" && m[2] != lp {
				t.Errorf("service %s publishes container port %s but listens on %s", name, m[2], lp)
			}
		}
		// One-shot services (in a profile) need no healthcheck.
		if len(s.Profiles) == 0 {
			hc := s.Healthcheck
			if hc == nil {
				t.Errorf("service %s has no healthcheck", name)
			} else {
				if len(hc.Test) < 2 || hc.Test[0] != "CMD" {
					t.Errorf("service %s: healthcheck test %q, want [CMD, program, ...]", name, hc.Test)
				} else if tools, ok := imageTools[repo]; !ok || !slices.Contains(tools, hc.Test[1]) {
					t.Errorf("service %s: healthcheck runs %q, which image %s does not have (it has %v)", name, hc.Test[1], s.Image, tools)
				}
				for _, d := range []string{hc.Interval, hc.Timeout} {
					if _, err := time.ParseDuration(d); err != nil {
						t.Errorf("service %s: healthcheck duration %q: %v", name, d, err)
					}
				}
			}
		}
		for dep, cond := range s.DependsOn {
			target, ok := c.Services[dep]
			if !ok {
				t.Errorf("service %s depends on %s, which does not exist", name, dep)
				continue
			}
			if cond.Condition == "service_healthy" && target.Healthcheck == nil {
				t.Errorf("service %s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
		for _, v := range s.Volumes {
			src, _, ok := strings.Cut(v, ":")
			if !ok {
				t.Errorf("service %s: volume %q, want SOURCE:TARGET", name, v)
				continue
			}
			switch {
			case strings.HasPrefix(src, "./"):
				if _, err := os.Stat(repoPath(t, filepath.FromSlash(src))); err != nil {
					t.Errorf("service %s mounts %s, which is not in the repository: %v", name, src, err)
				}
			case strings.HasPrefix(src, "/"):
				if !slices.Contains(hostPathMounts[name], src) {
					t.Errorf("service %s mounts the host path %s", name, src)
				}
			default:
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("service %s mounts volume %s, which the file does not declare", name, src)
				}
			}
		}
	}
}

// mountedFile maps a path inside a service's container to the repository
// file that a ./ bind mount puts there.
func mountedFile(t *testing.T, s composeService, inside string) string {
	t.Helper()
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[0], "./") {
			continue
		}
		if rel, ok := strings.CutPrefix(inside, strings.TrimSuffix(parts[1], "/")+"/"); ok {
			return repoPath(t, filepath.FromSlash(path.Join(parts[0], rel)))
		}
	}
	t.Fatalf("%s is not in a mounted repository directory (volumes %q)", inside, s.Volumes)
	return ""
}

func TestComposePrometheusIsTheOneTestedHere(t *testing.T) {
	c := readCompose(t)
	prom := c.Services["prometheus"]
	promtool := testenv.Require(t, testenv.Promtool)

	out, err := exec.Command(promtool, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool --version: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`version (\d+\.\d+\.\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("promtool --version printed no version:\n%s", out)
	}
	if _, tag := splitImage(prom.Image); tag != "v"+string(m[1]) {
		t.Errorf("compose runs %s, but the tests run Prometheus %s: pin prom/prometheus:v%s", prom.Image, m[1], m[1])
	}

	cfgInside, ok := flagValue(prom.Command, "--config.file")
	if !ok {
		t.Fatal("the prometheus service has no --config.file")
	}
	cfg := mountedFile(t, prom, cfgInside)
	if want := repoPath(t, "deploy", "prometheus", "prometheus.yml"); cfg != want {
		t.Errorf("compose's Prometheus reads %s, want %s", cfg, want)
	}
	if out, err := exec.Command(promtool, "check", "config", cfg).CombinedOutput(); err != nil {
		t.Errorf("promtool check config %s: %v\n%s", cfg, err, out)
	}

	// The features the tests' Prometheus runs with (scripts/testenv.sh):
	// remote write and native histograms.
	script, err := os.ReadFile(repoPath(t, "scripts", "testenv.sh"))
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile(`(?s)\n\tprometheus\)\n(.*?);;`).FindSubmatch(script)
	if block == nil {
		t.Fatal("scripts/testenv.sh has no prometheus) case in build_args")
	}
	flags := regexp.MustCompile(`--web\.enable-remote-write-receiver|--enable-feature=[a-z0-9,-]+`).FindAll(block[1], -1)
	if len(flags) < 2 {
		t.Fatalf("found only %q among the test Prometheus's flags", flags)
	}
	for _, f := range flags {
		if !slices.Contains(prom.Command, string(f)) {
			t.Errorf("the tests' Prometheus runs with %s; compose's does not", f)
		}
	}
}

func TestComposeWiresTheServicesTogether(t *testing.T) {
	c := readCompose(t)
	// Prometheus scrapes services by their compose names and ports.
	var pcfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	b, err := os.ReadFile(repoPath(t, "deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &pcfg); err != nil {
		t.Fatal(err)
	}
	for _, sc := range pcfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, _ := strings.Cut(target, ":")
				if host == "localhost" {
					continue
				}
				s, ok := c.Services[host]
				if !ok {
					t.Errorf("prometheus.yml job %s scrapes %s, which is not a compose service", sc.JobName, target)
					continue
				}
				if lp := listenPort(s); lp != port {
					t.Errorf("prometheus.yml job %s scrapes %s, but %s listens on %q", sc.JobName, target, host, lp)
				}
			}
		}
	}

	// Grafana: provisioning and dashboards where the provider looks.
	g := c.Services["grafana"]
	var ds struct {
		Datasources []struct {
			URL string `yaml:"url"`
		} `yaml:"datasources"`
	}
	b, err = os.ReadFile(mountedFile(t, g, "/etc/grafana/provisioning/datasources/prometheus.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &ds); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds.Datasources {
		u, err := url.Parse(d.URL)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := c.Services[u.Hostname()]; !ok || listenPort(s) != u.Port() {
			t.Errorf("the Grafana datasource points at %s, which is no compose service's port", d.URL)
		}
	}
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	b, err = os.ReadFile(mountedFile(t, g, "/etc/grafana/provisioning/dashboards/headroom.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &prov); err != nil {
		t.Fatal(err)
	}
	for _, p := range prov.Providers {
		dir := mountedFile(t, g, p.Options.Path+"/x")
		dashboards, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "*.json"))
		if len(dashboards) == 0 {
			t.Errorf("the dashboard provider reads %s, where compose mounts no *.json", p.Options.Path)
		}
	}

	// The checkout demo reaches PostgreSQL and Redis by service name.
	co := c.Services["checkout"]
	dbURL, _ := flagValue(co.Command, "--database-url")
	if u, err := url.Parse(dbURL); err != nil || u.Hostname() != "postgres" || u.Port() != listenPort(c.Services["postgres"]) {
		t.Errorf("checkout --database-url %q, want the postgres service", dbURL)
	}
	if ra, _ := flagValue(co.Command, "--redis-addr"); ra != "redis:"+listenPort(c.Services["redis"]) {
		t.Errorf("checkout --redis-addr %q, want the redis service", ra)
	}

	// The load service runs a scenario the image ships, at checkout,
	// writing to Prometheus.
	load := c.Services["load"]
	if len(load.Command) < 2 || load.Command[0] != "run" {
		t.Fatalf("load runs %q, want run SCENARIO ...", load.Command)
	}
	rel, ok := strings.CutPrefix(load.Command[1], "/usr/share/headroom/scenarios/")
	if !ok {
		t.Fatalf("load runs %s, which is not among the scenarios the image ships", load.Command[1])
	}
	sb, err := os.ReadFile(repoPath(t, "examples", "scenarios", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scenario.Parse(sb, rel); err != nil {
		t.Errorf("the load service's scenario: %v", err)
	}
	for flag, svc := range map[string]string{"--target": "checkout", "--prometheus": "prometheus"} {
		v, _ := flagValue(load.Command, flag)
		u, err := url.Parse(v)
		if err != nil || u.Hostname() != svc || u.Port() != listenPort(c.Services[svc]) {
			t.Errorf("load %s=%s, want the %s service", flag, v, svc)
		}
	}
	if _, ok := c.Services["headroom"].DependsOn["prometheus"]; !ok {
		t.Error("headroom serve should wait for Prometheus")
	}
}

// ---- Dockerfile ----

// instruction is one Dockerfile instruction with its line continuations
// joined.
type instruction struct {
	cmd  string // upper case
	args string
	line int
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, l := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(l)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if s, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	return out
}

// stage is one FROM ... AS name and its instructions.
type stage struct {
	name, base string
	ins        []instruction
}

func dockerStages(t *testing.T, ins []instruction) []stage {
	t.Helper()
	var out []stage
	for _, in := range ins {
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			out = append(out, st)
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].ins = append(out[len(out)-1].ins, in)
		}
	}
	return out
}

func stageNames(ss []stage) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.name)
	}
	return out
}

// rootImage follows a stage's FROM through other stages to an external
// image, with the global ARG defaults substituted.
func rootImage(ss []stage, name string, args map[string]string) string {
	for _, s := range ss {
		if s.name == name {
			if slices.Contains(stageNames(ss), s.base) {
				return rootImage(ss, s.base, args)
			}
			return regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(s.base, func(m string) string {
				return args[m[2:len(m)-1]]
			})
		}
	}
	return ""
}

func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	ss := dockerStages(t, ins)
	args := map[string]string{}
	for _, in := range ins {
		if in.cmd == "FROM" {
			break
		}
		if in.cmd == "ARG" {
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		}
	}
	if len(ss) < 2 {
		t.Fatalf("%d stages; the Dockerfile must be multi-stage", len(ss))
	}
	if last := ss[len(ss)-1].name; last != "headroom" {
		t.Errorf("the last (default) stage is %q, want headroom", last)
	}

	// The Go toolchain is the one go.mod asks for.
	gomod, err := os.ReadFile(repoPath(t, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gover := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if gover == nil || args["GO_VERSION"] != string(gover[1]) {
		t.Errorf("ARG GO_VERSION=%s, want go.mod's %s", args["GO_VERSION"], gover[1])
	}

	for _, name := range []string{"headroom", "checkout"} {
		base := rootImage(ss, name, args)
		switch {
		case base == "":
			t.Errorf("no %s stage", name)
			continue
		case base == "scratch" || !strings.Contains(base, "debian") && !strings.Contains(base, "distroless/base") && !strings.Contains(base, "distroless/cc"):
			t.Errorf("stage %s runs on %s; headroom needs glibc (cgo): use Debian slim or distroless base", name, base)
		}
		var user string
		for _, s := range ss {
			if s.name != name {
				continue
			}
			for _, in := range s.ins {
				if in.cmd == "USER" {
					user = in.args
				}
			}
		}
		if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
			t.Errorf("stage %s runs as %q; it must name an unprivileged user", name, user)
		}
	}

	var cgo, curl bool
	for _, s := range ss {
		for _, in := range s.ins {
			switch in.cmd {
			case "RUN":
				if regexp.MustCompile(`CGO_ENABLED=1 go build [^&]*\./cmd/headroom`).MatchString(in.args) {
					cgo = true
				}
				if strings.Contains(in.args, "apt-get install") && strings.Contains(in.args, " curl") && strings.Contains(in.args, "ca-certificates") {
					curl = true
				}
			case "COPY":
				if strings.Contains(in.args, "--from=") {
					continue
				}
				f := strings.Fields(in.args)
				for _, src := range f[:len(f)-1] {
					if _, err := os.Stat(repoPath(t, filepath.FromSlash(src))); err != nil {
						t.Errorf("Dockerfile line %d copies %s: %v", in.line, src, err)
					}
					if dockerIgnored(t, src) {
						t.Errorf("Dockerfile line %d copies %s, which .dockerignore excludes", in.line, src)
					}
				}
			}
		}
	}
	if !cgo {
		t.Error("./cmd/headroom must be built with CGO_ENABLED=1: the TypeScript parser is cgo")
	}
	if !curl {
		t.Error("the runtime stage must install curl (compose healthchecks) and ca-certificates (HTTPS remote write)")
	}
	for _, p := range []string{"go.mod", "go.sum", "cmd/headroom/main.go", "scenario/express.go", "examples/checkout/cmd/checkout/main.go", "examples/scenarios/checkout.yaml"} {
		if dockerIgnored(t, p) {
			t.Errorf(".dockerignore excludes %s, which the build needs", p)
		}
	}
	for _, p := range []string{".git/config", ".testenv/env", "bin/headroom", "examples/checkout/express/node_modules/x/index.js"} {
		if !dockerIgnored(t, p) {
			t.Errorf(".dockerignore should exclude %s", p)
		}
	}
}

// dockerIgnored reports whether .dockerignore excludes a path (or one of
// its parent directories), with Docker's pattern rules: filepath.Match
// patterns relative to the context, a leading / ignored, **/ for any depth
// and ! to re-include.
func dockerIgnored(t *testing.T, p string) bool {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var candidates []string
	for d := p; d != "." && d != "/"; d = path.Dir(d) {
		candidates = append(candidates, d)
	}
	ignored := false
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		neg := strings.HasPrefix(l, "!")
		pat := strings.TrimPrefix(strings.TrimPrefix(l, "!"), "/")
		for _, c := range candidates {
			if globMatch(pat, c) {
				ignored = !neg
			}
		}
	}
	return ignored
}

// globMatch matches a path against a pattern whose **/ prefixes match any
// number of directories.
func globMatch(pat, p string) bool {
	if rest, ok := strings.CutPrefix(pat, "**/"); ok {
		parts := strings.Split(p, "/")
		for i := range parts {
			if globMatch(rest, strings.Join(parts[i:], "/")) {
				return true
			}
		}
		return false
	}
	ok, err := path.Match(pat, p)
	return err == nil && ok
}
