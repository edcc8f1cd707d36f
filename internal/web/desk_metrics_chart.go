package web

import (
	"html/template"
	"time"

	"github.com/opsdeck/opsdeck/internal/servicedesk"
)

// metricsCharts draws the metrics page's three charts over the periods:
// tickets opened and resolved; mean hours to first response and to
// resolution; SLA compliance, first-contact resolution and CSAT response
// rate in percent.
func metricsCharts(m servicedesk.Metrics) (volume, times, percents template.HTML) {
	half := 12 * time.Hour
	switch m.Period {
	case servicedesk.PeriodWeek:
		half = 84 * time.Hour
	case servicedesk.PeriodMonth:
		half = 15 * 24 * time.Hour
	}
	opened := ChartSeries{Name: "Opened", Class: "series-avg"}
	resolved := ChartSeries{Name: "Resolved", Class: "series-p95"}
	resp := ChartSeries{Name: "First response", Class: "series-avg"}
	res := ChartSeries{Name: "Resolution", Class: "series-p95"}
	respSLA := ChartSeries{Name: "First response SLA met", Class: "series-avg"}
	resSLA := ChartSeries{Name: "Resolution SLA met", Class: "series-p95"}
	fcr := ChartSeries{Name: "First-contact resolution", Class: "series-fcr"}
	for _, p := range m.ByPeriod {
		start, err := time.Parse(time.DateOnly, p.Key)
		if err != nil {
			continue
		}
		at := start.Add(half)
		opened.Points = append(opened.Points, ChartPoint{At: at, Value: float64(p.Tickets)})
		resolved.Points = append(resolved.Points, ChartPoint{At: at, Value: float64(p.Resolved)})
		for _, x := range []struct {
			v *float64
			s *ChartSeries
			k float64
		}{{p.ResponseAvgSeconds, &resp, 3600}, {p.ResolutionAvgSeconds, &res, 3600}, {p.ResponseCompliance, &respSLA, 1},
			{p.ResolutionCompliance, &resSLA, 1}, {p.FirstContactRate, &fcr, 1}} {
			if x.v != nil {
				x.s.Points = append(x.s.Points, ChartPoint{At: at, Value: *x.v / x.k})
			}
		}
	}
	// Hours, or minutes when every mean is under two hours.
	unit, per := "h", 1.0
	if maxValue(resp, res) < 2 {
		unit, per = "min", 60
	}
	for _, sr := range []*ChartSeries{&resp, &res} {
		for i := range sr.Points {
			sr.Points[i].Value *= per
		}
	}
	o := LineChartOptions{Width: 720, Height: 200, From: m.From, To: m.To}
	o.Label = "Tickets opened and resolved per " + string(m.Period)
	volume = LineChart([]ChartSeries{opened, resolved}, o)
	o.Label, o.Unit = "Mean business time ("+unit+") to first response and to resolution per "+string(m.Period), unit
	times = LineChart([]ChartSeries{resp, res}, o)
	o.Label, o.Unit = "SLA compliance and first-contact resolution in percent per "+string(m.Period), "%"
	percents = LineChart([]ChartSeries{respSLA, resSLA, fcr}, o)
	return volume, times, percents
}

// maxValue is the largest value of the series (0 when empty).
func maxValue(series ...ChartSeries) float64 {
	hi := 0.0
	for _, s := range series {
		for _, p := range s.Points {
			hi = max(hi, p.Value)
		}
	}
	return hi
}
