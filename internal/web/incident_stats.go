package web

import (
	"html/template"
	"net/http"
	"time"

	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// statsFilter reads from/to (default the last 30 days), service and
// severity for the MTTA/MTTR API and page.
func statsFilter(r *http.Request) (incident.StatsFilter, error) {
	from, to, err := rangeParams(r, 30*24*time.Hour)
	if err != nil {
		return incident.StatsFilter{}, err
	}
	f := incident.StatsFilter{From: from, To: to, Severity: r.URL.Query().Get("severity")}
	if f.ServiceID, err = queryID(r, "service"); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) apiIncidentStats(w http.ResponseWriter, r *http.Request) {
	f, err := statsFilter(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	st, err := s.opts.Incidents.ResponseStats(r.Context(), f)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// statsPage is the data of the response-time page.
type statsPage struct {
	Stats             incident.Stats
	Chart             template.HTML
	Days              string
	Service, Severity string
	Services          []incident.TechService
	Severities        []string
	DayChoices        []string
	Errors            fieldErrors
}

// Minutes shows seconds as minutes with one decimal, or a dash.
func (statsPage) Minutes(sec float64, n int) string {
	if n == 0 {
		return "—"
	}
	return formatMeasure(sec/60, "min")
}

func (s *Server) incidentStatsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := statsPage{Days: q.Get("days"), Service: q.Get("service"), Severity: q.Get("severity"), Severities: incident.IncidentSeverities,
		DayChoices: []string{"7", "30", "90", "365"}, Errors: fieldErrors{}}
	if d.Days == "" {
		d.Days = "30"
	}
	days := map[string]int{"7": 7, "30": 30, "90": 90, "365": 365}[d.Days]
	ctx := r.Context()
	var err error
	if d.Services, _, err = s.opts.Incidents.ListServices(ctx, 0, 1000); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	status := http.StatusOK
	f := incident.StatsFilter{To: time.Now().UTC(), Severity: d.Severity}
	f.From = f.To.Add(-time.Duration(days) * 24 * time.Hour)
	if days == 0 {
		err = valid.Errorf("days", "must be 7, 30, 90 or 365")
	} else if f.ServiceID, err = queryID(r, "service"); err == nil {
		d.Stats, err = s.opts.Incidents.ResponseStats(ctx, f)
	}
	if err != nil {
		if !formError(err, d.Errors, map[string]string{"days": "Period", "service": "Service", "severity": "Severity"}) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		for _, msg := range d.Errors {
			d.Errors[""] = msg
		}
		status = http.StatusBadRequest
	}
	if len(d.Stats.ByDay) > 0 {
		mtta := ChartSeries{Name: "MTTA", Class: "series-avg"}
		mttr := ChartSeries{Name: "MTTR", Class: "series-p95"}
		for _, day := range d.Stats.ByDay {
			at, _ := time.Parse(time.DateOnly, day.Key)
			at = at.Add(12 * time.Hour)
			if day.Acknowledged > 0 {
				mtta.Points = append(mtta.Points, ChartPoint{At: at, Value: day.MTTASeconds / 60})
			}
			if day.Resolved > 0 {
				mttr.Points = append(mttr.Points, ChartPoint{At: at, Value: day.MTTRSeconds / 60})
			}
		}
		d.Chart = LineChart([]ChartSeries{mtta, mttr}, LineChartOptions{Width: 720, Height: 220, From: f.From, To: f.To, Unit: "min",
			Label: "Mean time to acknowledge and to resolve, in minutes, per day"})
	}
	s.render(w, r, status, "incident_stats", s.newView(r, "Response times", "incidents", d))
}
