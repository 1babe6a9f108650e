package testenv

import (
	"os"
	"testing"

	"go.yaml.in/yaml/v3"
)

// AlertAnnotation reads one annotation of an alert from a Prometheus rules
// file, for promtool rule tests that must repeat the alert's annotations.
func AlertAnnotation(t testing.TB, path, alert, key string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if r.Alert == alert {
				return r.Annotations[key]
			}
		}
	}
	t.Fatalf("%s has no alert %s", path, alert)
	return ""
}
