package analyzer

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/headroom-sh/headroom/model"
)

// Defaults of CompareOptions.
const (
	DefaultMaxP95Regression     = 0.20
	DefaultMaxP99Regression     = 0.30
	DefaultMaxErrorRateIncrease = 0.01
	DefaultMinLatencyIncreaseMs = 1.0
	DefaultCompareAlpha         = 0.05
)

// Names of the significance tests in model.ComparisonRow.Test.
const (
	TestMannWhitney   = "mann_whitney_u"
	TestVanElteren    = "van_elteren"
	TestSign          = "sign_test"
	TestTwoProportion = "two_proportion_z"
	TestNone          = "none"
)

// Comparison metrics.
const (
	MetricP95       = "p95_ms"
	MetricP99       = "p99_ms"
	MetricErrorRate = "error_rate"
)

// minCompareSamples is the fewest samples per run a rank test is run on.
const minCompareSamples = 3

// exactMaxN bounds the sample sizes for which the Mann–Whitney U test uses
// its exact null distribution (when there are no ties).
const exactMaxN = 25

// CompareOptions tune Compare. Zero values mean the defaults.
type CompareOptions struct {
	// MaxP95Regression and MaxP99Regression are the allowed relative
	// increases of p95 and p99 (0.20 = +20%); defaults 0.20 and 0.30.
	MaxP95Regression float64
	MaxP99Regression float64
	// MaxErrorRateIncrease is the allowed absolute increase of the error
	// rate (0.01 = one percentage point); default 0.01.
	MaxErrorRateIncrease float64
	// MinLatencyIncreaseMs is the smallest latency increase in ms that can
	// be a regression, so that 0.4 ms → 0.6 ms is not; default 1.
	MinLatencyIncreaseMs float64
	// Alpha is the significance level of the one-sided tests; default 0.05.
	Alpha float64
}

// Validate reports options out of range, naming the field.
func (o CompareOptions) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"MaxP95Regression", o.MaxP95Regression}, {"MaxP99Regression", o.MaxP99Regression},
		{"MaxErrorRateIncrease", o.MaxErrorRateIncrease}, {"MinLatencyIncreaseMs", o.MinLatencyIncreaseMs}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("%s %v must be a non-negative number: %w", f.name, f.v, ErrBadOptions)
		}
	}
	if math.IsNaN(o.Alpha) || o.Alpha < 0 || o.Alpha >= 1 {
		return fmt.Errorf("Alpha %v must be a probability below 1: %w", o.Alpha, ErrBadOptions)
	}
	return nil
}

func (o *CompareOptions) defaults() {
	set := func(v *float64, def float64) {
		if !(*v > 0) || math.IsInf(*v, 0) {
			*v = def
		}
	}
	set(&o.MaxP95Regression, DefaultMaxP95Regression)
	set(&o.MaxP99Regression, DefaultMaxP99Regression)
	set(&o.MaxErrorRateIncrease, DefaultMaxErrorRateIncrease)
	set(&o.MinLatencyIncreaseMs, DefaultMinLatencyIncreaseMs)
	if !(o.Alpha > 0 && o.Alpha < 1) {
		o.Alpha = DefaultCompareAlpha
	}
}

