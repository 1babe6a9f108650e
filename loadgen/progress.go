package loadgen

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"
)

// LiveStats is the state of a running load test: for progress lines and
// for a service that shows runs in flight.
type LiveStats struct {
	// Stage is the most recently started stage.
	Stage string
	// Elapsed is the time since the run started; Total is its planned
	// length (without graceful stops).
	Elapsed, Total time.Duration
	// VUs is the number of active VUs.
	VUs int
	// TargetRate is the open-model target arrival rate in iterations/s.
	TargetRate float64
	// RPS, P95Ms and ErrorRate cover the last few seconds.
	RPS       float64
	P95Ms     float64
	ErrorRate float64
	// Requests, Errors, Iterations and Dropped count the whole run so far.
	Requests, Errors, Iterations, Dropped int64
	// DroppedRate is iterations dropped per second over the last few
	// seconds; DroppedShare the share of scheduled iterations dropped so
	// far.
	DroppedRate, DroppedShare float64
	// VUCap is the open-model executors' VU cap (this shard's); CapBound
	// is true when iterations were dropped over the last few seconds
	// because every VU was busy, and NeededVUs is then how many VUs the
	// current arrival rate needs by Little's law (rate × the time a VU is
	// busy per iteration, the longer of the recent mean and the oldest
	// request in flight), for the whole scenario: the least --max-vus to
	// give.
	VUCap     int
	CapBound  bool
	NeededVUs int
	// InFlight counts requests sent and not yet answered; Overdue those in
	// flight for longer than OverdueAfter (the longer of 1 s and four
	// times the recent p99), and Oldest is the age of the oldest.
	InFlight, Overdue int
	OverdueAfter      time.Duration
	Oldest            time.Duration
	// Running is true from the start of Run until it returns.
	Running bool
}

// Live returns the current state of the run. It is safe to call from any
// goroutine at any time.
func (r *Runner) Live() LiveStats {
	ls := LiveStats{Total: r.totalDur}
	if !r.ready.Load() {
		return ls
	}
	w := r.win.live()
	ls.Running = !r.done.Load()
	ls.Stage = r.currentStageName()
	ls.Elapsed = r.elapsed()
	ls.VUs = int(r.totalVUs.Load())
	ls.TargetRate = r.currentRate()
	ls.RPS = w.rps()
	ls.P95Ms = w.quantileMs(0.95)
	ls.ErrorRate = w.errorRate()
	ls.Requests = r.nReq.Load()
	ls.Errors = r.nErr.Load()
	ls.Iterations = r.nIter.Load()
	ls.Dropped = r.nDropped.Load()
	ls.DroppedShare = share(ls.Dropped, r.scheduledTotal())
	if w.dur > 0 {
		ls.DroppedRate = float64(w.dropped) / w.dur.Seconds()
	}
	for _, e := range r.execs {
		if e.open {
			ls.VUCap += e.maxVUs
		}
	}
	ls.OverdueAfter = max(time.Second, time.Duration(4*w.quantileMs(0.99)*float64(time.Millisecond)))
	now := int64(ls.Elapsed)
	r.vusMu.Lock()
	for _, v := range r.allVUs {
		at := v.sentAt.Load()
		if at == 0 {
			continue
		}
		age := time.Duration(now - at)
		ls.InFlight++
		if age > ls.OverdueAfter {
			ls.Overdue++
		}
		ls.Oldest = max(ls.Oldest, age)
	}
	r.vusMu.Unlock()
	if w.dropped > 0 && ls.TargetRate > 0 {
		// Little's law: VUs in use = arrival rate × time a VU is busy per
		// iteration. While the queue grows, iterations that just completed
		// started when it was shorter; the oldest request in flight is
		// nearer to what an iteration takes now.
		var busy time.Duration
		if w.busyN > 0 {
			busy = time.Duration(w.busyUs/w.busyN) * time.Microsecond
		}
		busy = max(busy, ls.Oldest)
		ls.CapBound = true
		ls.NeededVUs = int(math.Ceil(ls.TargetRate * busy.Seconds() * float64(r.cfg.Shard.count())))
	}
	return ls
}

// FormatLive renders a progress line:
// "stage-2  1m05s/5m00s  vus 50  rps 1234.5  p95 52.3ms  errors 0.12%".
func FormatLive(ls LiveStats) string {
	stage := ls.Stage
	if stage == "" {
		stage = "starting"
	}
	s := fmt.Sprintf("%s  %s/%s  vus %d  rps %.1f  p95 %s  errors %.2f%%",
		stage, clock(ls.Elapsed), clock(ls.Total), ls.VUs, ls.RPS, fmtMs(ls.P95Ms), ls.ErrorRate*100)
	if ls.TargetRate > 0 {
		s += fmt.Sprintf("  target %.1f it/s", ls.TargetRate)
	}
	if ls.Dropped > 0 {
		s += fmt.Sprintf("  dropped %.1f/s (%d, %.1f%% of scheduled)", ls.DroppedRate, ls.Dropped, ls.DroppedShare*100)
	}
	if ls.CapBound {
		s += fmt.Sprintf("  VU cap %d reached", ls.VUCap)
		if ls.NeededVUs > 0 {
			s += fmt.Sprintf(": needs --max-vus ≥ %d", ls.NeededVUs)
		}
	}
	if ls.Overdue > 0 {
		s += fmt.Sprintf("  overdue %d of %d in flight (> %s, oldest %s)", ls.Overdue, ls.InFlight,
			ls.OverdueAfter.Round(100*time.Millisecond), ls.Oldest.Round(100*time.Millisecond))
	}
	return s
}

func clock(d time.Duration) string {
	d = d.Truncate(time.Second)
	m := int(d / time.Minute)
	sec := int((d % time.Minute) / time.Second)
	return fmt.Sprintf("%dm%02ds", m, sec)
}

func fmtMs(ms float64) string {
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fms", ms)
	}
}

// progressLoop writes progress: a line redrawn in place on a TTY, a plain
// line every ProgressInterval otherwise.
func (r *Runner) progressLoop(ctx context.Context) {
	every := r.cfg.ProgressInterval
	if r.cfg.ProgressTTY {
		every = 250 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			writeProgress(r.cfg.Progress, r.cfg.ProgressTTY, FormatLive(r.Live()))
		}
	}
}

func writeProgress(w io.Writer, tty bool, line string) {
	if tty {
		fmt.Fprint(w, "\r\033[K"+line)
		return
	}
	fmt.Fprintln(w, line)
}
