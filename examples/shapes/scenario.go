package shapes

import (
	"fmt"
	"time"

	"github.com/headroom-sh/headroom/model"
)

// Ramp styles and load models of Scenario.
const (
	Smooth = "smooth" // one linear ramp
	Coarse = "coarse" // six steps, each held
	Closed = "closed" // ramping-vus
	Open   = "open"   // ramping-arrival-rate
)

// DefaultRamp is the length of a shape's ramp.
const DefaultRamp = 60 * time.Second

// DefaultSLOP95 is the p95 latency SLO the shapes are judged by: well above
// every target's latency at light load, well below its latency at the top
// of its ramp (but for slo, where crossing it is the story, and none).
const DefaultSLOP95 = 200 * time.Millisecond

// LoadOptions shapes the load of Scenario.
type LoadOptions struct {
	// Style is Smooth or Coarse; Model is Closed or Open.
	Style, Model string
	// Ramp is how long the load rises (DefaultRamp when zero).
	Ramp time.Duration
	// Capacity is the requests/s the open model's rates are sized against
	// (the target's Capacity by construction when zero).
	Capacity float64
}

// loadPlan is how far a shape's closed-model ramp goes and how long VUs
// think between requests.
type loadPlan struct {
	maxVUs             int
	thinkMin, thinkMax time.Duration
}

// closedPlan takes every shape well past its capacity (none: to a few
// percent of it) with 20–60 ms of think time, so that each VU offers
// about 1 / (service time + 40 ms) requests/s while the target keeps up.
func closedPlan(shape string) loadPlan {
	short := loadPlan{thinkMin: 20 * time.Millisecond, thinkMax: 60 * time.Millisecond}
	switch shape {
	case Pool, Shed:
		short.maxVUs = 60 // 12.5 requests/s per VU: saturates at about 20
	case CPU:
		// Longer think time: about 5 requests/s per VU, so that the
		// 100 requests/s of the quota are reached at about 20 VUs.
		return loadPlan{maxVUs: 48, thinkMin: 100 * time.Millisecond, thinkMax: 300 * time.Millisecond}
	case Redis:
		short.maxVUs = 24 // about 21 per VU: saturates at about 6
	case Retrograde:
		short.maxVUs = 64 // the peak is at about 16 queries in flight
	case SLO:
		short.maxVUs = 72 // about 205 requests/s at the top, p95 ≈ 350 ms
	case Flow:
		short.maxVUs = 36 // 12 iterations/s per VU: saturates at about 10
	case None:
		// Longer think time: about 6 requests/s per VU, 240 at the top.
		return loadPlan{maxVUs: 40, thinkMin: 100 * time.Millisecond, thinkMax: 200 * time.Millisecond}
	}
	return short
}

// OpenModel reports whether the shape has an open-model story: every one
// but retrograde, whose overload under a fixed arrival rate is a collapse
// rather than a breaking point.
func OpenModel(shape string) bool { return shape != Retrograde }

// Scenario is the load test of the shape against target: a closed-model
// ramp of VUs or an open-model ramp of arrival rate, smooth or in six held
// steps, over o.Ramp. The configuration must have its defaults
// (WithDefaults).
func (c Config) Scenario(target string, o LoadOptions) (*model.Scenario, error) {
	shape := c.Shape
	if o.Ramp == 0 {
		o.Ramp = DefaultRamp
	}
	if o.Style == "" {
		o.Style = Smooth
	}
	if o.Model == "" {
		o.Model = Closed
	}
	if o.Style != Smooth && o.Style != Coarse {
		return nil, fmt.Errorf("ramp style %q: expected %s or %s", o.Style, Smooth, Coarse)
	}
	if o.Model != Closed && o.Model != Open {
		return nil, fmt.Errorf("load model %q: expected %s or %s", o.Model, Closed, Open)
	}
	if o.Model == Open && !OpenModel(shape) {
		return nil, fmt.Errorf("the %s shape has no open-model story; use the closed model", shape)
	}
	if o.Ramp < 10*time.Second {
		return nil, fmt.Errorf("ramp %s: expected at least 10s", o.Ramp)
	}
	plan := closedPlan(shape)
	think := &model.Think{Distribution: model.ThinkUniform, Min: model.Duration(plan.thinkMin), Max: model.Duration(plan.thinkMax)}

	var flow model.Flow
	perIteration := 1.0
	if shape == Flow {
		perIteration = 3
		flow = model.Flow{Name: "order", Steps: []model.Step{
			{Method: "GET", Path: "/api/products", Checks: []model.Check{{Name: "products listed", Status: []int{200}}}},
			{Method: "POST", Path: "/api/orders", Body: map[string]any{"sku": "sku-{{vu()}}"},
				Capture: map[string]string{"orderId": "$.id"},
				Checks:  []model.Check{{Name: "order created", Status: []int{201}}}},
			{Method: "GET", Path: "/api/orders/{{orderId}}", Endpoint: "GET /api/orders/{id}",
				Checks: []model.Check{{Name: "order read", Status: []int{200}}}, Think: think},
		}}
	} else {
		flow = model.Flow{Name: "work", Steps: []model.Step{
			{Method: "GET", Path: "/work", Checks: []model.Check{{Name: "served", Status: []int{200}}}, Think: think},
		}}
	}
	if o.Model == Open {
		// Arrival rate has no think time: an iteration is its requests.
		flow.Steps[len(flow.Steps)-1].Think = nil
	}

	ex := model.Executor{Name: shape, GracefulRampDown: model.Duration(2 * time.Second), GracefulStop: model.Duration(5 * time.Second)}
	var top, start float64
	if o.Model == Closed {
		ex.Type = model.ExecutorRampingVUs
		top, start = float64(plan.maxVUs), 1
		ex.StartVUs = 1
	} else {
		capa := o.Capacity
		if capa <= 0 {
			capa = c.Capacity(DefaultSLOP95)
		}
		// From a fifth of capacity to 1.6 times it (none: to 240
		// requests/s, a few percent of its capacity).
		lo, hi := 0.2*capa, 1.6*capa
		if shape == None {
			lo, hi = 40, 240
		}
		ex.Type = model.ExecutorRampingArrivalRate
		start, top = lo/perIteration, hi/perIteration
		ex.StartRate = start
		ex.TimeUnit = model.Duration(time.Second)
		ex.PreAllocatedVUs = 20
		ex.MaxVUs = 150
	}
	if o.Style == Smooth {
		ex.Stages = []model.Stage{{Name: "ramp", Duration: model.Duration(o.Ramp), Target: top}}
	} else {
		// Six levels, each reached in a sixth of the step and then held.
		const steps = 6
		step := o.Ramp / steps
		rise := step / 5
		for i := 1; i <= steps; i++ {
			level := start + (top-start)*float64(i)/steps
			if o.Model == Closed {
				level = float64(int(level + 0.5))
			}
			ex.Stages = append(ex.Stages,
				model.Stage{Name: fmt.Sprintf("step-%d", i), Duration: model.Duration(rise), Target: level},
				model.Stage{Name: fmt.Sprintf("hold-%d", i), Duration: model.Duration(step - rise), Target: level})
		}
	}
	return &model.Scenario{
		Name:      fmt.Sprintf("shape-%s-%s-%s", shape, o.Model, o.Style),
		Target:    target,
		Timeout:   model.Duration(10 * time.Second),
		Flows:     []model.Flow{flow},
		Executors: []model.Executor{ex},
	}, nil
}