// Compare judges a current run against a baseline, overall and per
// endpoint, on p95, p99 and the error rate. A row is a regression only when
// the change is both statistically significant (one-sided, at Alpha) and
// beyond the allowed change, so that two runs of the same build are not
// flagged for noise.
//
// Overall, the samples are run.json's per-interval values (series),
// compared stage by stage with the van Elteren test — the Mann–Whitney U
// test stratified by stage (van Elteren 1960; Lehmann, Nonparametrics,
// 1975, §3.3) — so a ramp's load levels are compared like for like; a
// single stage (or unnamed intervals) gives the plain Mann–Whitney U test.
// Per endpoint, run.json has one row per stage, so stages are paired by
// name and tested with the exact one-sided sign test; the endpoint's error
// rate is tested on its whole-run counts with the two-proportion z test.
// Options out of range are replaced by the defaults (call
// CompareOptions.Validate to reject them). The runs are not modified.
func Compare(baseline, current *model.Run, opts CompareOptions) model.Comparison {
	opts.defaults()
	c := model.Comparison{
		Limits: model.CompareLimits{
			MaxP95Regression:     opts.MaxP95Regression,
			MaxP99Regression:     opts.MaxP99Regression,
			MaxErrorRateIncrease: opts.MaxErrorRateIncrease,
			MinLatencyIncreaseMs: opts.MinLatencyIncreaseMs,
			Alpha:                opts.Alpha,
		},
		Rows: []model.ComparisonRow{},
	}
	if baseline == nil || current == nil {
		c.Notes = append(c.Notes, "nothing to compare: a run is missing")
		return c
	}
	c.BaselineRunID, c.CurrentRunID = baseline.RunID, current.RunID
	cmp := &comparer{opts: opts, c: &c}
	cmp.overall(baseline, current)
	cmp.endpoints(baseline, current)
	for i := range c.Rows {
		cmp.judge(&c.Rows[i])
		if c.Rows[i].Regressed {
			c.Regressed = true
		}
	}
	return c
}

type comparer struct {
	opts CompareOptions
	c    *model.Comparison
}

func (cp *comparer) note(format string, args ...any) {
	cp.c.Notes = append(cp.c.Notes, fmt.Sprintf(format, args...))
}

// strata groups samples by stage.
type strata map[string][]float64

func (s strata) count() int {
	n := 0
	for _, v := range s {
		n += len(v)
	}
	return n
}

// seriesStrata groups a run's per-interval values by stage, skipping
// intervals without requests.
func seriesStrata(r *model.Run, metric string) strata {
	s := strata{}
	for _, p := range r.Series {
		if p.Requests <= 0 && !(p.RPS > 0) {
			continue
		}
		v := metricOf(metric, p.P95Ms, p.P99Ms, p.ErrorRate)
		if !finite(v) {
			continue
		}
		s[p.Stage] = append(s[p.Stage], v)
	}
	return s
}

func metricOf(metric string, p95, p99, er float64) float64 {
	switch metric {
	case MetricP95:
		return p95
	case MetricP99:
		return p99
	}
	return er
}

func (cp *comparer) overall(b, cur *model.Run) {
	for _, metric := range []string{MetricP95, MetricP99, MetricErrorRate} {
		row := cp.newRow("overall", metric,
			metricOf(metric, b.Total.P95Ms, b.Total.P99Ms, b.Total.ErrorRate),
			metricOf(metric, cur.Total.P95Ms, cur.Total.P99Ms, cur.Total.ErrorRate))
		bs, cs := seriesStrata(b, metric), seriesStrata(cur, metric)
		if bs.count() < minCompareSamples || cs.count() < minCompareSamples {
			// Fall back to stage rows paired by name.
			bs, cs = stageStrata(b.Stages, metric, ""), stageStrata(cur.Stages, metric, "")
			cp.pairedTest(&row, bs, cs)
		} else {
			cp.stratifiedTest(&row, bs, cs)
		}
		cp.c.Rows = append(cp.c.Rows, row)
	}
}

// stageStrata makes one sample per stage from the stage rows (or, with an
// endpoint, its rows in each stage).
func stageStrata(stages []model.StageStats, metric, endpoint string) strata {
	s := strata{}
	for _, st := range stages {
		if endpoint == "" {
			if st.Requests > 0 {
				s[st.Name] = append(s[st.Name], metricOf(metric, st.P95Ms, st.P99Ms, st.ErrorRate))
			}
			continue
		}
		for _, e := range st.Endpoints {
			if e.Endpoint == endpoint && e.Requests > 0 {
				s[st.Name] = append(s[st.Name], metricOf(metric, e.P95Ms, e.P99Ms, e.ErrorRate))
			}
		}
	}
	return s
}

