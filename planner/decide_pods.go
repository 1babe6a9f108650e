package planner

import (
	"fmt"
	"math"

	"github.com/headroom-sh/headroom/model"
)

// decidePods sizes the pods for the required rate at the per-pod capacity.
func (p *planning) decidePods() {
	api := p.topo.API
	need := int(math.Ceil(p.required/p.perPod - eps))
	p.podsNew = max(api.Pods, need)
	p.hpaMin = p.podsNew
	p.hpaMax = max(p.podsNew, int(math.Ceil(p.targetPeak*(1+p.headroom)/p.perPod-eps)))
	if api.HPA != nil {
		p.hpaMax = max(p.hpaMax, api.HPA.MaxReplicas)
		p.hpaMin = max(p.hpaMin, api.HPA.MinReplicas)
	}
	if p.podsNew <= api.Pods {
		return
	}
	podCost := p.podMonthly(api.CPURequest, api.MemoryRequest)
	add := p.podsNew - api.Pods
	why := fmt.Sprintf("A pod carries %s RPS (%s); %s RPS (%s RPS × %s headroom) needs %s ÷ %s = %s → %d pods.",
		rps(p.perPod), p.perPodWhy(), rps(p.required), rps(p.target), ratio1(1+p.headroom),
		rps(p.required), rps(p.perPod), num2(p.required/p.perPod), p.podsNew)
	ch := model.PlanChange{
		ID: model.ChangeIDPods, Kind: model.ChangeHorizontal, Title: "API pods",
		What: fmt.Sprintf("Scale the API from %d to %d pods", api.Pods, p.podsNew),
		From: fmt.Sprint(api.Pods), To: fmt.Sprint(p.podsNew),
		Why: why + fmt.Sprintf(" Each pod costs %s a month (%s of one %s).",
			money(podCost, p.prices.Currency), pct(podShare(api.CPURequest, api.MemoryRequest, p.priceOf(model.PriceCompute, api.InstanceType, ""))), api.InstanceType),
		Numbers: map[string]float64{
			"per_pod_rps": p.perPod, "required_rps": p.required, "pods_before": float64(api.Pods), "pods_after": float64(p.podsNew),
			"pod_monthly": podCost,
		},
		MonthlyCostDelta: float64(add) * podCost,
	}
	if p.perPodSource != "measured" {
		ch.Assumption = true
		ch.AssumptionNote = "Per-pod capacity is extrapolated, not measured."
	} else if p.capSource == "tested_up_to" {
		ch.Assumption = true
		ch.AssumptionNote = "Nothing broke in the test: per-pod capacity is a lower bound, so this is the most pods needed."
	}
	p.add(ch)
}

func (p *planning) perPodWhy() string {
	switch p.perPodSource {
	case "cpu_extrapolated":
		return fmt.Sprintf("extrapolated from its CPU, %s at %s RPS per pod", pct(p.cpuAtLoad), rps(p.capRPS/float64(p.tested.Pods)))
	case "usl_extrapolated":
		return fmt.Sprintf("the USL peak %s RPS ÷ %d tested pod%s", rps(p.capRPS), p.tested.Pods, plural(p.tested.Pods))
	}
	what := "the breaking point"
	switch p.capSource {
	case "tested_up_to":
		what = "the highest tested load"
	case "stage_table":
		what = "the last stage within the SLO"
	}
	return fmt.Sprintf("%s %s RPS ÷ %d tested pod%s", what, rps(p.capRPS), p.tested.Pods, plural(p.tested.Pods))
}

func (p *planning) priceOf(kind, name, engine string) model.PriceEntry {
	e, _ := p.prices.Find(kind, name, engine)
	return e
}
