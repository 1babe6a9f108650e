// Package deploy holds the tests of the deployment files: the Kubernetes
// manifests of deploy/k8s, docker-compose.yml and the Dockerfile. It has no
// code of its own.
//
// No kustomize binary, cluster or Docker engine runs here, so the tests
// render the Kustomize overlays themselves (resources, namespace, images
// and strategic-merge patches, the only features the overlays use) with
// Kubernetes' own strategic-merge implementation, decode every object
// strictly into the real API types of k8s.io/api (unknown fields fail),
// check the references between objects, and compare the rendered overlays
// with golden files (refresh with go test ./deploy -update).
package deploy

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	pmodel "github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/headroom-sh/headroom/internal/testenv"
	"github.com/headroom-sh/headroom/loadgen"
	"github.com/headroom-sh/headroom/model"
	"github.com/headroom-sh/headroom/scenario"
)

var update = flag.Bool("update", false, "rewrite the golden files of the rendered overlays")

// overlays are the Kustomize overlays, with the Secrets each expects to be
// created by hand rather than rendered.
var overlays = []struct {
	name            string
	externalSecrets []string
}{
	{name: "demo"},
	{name: "production", externalSecrets: []string{"headroom-api-tokens"}},
}

func repoPath(t *testing.T, rel ...string) string {
	t.Helper()
	root := testenv.Root()
	if root == "" {
		t.Fatal("no repository root (go.mod) above the working directory")
	}
	return filepath.Join(append([]string{root}, rel...)...)
}

// ---- Kustomize rendering ----

// kustomization is the part of kustomization.yaml the overlays use; any
// other field fails the strict decoding, so a feature this renderer does
// not implement cannot creep in unnoticed.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources,omitempty"`
	Patches    []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
	Images []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
}

// object is one rendered manifest, as JSON-compatible maps.
type object map[string]any

func (o object) kind() string       { s, _ := o["kind"].(string); return s }
func (o object) apiVersion() string { s, _ := o["apiVersion"].(string); return s }
func (o object) meta() map[string]any {
	m, _ := o["metadata"].(map[string]any)
	return m
}
func (o object) name() string { s, _ := o.meta()["name"].(string); return s }
func (o object) id() string   { return o.apiVersion() + " " + o.kind() + " " + o.name() }

// clusterScoped kinds get no namespace.
var clusterScoped = map[string]bool{"Namespace": true}