func (cp *comparer) endpoints(b, cur *model.Run) {
	base := map[string]model.EndpointStats{}
	for _, e := range b.Endpoints {
		base[e.Endpoint] = e
	}
	var names []string
	curRows := map[string]model.EndpointStats{}
	for _, e := range cur.Endpoints {
		if _, ok := base[e.Endpoint]; ok {
			names = append(names, e.Endpoint)
			curRows[e.Endpoint] = e
		} else {
			cp.note("endpoint %s is new in the current run: not compared", e.Endpoint)
		}
	}
	for _, e := range b.Endpoints {
		if _, ok := curRows[e.Endpoint]; !ok {
			cp.note("endpoint %s is absent from the current run: not compared", e.Endpoint)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		be, ce := base[name], curRows[name]
		for _, metric := range []string{MetricP95, MetricP99} {
			row := cp.newRow(name, metric, metricOf(metric, be.P95Ms, be.P99Ms, 0), metricOf(metric, ce.P95Ms, ce.P99Ms, 0))
			cp.pairedTest(&row, stageStrata(b.Stages, metric, name), stageStrata(cur.Stages, metric, name))
			cp.c.Rows = append(cp.c.Rows, row)
		}
		row := cp.newRow(name, MetricErrorRate, be.ErrorRate, ce.ErrorRate)
		row.Test = TestTwoProportion
		row.BaselineSamples, row.CurrentSamples = int(be.Requests), int(ce.Requests)
		row.PValue = twoProportionP(float64(be.Errors), float64(be.Requests), float64(ce.Errors), float64(ce.Requests))
		cp.c.Rows = append(cp.c.Rows, row)
	}
}

func (cp *comparer) newRow(scope, metric string, base, cur float64) model.ComparisonRow {
	r := model.ComparisonRow{Scope: scope, Metric: metric, Baseline: nz(base), Current: nz(cur), Test: TestNone, PValue: 1}
	switch metric {
	case MetricErrorRate:
		r.Change = r.Current - r.Baseline
		r.Limit = cp.opts.MaxErrorRateIncrease
	default:
		switch {
		case r.Baseline > 0:
			r.Change = r.Current/r.Baseline - 1
		case r.Current > 0:
			r.Change = 1
		}
		r.Limit = cp.opts.MaxP95Regression
		if metric == MetricP99 {
			r.Limit = cp.opts.MaxP99Regression
		}
	}
	return r
}

// stratifiedTest runs the van Elteren test over the stages both runs have
// (the Mann–Whitney U test when there is one such stage).
func (cp *comparer) stratifiedTest(row *model.ComparisonRow, bs, cs strata) {
	var xs, ys [][]float64
	names := make([]string, 0, len(bs))
	for name := range bs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b := bs[name]
		c, ok := cs[name]
		if !ok || len(b) == 0 || len(c) == 0 {
			continue
		}
		xs = append(xs, b)
		ys = append(ys, c)
	}
	for _, x := range xs {
		row.BaselineSamples += len(x)
	}
	for _, y := range ys {
		row.CurrentSamples += len(y)
	}
	if row.BaselineSamples < minCompareSamples || row.CurrentSamples < minCompareSamples {
		// The stages do not match: compare every interval as one sample.
		all := func(s strata) []float64 {
			var out []float64
			keys := make([]string, 0, len(s))
			for k := range s {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				out = append(out, s[k]...)
			}
			return out
		}
		x, y := all(bs), all(cs)
		row.BaselineSamples, row.CurrentSamples = len(x), len(y)
		if len(x) < minCompareSamples || len(y) < minCompareSamples {
			return
		}
		row.Test = TestMannWhitney
		row.PValue = MannWhitneyGreater(x, y)
		return
	}
	if len(xs) == 1 {
		row.Test = TestMannWhitney
		row.PValue = MannWhitneyGreater(xs[0], ys[0])
		return
	}
	row.Test = TestVanElteren
	row.PValue = vanElterenGreater(xs, ys)
}

