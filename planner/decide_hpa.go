package planner

import (
	"fmt"
	"math"

	"github.com/headroom-sh/headroom/model"
)

// decideHPA sets the autoscaler: min the pods the target needs, max the
// pods the scaled peak needs, and a CPU target at which a pod still has the
// headroom ratio spare.
func (p *planning) decideHPA() {
	api := p.topo.API
	cur := api.HPA
	p.hpaTarget = 0
	if cur != nil {
		p.hpaTarget = cur.TargetCPUUtilization
	}
	var targetWhy string
	perPodAtLoad := p.capRPS / float64(p.tested.Pods)
	if p.cpuCoresAtLoad > 0 && api.CPURequest > 0 && perPodAtLoad > 0 {
		scaleAt := p.perPod / (1 + p.headroom)
		cores := p.cpuCoresAtLoad * scaleAt / perPodAtLoad
		t := cores / api.CPURequest.Cores()
		t = math.Floor(t*20+eps) / 20
		// The target is relative to the request; with a higher limit a pod
		// may use more than its request, up to hpaTargetMax of the limit.
		maxT := hpaTargetMax
		if api.CPULimit > api.CPURequest {
			maxT = hpaTargetMax * api.CPULimit.Cores() / api.CPURequest.Cores()
		}
		t = math.Min(math.Max(t, hpaTargetMin), math.Floor(maxT*20+eps)/20)
		p.hpaTarget = t
		targetWhy = fmt.Sprintf(" A pod should scale out at %s RPS (its %s RPS ÷ %s, keeping the headroom), where it uses about %s cores, %s of its %s-core request; the target is rounded down to %s.",
			rps(scaleAt), rps(p.perPod), num2(1+p.headroom), num2(cores), pct(cores/api.CPURequest.Cores()), num2(api.CPURequest.Cores()), pct(t))
		if t > 1 && api.CPULimit > 0 {
			targetWhy += fmt.Sprintf(" Above 100%% is allowed because the limit (%s) is above the request: %s of the request is %s of the limit.",
				coresText(api.CPULimit.Cores()), pct(t), pct(t*api.CPURequest.Cores()/api.CPULimit.Cores()))
		}
		if t < 0.4 {
			targetWhy += " CPU is a weak signal here because a pod runs out of something else first; scaling on requests per pod (a custom metric) would track load better."
		}
	} else if p.hpaTarget == 0 {
		p.hpaTarget = 0.70
		targetWhy = " The pods' CPU was not measured, so the CPU target is the common 70%."
	}
	if cur != nil && cur.MinReplicas == p.hpaMin && cur.MaxReplicas == p.hpaMax && math.Abs(cur.TargetCPUUtilization-p.hpaTarget) < 0.005 {
		return
	}
	if cur == nil && p.podsNew == api.Pods && p.hpaMax == api.Pods {
		return // nothing to autoscale for
	}
	what := fmt.Sprintf("Add an HPA: min %d, max %d pods, target CPU %s", p.hpaMin, p.hpaMax, pct(p.hpaTarget))
	from := "none"
	if cur != nil {
		what = fmt.Sprintf("Set the HPA to min %d, max %d pods, target CPU %s", p.hpaMin, p.hpaMax, pct(p.hpaTarget))
		from = fmt.Sprintf("%d–%d @ %s", cur.MinReplicas, cur.MaxReplicas, pct(cur.TargetCPUUtilization))
	}
	podCost := p.podMonthly(api.CPURequest, api.MemoryRequest)
	why := fmt.Sprintf("Min %d carries the target with its headroom; max %d carries the peak scaled the same way (%s RPS × %s = %s RPS).%s",
		p.hpaMin, p.hpaMax, rps(p.targetPeak), ratio1(1+p.headroom), rps(p.targetPeak*(1+p.headroom)), targetWhy)
	if p.hpaMax > p.podsNew {
		why += fmt.Sprintf(" Pods above the minimum cost %s a month each while they run, not counted in the totals.", money(podCost, p.prices.Currency))
	}
	ch := model.PlanChange{
		ID: model.ChangeIDHPA, Kind: model.ChangeConfig, Title: "Autoscaler",
		What: what, From: from, To: fmt.Sprintf("%d–%d @ %s", p.hpaMin, p.hpaMax, pct(p.hpaTarget)),
		Why: why,
		Numbers: map[string]float64{
			"min_replicas": float64(p.hpaMin), "max_replicas": float64(p.hpaMax), "target_cpu_ratio": p.hpaTarget,
		},
	}
	if p.cpuCoresAtLoad == 0 {
		ch.Assumption = true
		ch.AssumptionNote = "The pods' CPU was not measured; the CPU target is a default."
	}
	p.add(ch)
}
