package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/headroom-sh/headroom/model"

	"github.com/headroom-sh/headroom/internal/numfmt"
)

// fmtRPS writes a rate in requests/s with the precision it deserves:
// "499", "12.5", "0.75".
func fmtRPS(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return fmtThousands(math.Round(v))
	case a >= 10:
		return numfmt.Round(v, 1)
	}
	return numfmt.Round(v, 2)
}

// fmtCount writes a count that may be fractional (VUs interpolated between
// samples): whole numbers plainly, others with one decimal.
func fmtCount(v float64) string {
	if math.Abs(v) >= 100 || v == math.Trunc(v) {
		return fmtThousands(math.Round(v))
	}
	return numfmt.Round(v, 1)
}

// fmtMs writes milliseconds: "0.98 ms", "48.8 ms", "987 ms", "1.08 s".
func fmtMs(ms float64) string {
	a := math.Abs(ms)
	switch {
	case a == 0:
		return "0 ms"
	case a >= 10000:
		return numfmt.Round(ms/1000, 1) + " s"
	case a >= 1000:
		return numfmt.Round(ms/1000, 2) + " s"
	case a >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	case a >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
}

// fmtPct writes a fraction as a percentage: "25%", "7.2%", "0.35%"; a
// fraction below 1 never prints as 100%.
func fmtPct(f float64) string {
	p := f * 100
	a := math.Abs(p)
	switch {
	case p == 0:
		return "0%"
	case a >= 10:
		s := numfmt.Round(p, 1)
		if f < 1 && s == "100" {
			s = "99.9"
		}
		return s + "%"
	case a >= 1:
		return numfmt.Round(p, 1) + "%"
	}
	return numfmt.Round(p, 2) + "%"
}

// fmtSignedPct writes a ratio with its sign: "+22%", "−5%".
func fmtSignedPct(f float64) string {
	if f < 0 {
		return "−" + fmtPct(-f)
	}
	return "+" + fmtPct(f)
}

// fmtMoney writes an amount of a currency: "$200.02" for USD, "200.02 EUR"
// otherwise; signed adds "+" to amounts above zero.
func fmtMoney(v float64, currency string, signed bool) string {
	sign := ""
	switch {
	case v < 0:
		sign, v = "−", -v
	case signed && v > 0:
		sign = "+"
	}
	cents := math.Round(v * 100)
	n := fmtThousands(math.Floor(cents/100)) + fmt.Sprintf(".%02d", int64(math.Mod(cents, 100)))
	switch strings.ToUpper(currency) {
	case "USD", "":
		return sign + "$" + n
	case "EUR":
		return sign + "€" + n
	case "GBP":
		return sign + "£" + n
	}
	return sign + n + " " + currency
}

// fmtThousands writes a whole number with thousands separators: "1,419".
func fmtThousands(v float64) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', 0, 64)
	var b strings.Builder
	if v < 0 && s != "0" {
		b.WriteString("−")
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// bpLoad writes a breaking point's load: "300 VUs / 499 RPS".
func bpLoad(b *model.BreakingPoint) string {
	switch {
	case b.TargetRate > 0:
		return fmt.Sprintf("%s it/s offered, %s RPS", fmtRPS(b.TargetRate), fmtRPS(b.RPS))
	case b.VUs > 0:
		return fmt.Sprintf("%s VUs / %s RPS", fmtCount(b.VUs), fmtRPS(b.RPS))
	}
	return fmtRPS(b.RPS) + " RPS"
}

// reasonText says what a breaking point's reason means.
func reasonText(reason string) string {
	switch reason {
	case model.ReasonLatencySLO:
		return "p95 latency crossed the SLO"
	case model.ReasonErrorRate:
		return "error rate crossed its limit"
	case model.ReasonThroughputPeak:
		return "throughput peaks (USL)"
	case model.ReasonRetrograde:
		return "throughput fell as load rose"
	case model.ReasonSaturation:
		return "throughput flat while load rose (saturation)"
	}
	return reason
}

// fmtUtil writes an optional utilization.
func fmtUtil(u *float64) string {
	if u == nil {
		return "—"
	}
	return fmtPct(*u)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// bottleneckName is the bottleneck's human name, or what its kind means.
func bottleneckName(b model.Bottleneck) string {
	switch {
	case b.Name != "":
		return b.Name
	case b.Resource == model.BottleneckNone:
		return "none"
	case b.Resource == model.BottleneckUnknown || b.Resource == "":
		return "unknown"
	}
	return b.Resource
}
