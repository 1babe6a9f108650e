package analyzer

import (
	"math"
	"sort"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// StageRow computes one row of the stage table from a stage's
// observations, in the shape of run.json's rows: quantiles from the classic
// buckets (BucketQuantile, as histogram_quantile does), the mean from the
// histogram's sum and count, RPS and the error rate from the request and
// error counters, and per-endpoint rows likewise. MaxMs is the upper bound
// of the lowest bucket holding every observation (the histogram cannot
// say more). Quantities without samples are 0.
func StageRow(s model.StageObservation) model.StageStats {
	d := s.End.Sub(s.Start)
	row := model.StageStats{
		Name:              s.Name,
		Executor:          s.Executor,
		Start:             s.Start,
		End:               s.End,
		VUs:               int(math.Round(nz(s.VUs))),
		TargetRate:        nz(s.TargetRate),
		DroppedIterations: roundCount(s.Dropped),
	}
	fillLatency(&row.P50Ms, &row.P90Ms, &row.P95Ms, &row.P99Ms, &row.MaxMs, &row.MeanMs, s.Buckets, s.SumSeconds)
	row.Requests, row.Errors = roundCount(s.Requests), roundCount(s.Errors)
	row.RPS = perSecond(s.Requests, d)
	row.ErrorRate = ratio(s.Errors, s.Requests)
	for _, e := range s.Endpoints {
		row.Endpoints = append(row.Endpoints, endpointRow(e.Endpoint, e.Requests, e.Errors, e.SumSeconds, e.Buckets, d))
	}
	sortEndpoints(row.Endpoints)
	return row
}

func endpointRow(name string, requests, errs, sum float64, buckets []model.Bucket, d time.Duration) model.EndpointStats {
	r := model.EndpointStats{
		Endpoint:  name,
		Requests:  roundCount(requests),
		Errors:    roundCount(errs),
		RPS:       perSecond(requests, d),
		ErrorRate: ratio(errs, requests),
	}
	fillLatency(&r.P50Ms, &r.P90Ms, &r.P95Ms, &r.P99Ms, &r.MaxMs, &r.MeanMs, buckets, sum)
	return r
}

// fillLatency writes the quantiles, max and mean in milliseconds.
func fillLatency(p50, p90, p95, p99, maxMs, mean *float64, buckets []model.Bucket, sum float64) {
	ms := func(q float64) float64 { return nz(BucketQuantile(q, buckets) * 1000) }
	*p50, *p90, *p95, *p99 = ms(0.50), ms(0.90), ms(0.95), ms(0.99)
	*maxMs = nz(bucketsMax(buckets) * 1000)
	if c := bucketsCount(buckets); c > 0 {
		*mean = nz(sum / c * 1000)
	}
}

// sortEndpoints orders endpoint rows by name.
func sortEndpoints(rows []model.EndpointStats) {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Endpoint < rows[j].Endpoint })
}

// StageTable computes the stage table of a window: one row per stage, the
// whole window as Total (the stages' buckets added; its endpoints are
// returned apart, as in run.json), and one whole-window row per endpoint. RPS in Total and in the endpoint rows is over the time
// the stages cover.
func StageTable(stages []model.StageObservation) (rows []model.StageStats, total model.StageStats, endpoints []model.EndpointStats) {
	rows = make([]model.StageStats, 0, len(stages))
	var all [][]model.Bucket
	var requests, errs, sum, dropped, covered float64
	type epAcc struct {
		requests, errs, sum float64
		buckets             [][]model.Bucket
	}
	eps := map[string]*epAcc{}
	var order []string
	for _, s := range stages {
		rows = append(rows, StageRow(s))
		if total.Start.IsZero() || s.Start.Before(total.Start) {
			total.Start = s.Start
		}
		if s.End.After(total.End) {
			total.End = s.End
		}
		total.VUs = max(total.VUs, int(math.Round(nz(s.VUs))))
		total.TargetRate = math.Max(total.TargetRate, nz(s.TargetRate))
		requests += nz(s.Requests)
		errs += nz(s.Errors)
		sum += nz(s.SumSeconds)
		dropped += nz(s.Dropped)
		covered += math.Max(0, s.End.Sub(s.Start).Seconds())
		all = append(all, s.Buckets)
		for _, e := range s.Endpoints {
			acc := eps[e.Endpoint]
			if acc == nil {
				acc = &epAcc{}
				eps[e.Endpoint] = acc
				order = append(order, e.Endpoint)
			}
			acc.requests += nz(e.Requests)
			acc.errs += nz(e.Errors)
			acc.sum += nz(e.SumSeconds)
			acc.buckets = append(acc.buckets, e.Buckets)
		}
	}
	d := time.Duration(covered * float64(time.Second))
	total.Name = "Total"
	fillLatency(&total.P50Ms, &total.P90Ms, &total.P95Ms, &total.P99Ms, &total.MaxMs, &total.MeanMs, mergeBuckets(all...), sum)
	total.Requests, total.Errors = roundCount(requests), roundCount(errs)
	total.DroppedIterations = roundCount(dropped)
	total.RPS = perSecond(requests, d)
	total.ErrorRate = ratio(errs, requests)
	for _, name := range order {
		acc := eps[name]
		endpoints = append(endpoints, endpointRow(name, acc.requests, acc.errs, acc.sum, mergeBuckets(acc.buckets...), d))
	}
	sortEndpoints(endpoints)
	return rows, total, endpoints
}

// stageTable fills the analysis' stage table and endpoint rows; the
// endpoints are listed slowest p99 first.
func (a *analysis) stageTable() {
	rows, total, eps := StageTable(a.obs.Stages)
	a.out.Stages, a.out.Total = rows, total
	sorted := append([]model.EndpointStats(nil), eps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].P99Ms > sorted[j].P99Ms })
	a.out.Endpoints = sorted
}

func roundCount(v float64) int64 {
	if !finite(v) || v < 0 {
		return 0
	}
	return int64(math.Round(v))
}

func perSecond(n float64, d time.Duration) float64 {
	if d <= 0 || !finite(n) {
		return 0
	}
	return n / d.Seconds()
}

func ratio(a, b float64) float64 {
	if !(b > 0) || !finite(a) {
		return 0
	}
	return a / b
}
