package loadgen

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// report assembles run.json from the statistics.
func (r *Runner) report(status string, endMono time.Time, aborted *thresholdRT) *model.Run {
	runDur := endMono.Sub(r.startMono)
	wall := func(off time.Duration) time.Time { return r.startWall.Add(off) }
	stopped := r.isStopping()
	stopAt := time.Duration(r.stopAt.Load())

	run := &model.Run{
		RunID:             r.cfg.RunID,
		Shard:             r.cfg.Shard.String(),
		Scenario:          r.sc.Name,
		Target:            r.sc.Target,
		Status:            status,
		Start:             r.startWall,
		End:               wall(runDur),
		Executors:         r.sc.Executors,
		IntervalMs:        float64(r.cfg.SeriesInterval) / float64(time.Millisecond),
		DroppedIterations: r.nDropped.Load(),
	}

	cells := r.stats.reqCells()
	byStage := map[int][]*reqCell{}
	for _, c := range cells {
		byStage[c.key.stage] = append(byStage[c.key.stage], c)
	}
	checks := r.stats.checkCells()

	stages := make([]*stageRT, 0, len(r.stages))
	for _, s := range r.stages {
		if s.started.Load() {
			stages = append(stages, s)
		}
	}
	sort.SliceStable(stages, func(i, j int) bool { return stages[i].offset < stages[j].offset })
	for _, s := range stages {
		end := s.offset + s.dur
		if stopped && stopAt < end {
			end = stopAt
		}
		if end > runDur {
			end = runDur
		}
		if end < s.offset {
			end = s.offset
		}
		dur := end - s.offset
		row := stageRow(s.name, byStage[s.idx], dur)
		row.Executor = s.exec.name
		row.Start = wall(s.offset)
		row.End = wall(end)
		row.VUs = int(s.maxVUs.Load())
		if s.exec.open {
			row.TargetRate = r.cfg.Shard.Rate(s.target)
		}
		row.Iterations = s.iterations.Load()
		row.DroppedIterations = s.dropped.Load()
		row.DroppedShare = share(s.dropped.Load(), s.scheduled.Load())
		if s.corr != nil {
			row.ScheduleCorrected = correctedView(s.corr)
		}
		for _, c := range checks {
			if c.key.stage == s.idx {
				row.ChecksPassed += c.pass.Load()
				row.ChecksFailed += c.fail.Load()
			}
		}
		row.Endpoints = endpointRows(byStage[s.idx], dur)
		run.Stages = append(run.Stages, row)
	}

	total := stageRow("Total", cells, runDur)
	total.Start = run.Start
	total.End = run.End
	total.VUs = int(r.maxVUs.Load())
	total.Iterations = r.nIter.Load()
	total.DroppedIterations = r.nDropped.Load()
	var scheduled int64
	var corr *corrHist
	for _, s := range r.stages {
		scheduled += s.scheduled.Load()
		if s.corr != nil {
			if corr == nil {
				corr = newCorrHist()
			}
			s.corr.mu.Lock()
			corr.h.Merge(s.corr.h)
			corr.estimated += s.corr.estimated
			s.corr.mu.Unlock()
		}
	}
	total.DroppedShare = share(total.DroppedIterations, scheduled)
	run.DroppedShare = total.DroppedShare
	if corr != nil {
		total.ScheduleCorrected = correctedView(corr)
	}
	for _, c := range checks {
		total.ChecksPassed += c.pass.Load()
		total.ChecksFailed += c.fail.Load()
	}
	run.Total = total
	run.Endpoints = endpointRows(cells, runDur)
	if run.Stages == nil {
		run.Stages = []model.StageStats{}
	}
	if run.Endpoints == nil {
		run.Endpoints = []model.EndpointStats{}
	}

	r.seriesMu.Lock()
	run.Series = append([]model.SeriesPoint{}, r.series...)
	r.seriesMu.Unlock()

	byName := map[string]*model.CheckStats{}
	var names []string
	for _, c := range checks {
		cs, ok := byName[c.key.check]
		if !ok {
			cs = &model.CheckStats{Name: c.key.check}
			byName[c.key.check] = cs
			names = append(names, c.key.check)
		}
		cs.Passes += c.pass.Load()
		cs.Fails += c.fail.Load()
	}
	sort.Strings(names)
	for _, n := range names {
		run.Checks = append(run.Checks, *byName[n])
	}

	run.Thresholds = r.evalThresholds(runDur, aborted)
	run.Warnings = r.warnings(run)

	var lag *agg
	for _, e := range r.execs {
		if e.lag == nil {
			continue
		}
		if lag == nil {
			lag = newAgg()
		}
		e.lag.mu.Lock()
		lag.h.Merge(e.lag.h)
		e.lag.mu.Unlock()
	}
	if lag != nil && lag.h.TotalCount() > 0 {
		run.SchedulingLag = &model.LagStats{
			P50Ms:      lag.quantileMs(0.50),
			P99Ms:      lag.quantileMs(0.99),
			MaxMs:      lag.maxMs(),
			Iterations: lag.h.TotalCount(),
		}
	}
	return run
}

