package web

import (
	"html/template"
	"net/http"
	"time"

	"github.com/opsdeck/opsdeck/internal/deskmail"
)

// deskMailView is the email status page.
type deskMailView struct {
	Status   deskmail.Status
	Messages []deskmail.Record
	Outcomes []deskmail.Outcome
	Outcome  string
	Error    string
	Chart    template.HTML
}

func (s *Server) deskMailPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, err := s.opts.DeskMail.Status(ctx)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d := deskMailView{Status: st}
	for _, o := range deskmail.Outcomes() {
		if o != deskmail.OutcomeDuplicate {
			d.Outcomes = append(d.Outcomes, o)
		}
	}
	status := http.StatusOK
	outcome, limit, err := deskMailFilter(r)
	if err != nil {
		d.Error, status = err.Error(), http.StatusBadRequest
	} else {
		d.Outcome = outcome
		if d.Messages, err = s.opts.DeskMail.Messages(ctx, outcome, limit); err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	d.Chart = deskMailChart(st.Daily)
	s.render(w, r, status, "deskmail", s.newView(r, "Email", "service-desk-email", d))
}

// deskMailChart draws two weeks of inbound mail by day: what became
// tickets or replies, and what was dropped.
func deskMailChart(days []deskmail.DayCount) template.HTML {
	if len(days) == 0 {
		return ""
	}
	in := map[string]float64{}
	dropped := map[string]float64{}
	for _, d := range days {
		if deskmail.Outcome(d.Outcome).Dropped() {
			dropped[d.Day] += float64(d.Count)
		} else {
			in[d.Day] += float64(d.Count)
		}
	}
	to := time.Now().UTC().Truncate(24 * time.Hour)
	from := to.Add(-13 * 24 * time.Hour)
	taken := ChartSeries{Name: "Tickets and replies", Class: "avg"}
	drop := ChartSeries{Name: "Dropped", Class: "p95"}
	for d := from; !d.After(to); d = d.Add(24 * time.Hour) {
		k := d.Format(time.DateOnly)
		taken.Points = append(taken.Points, ChartPoint{At: d, Value: in[k]})
		drop.Points = append(drop.Points, ChartPoint{At: d, Value: dropped[k]})
	}
	return LineChart([]ChartSeries{taken, drop}, LineChartOptions{Width: 720, Height: 200, From: from, To: to,
		Label: "Inbound mail per day over two weeks: tickets and replies, and dropped messages"})
}