// pairedTest pairs one sample per stage by stage name and runs the exact
// one-sided sign test; without common stages it falls back to the
// Mann–Whitney U test over the stage samples.
func (cp *comparer) pairedTest(row *model.ComparisonRow, bs, cs strata) {
	var higher, lower int
	for name, b := range bs {
		c, ok := cs[name]
		if !ok || len(b) != 1 || len(c) != 1 {
			continue
		}
		switch {
		case c[0] > b[0]:
			higher++
		case c[0] < b[0]:
			lower++
		}
	}
	if n := higher + lower; n > 0 {
		row.Test = TestSign
		row.BaselineSamples, row.CurrentSamples = n, n
		row.PValue = signTestGreater(higher, n)
		return
	}
	cp.stratifiedTest(row, bs, cs)
}

// judge decides significance and regression and writes the verdict.
func (cp *comparer) judge(r *model.ComparisonRow) {
	r.Significant = r.Test != TestNone && r.PValue < cp.opts.Alpha
	beyond := r.Change > r.Limit
	if r.Metric != MetricErrorRate {
		beyond = beyond && r.Current-r.Baseline >= cp.opts.MinLatencyIncreaseMs
	}
	r.Regressed = r.Significant && beyond
	var change string
	if r.Metric == MetricErrorRate {
		change = fmt.Sprintf("%s → %s (%+.2f pp)", fpct(r.Baseline), fpct(r.Current), r.Change*100)
	} else {
		change = fmt.Sprintf("%s → %s (%+.1f%%)", fms(r.Baseline), fms(r.Current), r.Change*100)
	}
	var sig string
	switch {
	case r.Test == TestNone:
		sig = "too few samples to test"
	case r.Significant:
		sig = fmt.Sprintf("significant (%s, %s)", fp(r.PValue), r.Test)
	default:
		sig = fmt.Sprintf("not significant (%s, %s)", fp(r.PValue), r.Test)
	}
	limit := fmt.Sprintf("+%s", fpct(r.Limit))
	if r.Metric == MetricErrorRate {
		limit = fmt.Sprintf("+%.2f pp", r.Limit*100)
	}
	switch {
	case r.Regressed:
		r.Verdict = fmt.Sprintf("regression: %s, beyond %s, %s", change, limit, sig)
	case beyond:
		r.Verdict = fmt.Sprintf("not flagged: %s is beyond %s but %s", change, limit, sig)
	case r.Significant && r.Change > 0:
		r.Verdict = fmt.Sprintf("ok: %s, %s but within %s", change, sig, limit)
	default:
		r.Verdict = fmt.Sprintf("ok: %s, %s", change, sig)
	}
}

// MannWhitneyGreater is the one-sided p-value of the Mann–Whitney U test
// (Mann & Whitney 1947) for the alternative "y tends to be larger than x".
// For samples of up to 25 values each without ties it is exact (the null
// distribution of U counted by the recurrence of Mann & Whitney 1947,
// eq. 2); otherwise it is the normal approximation with the tie
// correction of the variance and a continuity correction of ½, as R's
// wilcox.test(exact = FALSE, correct = TRUE) computes it. It returns 1 when
// either sample is empty or every value is tied.
func MannWhitneyGreater(x, y []float64) float64 {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return 1
	}
	ranks, ties := rank(append(append([]float64(nil), x...), y...))
	// W is the rank sum of y; U counts the pairs (x_i, y_j) with y_j > x_i
	// (ties count ½).
	w := 0.0
	for i := n1; i < n1+n2; i++ {
		w += ranks[i]
	}
	u := w - float64(n2*(n2+1))/2
	if ties == 0 && n1 <= exactMaxN && n2 <= exactMaxN {
		// P(U ≥ u) from the exact distribution.
		dist := uDistribution(n1, n2)
		total, tail := 0.0, 0.0
		for k, c := range dist {
			total += c
			if float64(k) >= u-1e-9 {
				tail += c
			}
		}
		return tail / total
	}
	n := float64(n1 + n2)
	mean := float64(n1) * float64(n2) / 2
	v := float64(n1) * float64(n2) / 12 * ((n + 1) - ties/(n*(n-1)))
	if v <= 0 {
		return 1
	}
	z := (u - mean - 0.5) / math.Sqrt(v)
	return distuv.UnitNormal.Survival(z)
}

