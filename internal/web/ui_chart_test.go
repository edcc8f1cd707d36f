package web

import (
	"encoding/xml"
	"errors"
	"html/template"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/monitor"
)

// svgStats decodes an SVG with encoding/xml, failing the test when it is
// not well-formed, and counts its elements by name and collects its texts.
type svgStats struct {
	count map[string]int
	texts []string
	attrs []string
}

func parseSVG(t *testing.T, h template.HTML) svgStats {
	t.Helper()
	st := svgStats{count: map[string]int{}}
	d := xml.NewDecoder(strings.NewReader(string(h)))
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, h)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if depth == 0 && tk.Name.Local != "svg" {
				t.Fatalf("root is %s, not svg", tk.Name.Local)
			}
			depth++
			st.count[tk.Name.Local]++
			for _, a := range tk.Attr {
				st.attrs = append(st.attrs, a.Value)
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if s := strings.TrimSpace(string(tk)); s != "" {
				st.texts = append(st.texts, s)
			}
		}
	}
	if depth != 0 || st.count["svg"] != 1 {
		t.Fatalf("unbalanced or not one svg: %v", st.count)
	}
	for _, a := range st.attrs {
		if strings.Contains(a, "NaN") || strings.Contains(a, "Inf") {
			t.Fatalf("attribute %q holds a non-number", a)
		}
	}
	return st
}

func pct(v float64) *float64 { return &v }

func days(n int, now time.Time, fill func(i int) *float64) []monitor.Uptime {
	start := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(n - 1))
	out := make([]monitor.Uptime, n)
	for i := range out {
		out[i].From = start.AddDate(0, 0, i)
		out[i].To = out[i].From.AddDate(0, 0, 1)
		out[i].Percent = fill(i)
		if out[i].Percent != nil {
			out[i].Total = 1440
			out[i].Down = int64(math.Round((100 - *out[i].Percent) * 14.4))
		}
	}
	return out
}

func TestUptimeBar(t *testing.T) {
	now := time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)
	t.Run("90 days", func(t *testing.T) {
		ds := days(90, now, func(i int) *float64 {
			switch {
			case i < 30:
				return nil
			case i == 89:
				return pct(99.9305)
			case i == 60:
				return pct(50)
			case i == 61:
				return pct(97)
			}
			return pct(100)
		})
		h := UptimeBar(ds)
		st := parseSVG(t, h)
		if st.count["rect"] != 90 || st.count["title"] != 90 {
			t.Fatalf("%d rects, %d titles, want 90 each", st.count["rect"], st.count["title"])
		}
		s := string(h)
		for _, want := range []string{"<title>2026-11-20: 99.93 % (1 of 1440 checks failed)</title>", "<title>2026-08-23: no data</title>", "<title>2026-10-21: 100 %</title>"} {
			if !strings.Contains(s, want) {
				t.Errorf("bar lacks %q", want)
			}
		}
		for _, c := range []string{"ub-none", "ub-ok", "ub-warn", "ub-bad"} {
			if !strings.Contains(s, `class="`+c+`"`) {
				t.Errorf("no day coloured %s", c)
			}
		}
		if strings.Count(s, `class="ub-none"`) != 30 || strings.Count(s, `class="ub-bad"`) != 1 || strings.Count(s, `class="ub-warn"`) != 1 {
			t.Error("days coloured wrongly")
		}
		if !strings.Contains(s, `aria-label="Uptime per day over the last 90 days, 60 with checks; lowest 50.00 % on 2026-10-22"`) {
			t.Errorf("accessible name: %s", s[:300])
		}
	})
	t.Run("empty", func(t *testing.T) {
		st := parseSVG(t, UptimeBar(nil))
		if st.count["rect"] != 0 {
			t.Fatal("rects without days")
		}
	})
	t.Run("one day", func(t *testing.T) {
		st := parseSVG(t, UptimeBar(days(1, now, func(int) *float64 { return pct(99.999) })))
		if st.count["rect"] != 1 || st.texts[0] != "2026-11-20: 99.99 % (0 of 1440 checks failed)" && st.texts[0] != "2026-11-20: 99.99 %" {
			t.Fatalf("%v %v", st.count, st.texts)
		}
	})
}