// stageRow summarises cells over a duration.
func stageRow(name string, cells []*reqCell, dur time.Duration) model.StageStats {
	a := newAgg()
	status := map[string]int64{}
	for _, c := range cells {
		a.addReq(c)
		status[statusLabel(c.key.status)] += c.n
	}
	row := model.StageStats{
		Name:      name,
		RPS:       perSec(a.n, dur),
		P50Ms:     a.quantileMs(0.50),
		P90Ms:     a.quantileMs(0.90),
		P95Ms:     a.quantileMs(0.95),
		P99Ms:     a.quantileMs(0.99),
		MaxMs:     a.maxMs(),
		MeanMs:    a.meanMs(),
		ErrorRate: a.errorRate(),
		Requests:  a.n,
		Errors:    a.errs,
	}
	if len(status) > 0 {
		row.Status = status
	}
	return row
}

// endpointRows summarises cells per endpoint, sorted by endpoint.
func endpointRows(cells []*reqCell, dur time.Duration) []model.EndpointStats {
	group := map[string][]*reqCell{}
	var names []string
	for _, c := range cells {
		if _, ok := group[c.key.endpoint]; !ok {
			names = append(names, c.key.endpoint)
		}
		group[c.key.endpoint] = append(group[c.key.endpoint], c)
	}
	sort.Strings(names)
	out := make([]model.EndpointStats, 0, len(names))
	for _, n := range names {
		s := stageRow(n, group[n], dur)
		out = append(out, model.EndpointStats{
			Endpoint:  n,
			Requests:  s.Requests,
			Errors:    s.Errors,
			RPS:       s.RPS,
			P50Ms:     s.P50Ms,
			P90Ms:     s.P90Ms,
			P95Ms:     s.P95Ms,
			P99Ms:     s.P99Ms,
			MaxMs:     s.MaxMs,
			MeanMs:    s.MeanMs,
			ErrorRate: s.ErrorRate,
			Status:    s.Status,
		})
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// share is part / whole, 0 when whole is.
func share(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(part) / float64(whole)
}

// correctedView summarises a schedule-corrected histogram.
func correctedView(c *corrHist) *model.CorrectedLatency {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h.TotalCount() == 0 {
		return nil
	}
	q := func(p float64) float64 { return usToMs(c.h.ValueAtQuantile(p)) }
	return &model.CorrectedLatency{
		P50Ms:     q(50),
		P90Ms:     q(90),
		P95Ms:     q(95),
		P99Ms:     q(99),
		MaxMs:     usToMs(c.h.Max()),
		Requests:  c.h.TotalCount(),
		Estimated: c.estimated,
	}
}

// warnings says what makes the run's figures less than they seem.
func (r *Runner) warnings(run *model.Run) []string {
	var out []string
	if run.Unreachable() {
		out = append(out, fmt.Sprintf("not one of the %d requests got an HTTP response (%s): is the target %s up and listening?",
			run.Total.Requests, r.topError(), r.sc.Target))
	}
	if run.DroppedIterations > 0 {
		msg := fmt.Sprintf("%d of %d scheduled iterations (%s) were dropped because every VU up to the cap was busy: "+
			"the latency figures describe only the load that ran",
			run.DroppedIterations, r.scheduledTotal(), pct(run.DroppedShare))
		if c := run.Total.ScheduleCorrected; c != nil {
			msg += fmt.Sprintf("; had every iteration been served on schedule (schedule-corrected), p50 would be %s and p99 %s", fmtMs(c.P50Ms), fmtMs(c.P99Ms))
		}
		if need, cap := r.neededVUs(); need > cap {
			msg += fmt.Sprintf("; keeping the schedule needs at least %d VUs (Little's law: the peak arrival rate × %s per iteration at the latency seen; more if the target slows further), the cap is %d: raise maxVUs (--max-vus %d)",
				need, r.busiestMeanBusy().Round(time.Millisecond), cap, need)
		}
		out = append(out, msg)
	}
	for _, t := range run.Thresholds {
		if t.Default && !t.Passed {
			out = append(out, fmt.Sprintf("the run fails because more than %s of its scheduled iterations were dropped; "+
				"allow more with --max-dropped-share (or a dropped_iterations threshold in the scenario)", pct(max(r.cfg.MaxDroppedShare, 0))))
		}
	}
	return out
}

// neededVUs is, by Little's law (VUs in use = arrival rate × time busy per
// iteration), how many VUs the open-model executors need at their peak
// rate for the whole scenario, and their cap.
func (r *Runner) neededVUs() (need, cap int) {
	for _, e := range r.execs {
		if !e.open {
			continue
		}
		cap += e.maxWholeVUs
		need += int(math.Ceil(e.peakRate * e.meanBusy().Seconds()))
	}
	return need, cap
}

// busiestMeanBusy is the longest mean busy time per iteration among the
// open-model executors.
func (r *Runner) busiestMeanBusy() time.Duration {
	var d time.Duration
	for _, e := range r.execs {
		if e.open {
			d = max(d, e.meanBusy())
		}
	}
	return d
}

// topError is the most frequent failure message.
func (r *Runner) topError() string {
	best, n := "", int64(0)
	for msg, c := range r.Errors() {
		if c > n || c == n && msg < best {
			best, n = msg, c
		}
	}
	return best
}

func pct(f float64) string { return strconv.FormatFloat(f*100, 'g', 3, 64) + "%" }

// scheduledTotal counts the iterations the open-model schedules asked for.
func (r *Runner) scheduledTotal() int64 {
	var n int64
	for _, s := range r.stages {
		n += s.scheduled.Load()
	}
	return n
}

func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
