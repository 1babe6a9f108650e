package model

import "testing"

func TestSuggestNamesALikelyTypoOnly(t *testing.T) {
	kinds := []string{"cpu", "db_pool", "db_server_connections", "redis"}
	for _, c := range []struct{ in, want string }{
		{"db_pol", "db_pool"},
		{"REDIS", "redis"},
		{"cpus", "cpu"},
		{"memory", ""},
		{"", ""},
	} {
		if got := Suggest(c.in, kinds); got != c.want {
			t.Errorf("Suggest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Suggest("x", nil); got != "" {
		t.Errorf("no candidates gave %q", got)
	}
	for _, c := range []struct {
		a, b string
		d    int
	}{{"kitten", "sitting", 3}, {"", "abc", 3}, {"été", "ete", 2}, {"same", "same", 0}} {
		if got := EditDistance(c.a, c.b); got != c.d {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
	}
}