func TestFormatPercent(t *testing.T) {
	for in, want := range map[float64]string{100: "100 %", 99.999: "99.99 %", 99.93: "99.93 %", 0: "0.00 %", 50.5: "50.50 %"} {
		if got := uptimePercent(in); got != want {
			t.Errorf("uptimePercent(%v) = %q, want %q", in, got, want)
		}
	}
}

func latencyPoints(n int, step time.Duration, v func(i int) float64) []monitor.Point {
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	out := make([]monitor.Point, n)
	for i := range out {
		out[i] = monitor.Point{At: start.Add(time.Duration(i) * step), Count: 60, AvgMS: v(i), P95MS: v(i) * 2}
	}
	return out
}

func TestSparkline(t *testing.T) {
	t.Run("24 hours", func(t *testing.T) {
		st := parseSVG(t, Sparkline(latencyPoints(24, time.Hour, func(i int) float64 { return float64(10 + i) })))
		if st.count["polyline"] != 1 {
			t.Fatalf("%v", st.count)
		}
		pts := strings.Fields(st.attrs[len(st.attrs)-2])
		if len(pts) != 24 {
			t.Fatalf("%d points in the line, want 24", len(pts))
		}
	})
	t.Run("gap breaks the line", func(t *testing.T) {
		ps := latencyPoints(24, time.Hour, func(int) float64 { return 5 })
		ps = append(ps[:5], ps[15:]...)
		st := parseSVG(t, Sparkline(ps))
		if st.count["polyline"] != 2 {
			t.Fatalf("%d lines, want 2", st.count["polyline"])
		}
	})
	t.Run("empty", func(t *testing.T) {
		st := parseSVG(t, Sparkline(nil))
		if st.count["polyline"] != 0 || st.count["line"] != 1 {
			t.Fatalf("%v", st.count)
		}
	})
	t.Run("one point", func(t *testing.T) {
		st := parseSVG(t, Sparkline(latencyPoints(1, time.Hour, func(int) float64 { return 42 })))
		if st.count["polyline"] != 1 {
			t.Fatalf("%v", st.count)
		}
	})
	t.Run("NaN and infinities are left out", func(t *testing.T) {
		st := parseSVG(t, Sparkline(latencyPoints(6, time.Hour, func(i int) float64 {
			switch i {
			case 1:
				return math.NaN()
			case 2:
				return math.Inf(1)
			}
			return 3
		})))
		if st.count["polyline"] == 0 {
			t.Fatal("no line")
		}
	})
	t.Run("all NaN", func(t *testing.T) {
		st := parseSVG(t, Sparkline(latencyPoints(3, time.Hour, func(int) float64 { return math.NaN() })))
		if st.count["polyline"] != 0 {
			t.Fatal("a line of nothing")
		}
	})
}