// splitDocs cuts a multi-document YAML file into its documents, dropping
// empty ones.
func splitDocs(b []byte) [][]byte {
	var out [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(b), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			out = append(out, []byte(d))
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func readObjects(t *testing.T, path string) []object {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []object
	for i, d := range splitDocs(b) {
		var o object
		if err := sigsyaml.Unmarshal(d, &o); err != nil {
			t.Fatalf("%s: document %d: %v", path, i+1, err)
		}
		out = append(out, o)
	}
	return out
}

// render builds the kustomization in dir the way `kubectl apply -k` does
// for the features used here.
func render(t *testing.T, dir string) []object {
	t.Helper()
	path := filepath.Join(dir, "kustomization.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := sigsyaml.UnmarshalStrict(b, &k); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("%s: apiVersion %q kind %q, want kustomize.config.k8s.io/v1beta1 Kustomization", path, k.APIVersion, k.Kind)
	}
	var objs []object
	for _, r := range k.Resources {
		p := filepath.Join(dir, r)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: resource %s: %v", path, r, err)
		}
		if st.IsDir() {
			objs = append(objs, render(t, p)...)
		} else {
			objs = append(objs, readObjects(t, p)...)
		}
	}
	seen := map[string]bool{}
	for _, o := range objs {
		if seen[o.id()] {
			t.Fatalf("%s: %s is defined twice", path, o.id())
		}
		seen[o.id()] = true
	}
	for _, p := range k.Patches {
		for _, patch := range readObjects(t, filepath.Join(dir, p.Path)) {
			objs = applyPatch(t, objs, patch, filepath.Join(dir, p.Path))
		}
	}
	for _, o := range objs {
		if k.Namespace != "" && !clusterScoped[o.kind()] {
			o.meta()["namespace"] = k.Namespace
		}
		for _, img := range k.Images {
			setImage(o, img.Name, img.NewName, img.NewTag)
		}
	}
	return objs
}

// applyPatch applies one strategic-merge patch to the object it names: a
// patch of "$patch: delete" removes it; kinds of k8s.io/api are merged by
// their patch strategies (lists merged by key, "null" deletes a field), and
// custom resources by JSON merge patch (RFC 7386), as kustomize does.
func applyPatch(t *testing.T, objs []object, patch object, file string) []object {
	t.Helper()
	for i, o := range objs {
		if o.apiVersion() != patch.apiVersion() || o.kind() != patch.kind() || o.name() != patch.name() {
			continue
		}
		if patch["$patch"] == "delete" {
			return append(objs[:i:i], objs[i+1:]...)
		}
		orig, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		pj, err := json.Marshal(patch)
		if err != nil {
			t.Fatal(err)
		}
		var merged []byte
		if typ, ok := types[patch.apiVersion()+"/"+patch.kind()]; ok && !typ.custom {
			merged, err = strategicpatch.StrategicMergePatch(orig, pj, typ.new())
			if err != nil {
				t.Fatalf("%s: patching %s: %v", file, o.id(), err)
			}
		} else {
			merged, err = json.Marshal(mergePatch(map[string]any(o), map[string]any(patch)))
			if err != nil {
				t.Fatal(err)
			}
		}
		var out object
		if err := json.Unmarshal(merged, &out); err != nil {
			t.Fatal(err)
		}
		objs[i] = out
		return objs
	}
	t.Fatalf("%s: the patch targets %s, which no resource defines", file, patch.id())
	return nil
}

// mergePatch is RFC 7386 JSON merge patch.
func mergePatch(dst, patch map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			dv, _ := out[k].(map[string]any)
			out[k] = mergePatch(dv, pv)
		default:
			out[k] = v
		}
	}
	return out
}

// podSpecs returns the pod specs inside an object, as maps.
func podSpecs(o object) []map[string]any {
	dig := func(m map[string]any, path ...string) map[string]any {
		for _, p := range path {
			m, _ = m[p].(map[string]any)
		}
		return m
	}
	var s map[string]any
	switch o.kind() {
	case "Deployment", "Job":
		s = dig(o, "spec", "template", "spec")
	case "CronJob":
		s = dig(o, "spec", "jobTemplate", "spec", "template", "spec")
	}
	if s == nil {
		return nil
	}
	return []map[string]any{s}
}

// setImage rewrites the containers whose image is name, like kustomize's
// images transformer.
func setImage(o object, name, newName, newTag string) {
	for _, ps := range podSpecs(o) {
		for _, field := range []string{"containers", "initContainers"} {
			cs, _ := ps[field].([]any)
			for _, c := range cs {
				cm, _ := c.(map[string]any)
				img, _ := cm["image"].(string)
				n, tag := splitImage(img)
				if n != name {
					continue
				}
				if newName != "" {
					n = newName
				}
				if newTag != "" {
					tag = newTag
				}
				cm["image"] = n + ":" + tag
			}
		}
	}
}

// splitImage cuts "registry/name:tag" into name and tag.
func splitImage(img string) (name, tag string) {
	slash := strings.LastIndex(img, "/")
	if i := strings.LastIndex(img, ":"); i > slash {
		return img[:i], img[i+1:]
	}
	return img, ""
}

// kindOrder is the order objects are written in, after kustomize's
// legacy ordering: what others depend on first.
var kindOrder = []string{"Namespace", "ServiceAccount", "ConfigMap", "Secret", "PersistentVolumeClaim", "Service", "Deployment", "CronJob", "Job"}

func sortObjects(objs []object) {
	rank := func(k string) int {
		for i, x := range kindOrder {
			if x == k {
				return i
			}
		}
		return len(kindOrder)
	}
	sort.SliceStable(objs, func(i, j int) bool {
		if ri, rj := rank(objs[i].kind()), rank(objs[j].kind()); ri != rj {
			return ri < rj
		}
		if objs[i].kind() != objs[j].kind() {
			return objs[i].kind() < objs[j].kind()
		}
		return objs[i].name() < objs[j].name()
	})
}