// rank returns the midranks (1-based) of xs and Σ(t³ − t) over groups of
// t tied values.
func rank(xs []float64) ([]float64, float64) {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	ranks := make([]float64, len(xs))
	ties := 0.0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // mean of ranks i+1 .. j
		for k := i; k < j; k++ {
			ranks[idx[k]] = r
		}
		if t := float64(j - i); t > 1 {
			ties += t*t*t - t
		}
		i = j
	}
	return ranks, ties
}

// uDistribution returns the number of orderings of m x's and n y's giving
// each value of U (0..mn), U counting the pairs with the y larger, by the
// recurrence c(m, n, u) = c(m, n−1, u−m) + c(m−1, n, u): the largest of
// all values is either a y, larger than all m x's, or an x, smaller than
// no y (Mann & Whitney 1947).
func uDistribution(m, n int) []float64 {
	// f[i][j] is the distribution for i x's and j y's, where U counts
	// pairs with the y larger.
	f := make([][][]float64, m+1)
	for i := range f {
		f[i] = make([][]float64, n+1)
	}
	for i := 0; i <= m; i++ {
		for j := 0; j <= n; j++ {
			d := make([]float64, i*j+1)
			if i == 0 || j == 0 {
				d[0] = 1
				f[i][j] = d
				continue
			}
			// The largest value is a y: it exceeds all i x's (adds i).
			for u, c := range f[i][j-1] {
				d[u+i] += c
			}
			// The largest value is an x: it exceeds no y (adds 0).
			for u, c := range f[i-1][j] {
				d[u] += c
			}
			f[i][j] = d
		}
	}
	return f[m][n]
}

// vanElterenGreater is the one-sided p-value of van Elteren's stratified
// Wilcoxon rank-sum test for "y tends to be larger than x": per stratum s
// the rank sum W_s of y, weighted by 1/(N_s + 1), with its null mean
// n_y(N+1)/2 and tie-corrected variance n_x n_y (N+1)/12 − n_x n_y Σ(t³−t) /
// (12 N (N−1)), combined into a normal deviate.
func vanElterenGreater(xs, ys [][]float64) float64 {
	var t, e, v float64
	for s := range xs {
		x, y := xs[s], ys[s]
		n1, n2 := float64(len(x)), float64(len(y))
		n := n1 + n2
		if n1 == 0 || n2 == 0 {
			continue
		}
		ranks, ties := rank(append(append([]float64(nil), x...), y...))
		w := 0.0
		for i := len(x); i < len(ranks); i++ {
			w += ranks[i]
		}
		wt := 1 / (n + 1)
		t += wt * w
		e += wt * n2 * (n + 1) / 2
		vs := n1 * n2 * (n + 1) / 12
		if n > 1 {
			vs -= n1 * n2 * ties / (12 * n * (n - 1))
		}
		v += wt * wt * vs
	}
	if v <= 0 {
		return 1
	}
	return distuv.UnitNormal.Survival((t - e) / math.Sqrt(v))
}

// signTestGreater is the exact one-sided sign test: P(B ≥ higher) for B
// ~ Binomial(n, ½).
func signTestGreater(higher, n int) float64 {
	if n == 0 {
		return 1
	}
	p := 0.0
	for k := higher; k <= n; k++ {
		p += math.Exp(lchoose(n, k) - float64(n)*math.Ln2)
	}
	return math.Min(1, p)
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// twoProportionP is the one-sided p-value of the two-proportion z test
// (pooled variance) for "the second proportion is larger".
func twoProportionP(e1, n1, e2, n2 float64) float64 {
	if n1 <= 0 || n2 <= 0 {
		return 1
	}
	p1, p2 := e1/n1, e2/n2
	pool := (e1 + e2) / (n1 + n2)
	se := math.Sqrt(pool * (1 - pool) * (1/n1 + 1/n2))
	if se <= 0 {
		return 1
	}
	return distuv.UnitNormal.Survival((p2 - p1) / se)
}