func TestLineChart(t *testing.T) {
	from := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	opts := LineChartOptions{Width: 720, Height: 240, From: from, To: to, Unit: "ms", Label: `Latency <"quoted">`}
	series := func(n int, v func(i int) float64) []ChartSeries {
		var avg, p95 []ChartPoint
		for i := range n {
			at := from.Add(time.Duration(i) * time.Minute)
			avg = append(avg, ChartPoint{at, v(i)})
			p95 = append(p95, ChartPoint{at, v(i) * 1.5})
		}
		return []ChartSeries{{Name: "average", Class: "s-avg", Points: avg}, {Name: "p95", Class: `s-p95" onload="x`, Points: p95}}
	}
	t.Run("a day of minutes", func(t *testing.T) {
		h := LineChart(series(1440, func(i int) float64 { return 100 + float64(i%60) }), opts)
		st := parseSVG(t, h)
		if st.count["path"] != 2 {
			t.Fatalf("%d lines, want 2", st.count["path"])
		}
		// Value labels from 0 to at least the highest value (238.5 ms).
		joined := strings.Join(st.texts, "|")
		for _, want := range []string{"0 ms", "300 ms", "00:00", "12:00", "Nov 20 12:00–12:30 UTC: average"} {
			if !strings.Contains(joined, want) {
				t.Errorf("axes lack %q: %s", want, joined)
			}
		}
		if st.count["text"] < 8 {
			t.Errorf("only %d labels", st.count["text"])
		}
		if st.count["title"] == 0 || st.count["title"] > 60 {
			t.Errorf("%d tooltips", st.count["title"])
		}
		if !strings.Contains(string(h), `aria-label="Latency &lt;&#34;quoted&#34;&gt;"`) {
			t.Error("label not escaped")
		}
		if strings.Contains(string(h), `onload="`) {
			t.Error("a class broke out of its attribute")
		}
		// Thinned to about two points per unit of width.
		if d := strings.Count(string(h), "L"); d > 2*720 {
			t.Errorf("%d segments: not thinned", d)
		}
	})
	t.Run("empty", func(t *testing.T) {
		st := parseSVG(t, LineChart(nil, opts))
		if st.count["path"] != 0 || !strings.Contains(strings.Join(st.texts, "|"), "No data in this range yet") {
			t.Fatalf("%v %v", st.count, st.texts)
		}
	})
	t.Run("one point", func(t *testing.T) {
		st := parseSVG(t, LineChart(series(1, func(int) float64 { return 12 }), opts))
		if st.count["circle"] != 2 || st.count["path"] != 0 {
			t.Fatalf("%v", st.count)
		}
	})
	t.Run("NaN, infinity and no time range", func(t *testing.T) {
		o := opts
		o.From, o.To = time.Time{}, time.Time{}
		st := parseSVG(t, LineChart(series(10, func(i int) float64 {
			if i%2 == 0 {
				return math.NaN()
			}
			return math.Inf(1) * float64(i%3-1)
		}), o))
		if st.count["svg"] != 1 {
			t.Fatal("no chart")
		}
	})
	t.Run("all zero", func(t *testing.T) {
		st := parseSVG(t, LineChart(series(30, func(int) float64 { return 0 }), opts))
		if st.count["path"] != 2 {
			t.Fatalf("%v", st.count)
		}
	})
	t.Run("thirty days of hours", func(t *testing.T) {
		o := opts
		o.From = to.Add(-30 * 24 * time.Hour)
		var pts []ChartPoint
		for i := range 720 {
			pts = append(pts, ChartPoint{o.From.Add(time.Duration(i) * time.Hour), 2500})
		}
		st := parseSVG(t, LineChart([]ChartSeries{{Name: "average", Class: "s-avg", Points: pts}}, o))
		joined := strings.Join(st.texts, "|")
		if !strings.Contains(joined, "3 s") || !strings.Contains(joined, "Nov") && !strings.Contains(joined, "Oct") {
			t.Errorf("labels %s", joined)
		}
	})
}

func TestNiceStepAndValues(t *testing.T) {
	for raw, want := range map[float64]float64{0.3: 0.5, 1: 1, 1.2: 2, 3: 5, 7: 10, 40: 50, 0: 1, -2: 1} {
		if got := niceStep(raw); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", raw, got, want)
		}
	}
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{{0, "ms", "0 ms"}, {2.345, "ms", "2.3 ms"}, {250, "ms", "250 ms"}, {1500, "ms", "1.5 s"}, {3, "", "3"}, {7.5, "%", "7.5 %"}} {
		if got := formatMeasure(c.v, c.unit); got != c.want {
			t.Errorf("formatMeasure(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}