func marshalObjects(t *testing.T, objs []object) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString("# Rendered by deploy/deploy_test.go from deploy/k8s; do not edit (go test ./deploy -update).\n")
	for _, o := range objs {
		b, err := sigsyaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return buf.Bytes()
}

// ---- typed decoding ----

// kindType makes the typed value of one apiVersion/kind.
type kindType struct {
	new    func() any
	custom bool // a custom resource: no k8s.io/api type
}

// types are the kinds the manifests may use.
var types = map[string]kindType{
	"v1/Namespace":             {new: func() any { return &corev1.Namespace{} }},
	"v1/ServiceAccount":        {new: func() any { return &corev1.ServiceAccount{} }},
	"v1/ConfigMap":             {new: func() any { return &corev1.ConfigMap{} }},
	"v1/Secret":                {new: func() any { return &corev1.Secret{} }},
	"v1/Service":               {new: func() any { return &corev1.Service{} }},
	"v1/PersistentVolumeClaim": {new: func() any { return &corev1.PersistentVolumeClaim{} }},
	"apps/v1/Deployment":       {new: func() any { return &appsv1.Deployment{} }},
	"batch/v1/CronJob":         {new: func() any { return &batchv1.CronJob{} }},
	"batch/v1/Job":             {new: func() any { return &batchv1.Job{} }},
	"monitoring.coreos.com/v1/ServiceMonitor": {new: func() any { return &serviceMonitor{} }, custom: true},
	"monitoring.coreos.com/v1/PodMonitor":     {new: func() any { return &podMonitor{} }, custom: true},
}

// serviceMonitor and podMonitor are the fields of the Prometheus
// Operator's monitoring.coreos.com/v1 types that the manifests use, with
// the operator's JSON names; strict decoding fails on any other field.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		JobLabel          string               `json:"jobLabel,omitempty"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector *namespaceSelector   `json:"namespaceSelector,omitempty"`
		Endpoints         []monitorEndpoint    `json:"endpoints"`
	} `json:"spec"`
}

type podMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		JobLabel            string               `json:"jobLabel,omitempty"`
		Selector            metav1.LabelSelector `json:"selector"`
		NamespaceSelector   *namespaceSelector   `json:"namespaceSelector,omitempty"`
		PodMetricsEndpoints []monitorEndpoint    `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

type namespaceSelector struct {
	Any        bool     `json:"any,omitempty"`
	MatchNames []string `json:"matchNames,omitempty"`
}

type monitorEndpoint struct {
	Port          string `json:"port"`
	Path          string `json:"path,omitempty"`
	Scheme        string `json:"scheme,omitempty"`
	Interval      string `json:"interval,omitempty"`
	ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
}

// decoded is a rendered overlay decoded into typed values.
type decoded struct {
	namespaces      []*corev1.Namespace
	serviceAccounts map[string]*corev1.ServiceAccount
	configMaps      map[string]*corev1.ConfigMap
	secrets         map[string]*corev1.Secret
	services        map[string]*corev1.Service
	pvcs            map[string]*corev1.PersistentVolumeClaim
	deployments     map[string]*appsv1.Deployment
	cronJobs        map[string]*batchv1.CronJob
	serviceMonitors map[string]*serviceMonitor
	podMonitors     map[string]*podMonitor
}

// decodeStrict decodes every object into its k8s.io/api type, refusing
// unknown kinds and unknown or duplicate fields.
func decodeStrict(t *testing.T, objs []object) *decoded {
	t.Helper()
	d := &decoded{
		serviceAccounts: map[string]*corev1.ServiceAccount{}, configMaps: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}, services: map[string]*corev1.Service{},
		pvcs: map[string]*corev1.PersistentVolumeClaim{}, deployments: map[string]*appsv1.Deployment{},
		cronJobs: map[string]*batchv1.CronJob{}, serviceMonitors: map[string]*serviceMonitor{},
		podMonitors: map[string]*podMonitor{},
	}
	for _, o := range objs {
		typ, ok := types[o.apiVersion()+"/"+o.kind()]
		if !ok {
			t.Errorf("%s: unknown apiVersion/kind", o.id())
			continue
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		v := typ.new()
		if err := sigsyaml.UnmarshalStrict(b, v); err != nil {
			t.Errorf("%s does not decode into %T: %v", o.id(), v, err)
			continue
		}
		switch x := v.(type) {
		case *corev1.Namespace:
			d.namespaces = append(d.namespaces, x)
		case *corev1.ServiceAccount:
			d.serviceAccounts[x.Name] = x
		case *corev1.ConfigMap:
			d.configMaps[x.Name] = x
		case *corev1.Secret:
			d.secrets[x.Name] = x
		case *corev1.Service:
			d.services[x.Name] = x
		case *corev1.PersistentVolumeClaim:
			d.pvcs[x.Name] = x
		case *appsv1.Deployment:
			d.deployments[x.Name] = x
		case *batchv1.CronJob:
			d.cronJobs[x.Name] = x
		case *serviceMonitor:
			d.serviceMonitors[x.Name] = x
		case *podMonitor:
			d.podMonitors[x.Name] = x
		}
	}
	return d
}

// ---- tests ----

func TestOverlaysMatchTheirGoldenFiles(t *testing.T) {
	for _, ov := range overlays {
		t.Run(ov.name, func(t *testing.T) {
			objs := render(t, repoPath(t, "deploy", "k8s", "overlays", ov.name))
			sortObjects(objs)
			got := marshalObjects(t, objs)
			golden := filepath.Join("testdata", t.Name()+".yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./deploy -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the rendered overlay differs from %s; if the change is intended, run go test ./deploy -update\n%s", golden, lineDiff(string(want), string(got)))
			}
		})
	}
}

// lineDiff shows the first lines where two texts differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  golden:   %q\n  rendered: %q", i+1, wl, gl)
		}
	}
	return ""
}

func TestManifestsDecodeIntoTheKubernetesTypes(t *testing.T) {
	// Every file of the base and the overlays, on its own, before patching:
	// the patches too must be valid objects of their kind.
	err := filepath.WalkDir(repoPath(t, "deploy", "k8s"), func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || filepath.Ext(path) != ".yaml" || de.Name() == "kustomization.yaml" {
			return err
		}
		for _, o := range readObjects(t, path) {
			if o["$patch"] == "delete" {
				delete(o, "$patch")
			}
			rel, _ := filepath.Rel(repoPath(t), path)
			typ, ok := types[o.apiVersion()+"/"+o.kind()]
			if !ok {
				t.Errorf("%s: %s has an unknown apiVersion/kind", rel, o.id())
				continue
			}
			b, _ := json.Marshal(o)
			if err := sigsyaml.UnmarshalStrict(b, typ.new()); err != nil {
				t.Errorf("%s: %s: %v", rel, o.id(), err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ov := range overlays {
		t.Run(ov.name, func(t *testing.T) {
			decodeStrict(t, render(t, repoPath(t, "deploy", "k8s", "overlays", ov.name)))
		})
	}
}

func TestOverlaysHoldTogether(t *testing.T) {
	for _, ov := range overlays {
		t.Run(ov.name, func(t *testing.T) {
			dir := repoPath(t, "deploy", "k8s", "overlays", ov.name)
			objs := render(t, dir)
			d := decodeStrict(t, objs)
			var k kustomization
			b, _ := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
			if err := sigsyaml.UnmarshalStrict(b, &k); err != nil {
				t.Fatal(err)
			}
			if len(d.namespaces) != 1 || d.namespaces[0].Name != k.Namespace {
				t.Errorf("the overlay's namespace %q should be created by exactly one Namespace object", k.Namespace)
			}
			external := map[string]bool{}
			for _, s := range ov.externalSecrets {
				external[s] = true
			}
			for _, dep := range d.deployments {
				sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
				if err != nil || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
					t.Errorf("Deployment %s: its selector %v does not match its pod labels %v", dep.Name, dep.Spec.Selector, dep.Spec.Template.Labels)
				}
				checkPod(t, "Deployment "+dep.Name, &dep.Spec.Template.Spec, d, external)
			}
			for _, cj := range d.cronJobs {
				checkPod(t, "CronJob "+cj.Name, &cj.Spec.JobTemplate.Spec.Template.Spec, d, external)
				if !regexp.MustCompile(`^(\S+\s+){4}\S+$`).MatchString(cj.Spec.Schedule) {
					t.Errorf("CronJob %s: schedule %q is not five cron fields", cj.Name, cj.Spec.Schedule)
				}
				if cj.Spec.TimeZone != nil {
					if _, err := time.LoadLocation(*cj.Spec.TimeZone); err != nil {
						t.Errorf("CronJob %s: time zone: %v", cj.Name, err)
					}
				}
				js := cj.Spec.JobTemplate.Spec
				if js.ActiveDeadlineSeconds == nil || *js.ActiveDeadlineSeconds <= 0 {
					t.Errorf("CronJob %s: its jobs need an activeDeadlineSeconds, so a run is bounded", cj.Name)
				}
			}
			for _, svc := range d.services {
				checkService(t, svc, d)
			}
			for _, sm := range d.serviceMonitors {
				checkServiceMonitor(t, sm, d)
			}
			for _, pm := range d.podMonitors {
				checkPodMonitor(t, pm, d)
			}
			if len(d.serviceMonitors)+len(d.podMonitors) == 0 {
				t.Error("no ServiceMonitor or PodMonitor")
			}
		})
	}
}

// checkPod checks one pod spec's references and habits.
func checkPod(t *testing.T, what string, ps *corev1.PodSpec, d *decoded, externalSecrets map[string]bool) {
	t.Helper()
	if ps.ServiceAccountName != "" && d.serviceAccounts[ps.ServiceAccountName] == nil {
		t.Errorf("%s: service account %q is not defined", what, ps.ServiceAccountName)
	}
	if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: the pod must set runAsNonRoot: true", what)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range ps.Volumes {
		volumes[v.Name] = v
		sources := 0
		if v.EmptyDir != nil {
			sources++
		}
		if v.PersistentVolumeClaim != nil {
			sources++
			if d.pvcs[v.PersistentVolumeClaim.ClaimName] == nil {
				t.Errorf("%s: volume %s claims %q, which is not defined", what, v.Name, v.PersistentVolumeClaim.ClaimName)
			}
		}
		if v.ConfigMap != nil {
			sources++
			cm := d.configMaps[v.ConfigMap.Name]
			if cm == nil {
				t.Errorf("%s: volume %s mounts ConfigMap %q, which is not defined", what, v.Name, v.ConfigMap.Name)
			}
			for _, it := range v.ConfigMap.Items {
				if _, ok := cm.Data[it.Key]; cm != nil && !ok {
					t.Errorf("%s: volume %s mounts key %q, which ConfigMap %s lacks", what, v.Name, it.Key, cm.Name)
				}
			}
		}
		if v.Secret != nil {
			sources++
		}
		if sources != 1 {
			t.Errorf("%s: volume %s has %d sources, want exactly one", what, v.Name, sources)
		}
	}
	for _, c := range ps.Containers {
		cw := what + " container " + c.Name
		if _, tag := splitImage(c.Image); tag == "" || tag == "latest" {
			t.Errorf("%s: image %q is not pinned to a tag", cw, c.Image)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s: needs CPU and memory requests and a memory limit", cw)
		}
		if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: needs allowPrivilegeEscalation: false and readOnlyRootFilesystem: true", cw)
		}
		for _, m := range c.VolumeMounts {
			if _, ok := volumes[m.Name]; !ok {
				t.Errorf("%s: mounts volume %q, which the pod does not define", cw, m.Name)
			}
		}
		defined := map[string]bool{}
		for _, e := range c.Env {
			defined[e.Name] = true
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				cm := d.configMaps[r.Name]
				if cm == nil {
					t.Errorf("%s: env %s reads ConfigMap %q, which is not defined", cw, e.Name, r.Name)
				} else if _, ok := cm.Data[r.Key]; !ok {
					t.Errorf("%s: env %s reads key %q, which ConfigMap %s lacks", cw, e.Name, r.Key, r.Name)
				}
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil && !externalSecrets[r.Name] {
				s := d.secrets[r.Name]
				_, inData := s.Data[r.Key]
				_, inString := s.StringData[r.Key]
				if s == nil || !inData && !inString {
					t.Errorf("%s: env %s reads key %q of Secret %q, which is not defined", cw, e.Name, r.Key, r.Name)
				}
			}
		}
		// Kubernetes leaves an undefined $(VAR) as it is: a silent bug.
		for _, a := range append(append([]string{}, c.Command...), c.Args...) {
			for _, m := range regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).FindAllStringSubmatch(a, -1) {
				if !defined[m[1]] {
					t.Errorf("%s: argument %q uses $(%s), which its env does not define", cw, a, m[1])
				}
			}
		}
		ports := map[string]bool{}
		for _, p := range c.Ports {
			ports[p.Name] = true
		}
		for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
			if p != nil && p.HTTPGet != nil && p.HTTPGet.Port.StrVal != "" && !ports[p.HTTPGet.Port.StrVal] {
				t.Errorf("%s: a probe uses port %q, which the container does not name", cw, p.HTTPGet.Port.StrVal)
			}
		}
	}
}

// podsMatching returns the containers of the Deployments whose pods the
// selector picks.
func podsMatching(sel labels.Selector, d *decoded) []corev1.Container {
	var out []corev1.Container
	for _, dep := range d.deployments {
		if sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
			out = append(out, dep.Spec.Template.Spec.Containers...)
		}
	}
	return out
}

func namedPort(cs []corev1.Container, name string) bool {
	for _, c := range cs {
		for _, p := range c.Ports {
			if p.Name == name {
				return true
			}
		}
	}
	return false
}

func checkService(t *testing.T, svc *corev1.Service, d *decoded) {
	t.Helper()
	cs := podsMatching(labels.SelectorFromSet(svc.Spec.Selector), d)
	if len(cs) == 0 {
		t.Errorf("Service %s selects no pods (%v)", svc.Name, svc.Spec.Selector)
	}
	for _, p := range svc.Spec.Ports {
		if p.TargetPort.StrVal != "" && !namedPort(cs, p.TargetPort.StrVal) {
			t.Errorf("Service %s: target port %q is not a named port of its pods", svc.Name, p.TargetPort.StrVal)
		}
	}
}

func checkEndpoint(t *testing.T, what string, e monitorEndpoint) {
	t.Helper()
	iv, err1 := pmodel.ParseDuration(e.Interval)
	to, err2 := pmodel.ParseDuration(e.ScrapeTimeout)
	if err1 != nil || err2 != nil || to > iv {
		t.Errorf("%s: interval %q and scrapeTimeout %q must be Prometheus durations with the timeout at most the interval", what, e.Interval, e.ScrapeTimeout)
	}
	if e.Path != "/metrics" {
		t.Errorf("%s: path %q, want /metrics", what, e.Path)
	}
}

func checkServiceMonitor(t *testing.T, sm *serviceMonitor, d *decoded) {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatalf("ServiceMonitor %s: %v", sm.Name, err)
	}
	var svcs []*corev1.Service
	for _, svc := range d.services {
		if sel.Matches(labels.Set(svc.Labels)) {
			svcs = append(svcs, svc)
		}
	}
	if len(svcs) == 0 {
		t.Errorf("ServiceMonitor %s selects no Service", sm.Name)
	}
	for _, e := range sm.Spec.Endpoints {
		checkEndpoint(t, "ServiceMonitor "+sm.Name, e)
		for _, svc := range svcs {
			found := false
			for _, p := range svc.Spec.Ports {
				found = found || p.Name == e.Port
			}
			if !found {
				t.Errorf("ServiceMonitor %s: port %q is not a port of Service %s", sm.Name, e.Port, svc.Name)
			}
			if sm.Spec.JobLabel != "" && svc.Labels[sm.Spec.JobLabel] == "" {
				t.Errorf("ServiceMonitor %s: Service %s has no %s label to name the job", sm.Name, svc.Name, sm.Spec.JobLabel)
			}
		}
	}
}

func checkPodMonitor(t *testing.T, pm *podMonitor, d *decoded) {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(&pm.Spec.Selector)
	if err != nil {
		t.Fatalf("PodMonitor %s: %v", pm.Name, err)
	}
	cs := podsMatching(sel, d)
	if len(cs) == 0 {
		t.Errorf("PodMonitor %s selects no pods", pm.Name)
	}
	for _, e := range pm.Spec.PodMetricsEndpoints {
		checkEndpoint(t, "PodMonitor "+pm.Name, e)
		if !namedPort(cs, e.Port) {
			t.Errorf("PodMonitor %s: port %q is not a named port of its pods", pm.Name, e.Port)
		}
	}
	for _, dep := range d.deployments {
		if sel.Matches(labels.Set(dep.Spec.Template.Labels)) && pm.Spec.JobLabel != "" && dep.Spec.Template.Labels[pm.Spec.JobLabel] == "" {
			t.Errorf("PodMonitor %s: the pods of %s have no %s label to name the job", pm.Name, dep.Name, pm.Spec.JobLabel)
		}
	}
}

// container returns the named container of a pod spec.
func container(t *testing.T, ps *corev1.PodSpec, name string) *corev1.Container {
	t.Helper()
	for i := range ps.Containers {
		if ps.Containers[i].Name == name {
			return &ps.Containers[i]
		}
	}
	t.Fatalf("no container %q", name)
	return nil
}

func envOf(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func TestTheLoadJobShardsTheScenario(t *testing.T) {
	for _, ov := range overlays {
		t.Run(ov.name, func(t *testing.T) {
			d := decodeStrict(t, render(t, repoPath(t, "deploy", "k8s", "overlays", ov.name)))
			cj := d.cronJobs["headroom-load"]
			if cj == nil {
				t.Fatal("no CronJob headroom-load")
			}
			if cj.Spec.Suspend == nil || !*cj.Spec.Suspend {
				t.Error("the load template must be suspended: applying the manifests must send no load")
			}
			js := cj.Spec.JobTemplate.Spec
			if js.CompletionMode == nil || *js.CompletionMode != batchv1.IndexedCompletion {
				t.Fatal("the load Job must be an Indexed Job: each pod's completion index is its shard")
			}
			if js.Completions == nil || js.Parallelism == nil || *js.Completions != *js.Parallelism {
				t.Fatalf("completions %v and parallelism %v must be equal: every shard runs at once", js.Completions, js.Parallelism)
			}
			if js.BackoffLimitPerIndex == nil || *js.BackoffLimitPerIndex != 0 {
				t.Error("backoffLimitPerIndex must be 0: a retried shard would replay its schedule out of step")
			}
			if js.MaxFailedIndexes == nil || *js.MaxFailedIndexes != *js.Completions {
				t.Error("maxFailedIndexes must equal completions: a failed shard must not stop the others")
			}
			ps := &js.Template.Spec
			if ps.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy %q, want Never", ps.RestartPolicy)
			}
			c := container(t, ps, "runner")
			n := *js.Completions
			if e := envOf(c, "SHARD_COUNT"); e == nil || e.Value != strconv.Itoa(int(n)) {
				t.Errorf("SHARD_COUNT = %+v, want %d (the Job's completions)", e, n)
			}
			if e := envOf(c, "JOB_COMPLETION_INDEX"); e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil ||
				e.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
				t.Errorf("JOB_COMPLETION_INDEX = %+v, want the pod's job-completion-index annotation", e)
			}
			if e := envOf(c, "RUN_ID"); e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil ||
				e.ValueFrom.FieldRef.FieldPath != "metadata.labels['batch.kubernetes.io/job-name']" {
				t.Errorf("RUN_ID = %+v, want the Job's name, shared by its shards", e)
			}
			args := map[string]bool{}
			for _, a := range c.Args {
				args[a] = true
			}
			for _, want := range []string{"run", "--shard=$(JOB_COMPLETION_INDEX)/$(SHARD_COUNT)", "--run-id=$(RUN_ID)", "--prometheus=$(PROMETHEUS_URL)", "--target=$(TARGET_URL)"} {
				if !args[want] {
					t.Errorf("runner args %q lack %q", c.Args, want)
				}
			}
			if len(c.Args) < 2 || c.Args[0] != "run" {
				t.Fatalf("runner args %q, want run SCENARIO ...", c.Args)
			}
			// The scenario file the args name is the ConfigMap key mounted there.
			sc := scenarioAt(t, ps, c, c.Args[1], d)
			// Every shard's exact share adds up to each stage's whole.
			for _, ex := range sc.Executors {
				for _, st := range ex.Stages {
					whole := int(st.Target)
					if float64(whole) != st.Target {
						t.Errorf("stage %s: target %g is not a whole number of VUs", st.Name, st.Target)
					}
					sum := 0
					for i := 0; i < int(n); i++ {
						sh, err := loadgen.ParseShard(fmt.Sprintf("%d/%d", i, n))
						if err != nil {
							t.Fatal(err)
						}
						sum += sh.Share(whole)
					}
					if sum != whole {
						t.Errorf("stage %s: the shares of %d shards add up to %d VUs, want %d", st.Name, n, sum, whole)
					}
				}
			}
		})
	}
}

// scenarioAt finds the file path in the container's mounts, reads it from
// the ConfigMap behind it and parses it as a scenario.
func scenarioAt(t *testing.T, ps *corev1.PodSpec, c *corev1.Container, path string, d *decoded) *model.Scenario {
	t.Helper()
	for _, m := range c.VolumeMounts {
		rel, err := filepath.Rel(m.MountPath, path)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		for _, v := range ps.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm := d.configMaps[v.ConfigMap.Name]
			for _, it := range v.ConfigMap.Items {
				if it.Path == rel {
					sc, err := scenario.Parse([]byte(cm.Data[it.Key]), cm.Name+"/"+it.Key)
					if err != nil {
						t.Fatalf("the scenario in ConfigMap %s key %s: %v", cm.Name, it.Key, err)
					}
					return sc
				}
			}
		}
	}
	t.Fatalf("%s is not a ConfigMap key mounted into the runner", path)
	return nil
}

func TestTheServeDeploymentMatchesTheService(t *testing.T) {
	for _, ov := range overlays {
		t.Run(ov.name, func(t *testing.T) {
			d := decodeStrict(t, render(t, repoPath(t, "deploy", "k8s", "overlays", ov.name)))
			dep := d.deployments["headroom"]
			if dep == nil {
				t.Fatal("no Deployment headroom")
			}
			c := container(t, &dep.Spec.Template.Spec, "headroom")
			if len(c.Args) == 0 || c.Args[0] != "serve" {
				t.Fatalf("args %q, want serve ...", c.Args)
			}
			args := strings.Join(c.Args, " ")
			if !strings.Contains(args, "--listen=0.0.0.0:8090") {
				t.Errorf("args %q: serve must listen on 0.0.0.0:8090", args)
			}
			dataDir := ""
			for _, m := range c.VolumeMounts {
				if m.Name == "data" {
					dataDir = m.MountPath
				}
			}
			if dataDir == "" || !strings.Contains(args, "--data-dir="+dataDir) {
				t.Errorf("args %q: --data-dir must be the data volume's mount %q", args, dataDir)
			}
			if e := envOf(c, "HEADROOM_API_TOKENS"); e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Error("HEADROOM_API_TOKENS must come from a Secret")
			}
			if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" ||
				c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Error("serve needs a liveness probe on /healthz and a readiness probe on /readyz")
			}
			if svc := d.services["headroom"]; svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8090 {
				t.Errorf("Service headroom = %+v, want port 8090", svc)
			}
		})
	}
}
