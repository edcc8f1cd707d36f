package web

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor"
)

// Charts are SVG drawn on the server: no script, no chart library, and the
// same picture with script off, in print and in a screenshot. Each function
// builds its SVG from numbers it formats itself and from text it escapes,
// so what it returns is safe to mark as template.HTML. Colours come from
// CSS classes (app.css), so the charts follow the light and dark schemes.

// ChartPoint is one value of a series at a time.
type ChartPoint struct {
	At    time.Time
	Value float64
}

// ChartSeries is one line of a LineChart: the name shown in its tooltips
// and a CSS class that gives it its colour.
type ChartSeries struct {
	Name, Class string
	Points      []ChartPoint
}

// LineChartOptions sizes and labels a LineChart.
type LineChartOptions struct {
	// Width and Height are the drawing's size in SVG units; CSS scales it
	// to its box, so they set the proportions and the text size.
	Width, Height int
	// From and To are the time axis; when either is zero, the data's span.
	From, To time.Time
	// Unit formats the values: "ms" shows milliseconds and seconds.
	Unit string
	// Label is the chart's accessible name, read instead of the lines.
	Label string
}

// svgBuilder writes SVG text. Numbers go through svgNum, text through
// svgText, classes through svgClass: nothing else reaches the output.
type svgBuilder struct{ strings.Builder }

func (b *svgBuilder) printf(format string, args ...any) { fmt.Fprintf(&b.Builder, format, args...) }

// num formats a coordinate: at most one decimal, never NaN or infinite.
func svgNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// text escapes character data and attribute values.
func svgText(s string) string { return template.HTMLEscapeString(s) }

// class keeps only the characters of CSS class names, so a class given by
// a caller cannot break out of its attribute.
func svgClass(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == ' ' {
			return r
		}
		return -1
	}, s)
}

// finite reports whether v can be drawn.
func drawable(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// uptimePercent shows an uptime percentage with two decimals, rounded
// down, so that anything short of every check up never reads "100 %".
func uptimePercent(p float64) string {
	if p >= 100 {
		return "100 %"
	}
	return strconv.FormatFloat(math.Floor(p*100)/100, 'f', 2, 64) + " %"
}

// uptimeClass names the colour of a day (or any span) by its uptime: the
// thresholds are what an operator reads as fine, a blip, and an outage.
func uptimeClass(p *float64) string {
	switch {
	case p == nil:
		return "none"
	case *p >= 99.9:
		return "ok"
	case *p >= 95:
		return "warn"
	}
	return "bad"
}

// UptimeBar draws one bar per day, oldest first, coloured by that day's
// uptime and grey for a day without checks; each bar's tooltip gives the
// day and its percentage. The bars stretch to the width of their box.
func UptimeBar(days []monitor.Uptime) template.HTML {
	const slot, bar, height = 4, 3, 24
	width := max(len(days)*slot-(slot-bar), 1)
	var b svgBuilder
	var checked, worstDay int
	worst := math.Inf(1)
	for i, d := range days {
		if d.Percent != nil {
			checked++
			if *d.Percent < worst {
				worst, worstDay = *d.Percent, i
			}
		}
	}
	label := fmt.Sprintf("Uptime per day over the last %d days: no checks yet", len(days))
	if checked > 0 {
		label = fmt.Sprintf("Uptime per day over the last %d days, %d with checks; lowest %s on %s",
			len(days), checked, uptimePercent(worst), days[worstDay].From.UTC().Format(time.DateOnly))
	}
	b.printf(`<svg class="uptime-bar" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-label="%s">`, width, height, svgText(label))
	for i, d := range days {
		tip := d.From.UTC().Format(time.DateOnly) + ": no data"
		if d.Percent != nil {
			tip = d.From.UTC().Format(time.DateOnly) + ": " + uptimePercent(*d.Percent)
			if d.Down > 0 {
				tip += fmt.Sprintf(" (%d of %d checks failed)", d.Down, d.Total)
			}
		}
		b.printf(`<rect x="%d" y="0" width="%d" height="%d" rx="1" class="ub-%s"><title>%s</title></rect>`,
			i*slot, bar, height, uptimeClass(d.Percent), svgText(tip))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // built from formatted numbers and escaped text only
}

// Sparkline draws average latencies as a small line without axes, for a
// table cell. Points that are not numbers are left out; a gap in time
// breaks the line; one point is a flat line, none a dashed one.
func Sparkline(points []monitor.Point) template.HTML {
	const w, h, pad = 100.0, 24.0, 2.0
	var pts []ChartPoint
	for _, p := range points {
		if drawable(p.AvgMS) && p.AvgMS >= 0 {
			pts = append(pts, ChartPoint{At: p.At, Value: p.AvgMS})
		}
	}
	var b svgBuilder
	if len(pts) == 0 {
		b.printf(`<svg class="spark spark-empty" viewBox="0 0 %s %s" preserveAspectRatio="none" role="img" aria-label="No latency data yet">`, svgNum(w), svgNum(h))
		b.printf(`<line x1="0" y1="%s" x2="%s" y2="%s" vector-effect="non-scaling-stroke"/></svg>`, svgNum(h/2), svgNum(w), svgNum(h/2))
		return template.HTML(b.String()) //nolint:gosec // formatted numbers only
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	for _, p := range pts {
		lo, hi, sum = min(lo, p.Value), max(hi, p.Value), sum+p.Value
	}
	label := fmt.Sprintf("Latency: average %s, highest %s", formatMeasure(sum/float64(len(pts)), "ms"), formatMeasure(hi, "ms"))
	b.printf(`<svg class="spark" viewBox="0 0 %s %s" preserveAspectRatio="none" role="img" aria-label="%s"><title>%s</title>`, svgNum(w), svgNum(h), svgText(label), svgText(label))
	t0, t1 := pts[0].At, pts[len(pts)-1].At
	x := func(t time.Time) float64 {
		if !t1.After(t0) {
			return w / 2
		}
		return float64(t.Sub(t0)) / float64(t1.Sub(t0)) * w
	}
	y := func(v float64) float64 {
		if hi <= lo {
			return h / 2
		}
		return h - pad - (v-lo)/(hi-lo)*(h-2*pad)
	}
	if len(pts) == 1 {
		b.printf(`<polyline points="0,%s %s,%s" vector-effect="non-scaling-stroke"/>`, svgNum(y(pts[0].Value)), svgNum(w), svgNum(y(pts[0].Value)))
	}
	for _, run := range splitAtGaps(pts) {
		if len(run) == 1 && len(pts) > 1 {
			// A lone point between gaps: a short dash, so it is seen.
			cx := x(run[0].At)
			b.printf(`<polyline points="%s,%s %s,%s" vector-effect="non-scaling-stroke"/>`, svgNum(max(cx-1, 0)), svgNum(y(run[0].Value)), svgNum(min(cx+1, w)), svgNum(y(run[0].Value)))
			continue
		}
		if len(run) < 2 {
			continue
		}
		b.WriteString(`<polyline points="`)
		for i, p := range run {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(svgNum(x(p.At)) + "," + svgNum(y(p.Value)))
		}
		b.WriteString(`" vector-effect="non-scaling-stroke"/>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // formatted numbers and escaped text only
}

// splitAtGaps cuts a time-ordered series where the time between two points
// is much longer than the usual step (a paused monitor, a stopped server),
// so a line never bridges a stretch without data.
func splitAtGaps(pts []ChartPoint) [][]ChartPoint {
	if len(pts) < 3 {
		return [][]ChartPoint{pts}
	}
	steps := make([]time.Duration, 0, len(pts)-1)
	for i := 1; i < len(pts); i++ {
		steps = append(steps, pts[i].At.Sub(pts[i-1].At))
	}
	slices.Sort(steps)
	limit := 3 * steps[len(steps)/2]
	var out [][]ChartPoint
	start := 0
	for i := 1; i < len(pts); i++ {
		if pts[i].At.Sub(pts[i-1].At) > limit {
			out = append(out, pts[start:i])
			start = i
		}
	}
	return append(out, pts[start:])
}

// formatMeasure shows a value in its unit: milliseconds below a second and
// seconds above for "ms", the number and the unit otherwise.
func formatMeasure(v float64, unit string) string {
	if unit == "ms" {
		switch {
		case v >= 1000:
			return strconv.FormatFloat(math.Round(v/100)/10, 'f', -1, 64) + " s"
		case v >= 10 || v == 0:
			return strconv.FormatFloat(math.Round(v), 'f', -1, 64) + " ms"
		default:
			return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + " ms"
		}
	}
	s := strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	if unit != "" {
		s += " " + unit
	}
	return s
}

// niceStep rounds a raw axis step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if !(raw > 0) || !drawable(raw) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// timeSteps are the spacings the time axis may use, with their label
// layout.
var timeSteps = []struct {
	d      time.Duration
	layout string
}{
	{time.Minute, "15:04"}, {5 * time.Minute, "15:04"}, {15 * time.Minute, "15:04"}, {30 * time.Minute, "15:04"},
	{time.Hour, "15:04"}, {2 * time.Hour, "15:04"}, {3 * time.Hour, "15:04"}, {6 * time.Hour, "15:04"},
	{12 * time.Hour, "Jan 2 15:04"}, {24 * time.Hour, "Jan 2"}, {2 * 24 * time.Hour, "Jan 2"},
	{7 * 24 * time.Hour, "Jan 2"}, {14 * 24 * time.Hour, "Jan 2"}, {30 * 24 * time.Hour, "Jan 2"},
}

// LineChart draws time series as lines over a value axis from zero, with
// grid lines, labelled axes and, for each slice of time, a tooltip giving
// every series' value there. Series are time-ordered; values that are not
// numbers are skipped, a gap in time breaks a line, a lone point is a dot.
func LineChart(series []ChartSeries, o LineChartOptions) template.HTML {
	if o.Width < 200 {
		o.Width = 200
	}
	if o.Height < 100 {
		o.Height = 100
	}
	const left, right, top, bottom = 58.0, 14.0, 12.0, 26.0
	pw, ph := float64(o.Width)-left-right, float64(o.Height)-top-bottom

	clean := make([]ChartSeries, len(series))
	hi := 0.0
	var t0, t1 time.Time
	hasData := false
	for i, s := range series {
		clean[i] = ChartSeries{Name: s.Name, Class: svgClass(s.Class)}
		for _, p := range s.Points {
			if !drawable(p.Value) || p.At.IsZero() {
				continue
			}
			clean[i].Points = append(clean[i].Points, p)
			hi = max(hi, p.Value)
			if !hasData || p.At.Before(t0) {
				t0 = p.At
			}
			if !hasData || p.At.After(t1) {
				t1 = p.At
			}
			hasData = true
		}
	}
	if !o.From.IsZero() && !o.To.IsZero() && o.To.After(o.From) {
		t0, t1 = o.From, o.To
	}
	if !t1.After(t0) {
		if t0.IsZero() {
			t1 = time.Now().UTC().Truncate(time.Minute)
			t0 = t1.Add(-time.Hour)
		} else {
			t0, t1 = t0.Add(-30*time.Minute), t1.Add(30*time.Minute)
		}
	}
	step := niceStep(hi / 4)
	yMax := math.Max(step*math.Ceil(hi/step), step)
	if hi == 0 {
		yMax = 4 * step
	}
	x := func(t time.Time) float64 { return left + float64(t.Sub(t0))/float64(t1.Sub(t0))*pw }
	y := func(v float64) float64 { return top + ph - v/yMax*ph }

	var b svgBuilder
	label := o.Label
	if label == "" {
		label = "Chart"
	}
	b.printf(`<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, o.Width, o.Height, svgText(label))
	// Value axis: grid lines and labels.
	for v := 0.0; v <= yMax+step/2; v += step {
		b.printf(`<line class="chart-grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, svgNum(left), svgNum(y(v)), svgNum(left+pw), svgNum(y(v)))
		b.printf(`<text class="chart-label" x="%s" y="%s" text-anchor="end">%s</text>`, svgNum(left-8), svgNum(y(v)+4), svgText(formatMeasure(v, o.Unit)))
	}
	// Time axis: ticks on round times, as many as fit.
	maxTicks := max(int(pw/80), 2)
	ts := timeSteps[len(timeSteps)-1]
	for _, c := range timeSteps {
		if int(t1.Sub(t0)/c.d) <= maxTicks {
			ts = c
			break
		}
	}
	b.printf(`<line class="chart-axis" x1="%s" y1="%s" x2="%s" y2="%s"/>`, svgNum(left), svgNum(top+ph), svgNum(left+pw), svgNum(top+ph))
	for t := t0.UTC().Truncate(ts.d); !t.After(t1); t = t.Add(ts.d) {
		if t.Before(t0) {
			continue
		}
		b.printf(`<line class="chart-tick" x1="%s" y1="%s" x2="%s" y2="%s"/>`, svgNum(x(t)), svgNum(top+ph), svgNum(x(t)), svgNum(top+ph+4))
		b.printf(`<text class="chart-label" x="%s" y="%s" text-anchor="middle">%s</text>`, svgNum(x(t)), svgNum(top+ph+18), svgText(t.UTC().Format(ts.layout)))
	}
	if !hasData {
		b.printf(`<text class="chart-empty" x="%s" y="%s" text-anchor="middle">No data in this range yet</text>`, svgNum(left+pw/2), svgNum(top+ph/2))
	}
	// Lines, thinned to about two points per unit of width.
	for _, s := range clean {
		pts := thinSeries(s.Points, t0, t1, int(pw/2))
		for _, run := range splitAtGaps(pts) {
			switch {
			case len(run) == 1:
				b.printf(`<circle class="chart-dot %s" cx="%s" cy="%s" r="2.5"/>`, s.Class, svgNum(x(run[0].At)), svgNum(y(run[0].Value)))
			case len(run) > 1:
				b.printf(`<path class="chart-line %s" d="`, s.Class)
				for i, p := range run {
					cmd := "L"
					if i == 0 {
						cmd = "M"
					}
					b.WriteString(cmd + svgNum(x(p.At)) + " " + svgNum(y(p.Value)))
				}
				b.WriteString(`"/>`)
			}
		}
	}
	// Tooltips: one invisible strip per round slice of time, at most 60.
	if hasData {
		span := 24 * time.Hour
		for _, d := range []time.Duration{5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour} {
			if t1.Sub(t0)/d <= time.Duration(min(int(pw/12), 60)) {
				span = d
				break
			}
		}
		for a := t0.UTC().Truncate(span); a.Before(t1); a = a.Add(span) {
			z := a.Add(span)
			var parts []string
			for _, s := range clean {
				var sum float64
				var c int
				for _, p := range s.Points {
					if !p.At.Before(a) && p.At.Before(z) {
						sum += p.Value
						c++
					}
				}
				if c > 0 {
					parts = append(parts, s.Name+" "+formatMeasure(sum/float64(c), o.Unit))
				}
			}
			if len(parts) == 0 {
				continue
			}
			tip := a.UTC().Format("Jan 2 15:04") + "–" + z.UTC().Format("15:04") + " UTC: " + strings.Join(parts, ", ")
			if span >= 24*time.Hour {
				tip = a.UTC().Format("Jan 2") + ": " + strings.Join(parts, ", ")
			}
			xa, xz := max(x(a), left), min(x(z), left+pw)
			b.printf(`<rect class="chart-hit" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`,
				svgNum(xa), svgNum(top), svgNum(xz-xa), svgNum(ph), svgText(tip))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // formatted numbers and escaped text only
}

// thin averages a series down to at most n points, one per equal slice of
// [t0, t1], so a 30-day chart of minutes stays a small page.
func thinSeries(pts []ChartPoint, t0, t1 time.Time, n int) []ChartPoint {
	if n < 1 || len(pts) <= n {
		return pts
	}
	span := t1.Sub(t0) / time.Duration(n)
	if span <= 0 {
		return pts
	}
	var out []ChartPoint
	var sum float64
	var c int
	var cur time.Time
	first := true
	for _, p := range pts {
		slot := t0.Add(p.At.Sub(t0) / span * span)
		if !first && !slot.Equal(cur) {
			out = append(out, ChartPoint{At: cur.Add(span / 2), Value: sum / float64(c)})
			sum, c = 0, 0
		}
		cur, first = slot, false
		sum += p.Value
		c++
	}
	if c > 0 {
		out = append(out, ChartPoint{At: cur.Add(span / 2), Value: sum / float64(c)})
	}
	return out
}
