package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/change"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// The change calendar (month, week, list), metrics, templates, freezes
// and the approver groups' page.

// calDay is one day cell of the calendar.
type calDay struct {
	Date    time.Time
	InMonth bool
	Today   bool
	Entries []change.Entry
}

// changeCalendar is the data of the calendar page.
type changeCalendar struct {
	View             string // month, week or list
	Label            string
	At               string
	PrevURL, NextURL string
	TodayURL         string
	Weeks            [][]calDay
	Entries          []change.Entry
	Counts           map[string]int
	Weekdays         []string
	Errors           fieldErrors
}

func (s *Server) changeCalendarPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := changeCalendar{View: q.Get("view"), Counts: map[string]int{"change": 0, "freeze": 0, "maintenance": 0}, Errors: fieldErrors{},
		Weekdays: []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}}
	status := http.StatusOK
	now := time.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	at := today
	if v := q.Get("at"); v != "" {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			d.Errors["at"] = "The date must look like 2026-06-01."
			status = http.StatusUnprocessableEntity
		} else {
			at = t
		}
	}
	var from, to, prev, next time.Time
	switch d.View {
	case "week", "list":
		from = at.AddDate(0, 0, -((int(at.Weekday()) + 6) % 7))
		to = from.AddDate(0, 0, 7)
		if d.View == "list" {
			from, to = at, at.AddDate(0, 0, 30)
		}
		prev, next = from.AddDate(0, 0, -int(to.Sub(from).Hours()/24)), to
		d.Label = from.Format("Mon 2 Jan 2006") + " – " + to.AddDate(0, 0, -1).Format("Mon 2 Jan 2006")
	default:
		d.View = "month"
		first := time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC)
		from = first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7))
		last := first.AddDate(0, 1, 0)
		to = last.AddDate(0, 0, (7-(int(last.Weekday())+6)%7)%7)
		prev, next = first.AddDate(0, -1, 0), last
		d.Label = first.Format("January 2006")
		at = first
	}
	d.At = at.Format(time.DateOnly)
	link := func(t time.Time) string { return "/changes/calendar?view=" + d.View + "&at=" + t.Format(time.DateOnly) }
	d.PrevURL, d.NextURL, d.TodayURL = link(prev), link(next), link(today)
	es, err := s.opts.Changes.Calendar(r.Context(), from, to)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d.Entries = es
	for _, e := range es {
		d.Counts[e.Kind]++
	}
	if d.View != "list" {
		var week []calDay
		for day := from; day.Before(to); day = day.AddDate(0, 0, 1) {
			c := calDay{Date: day, InMonth: d.View == "week" || day.Month() == at.Month(), Today: day.Equal(today)}
			end := day.AddDate(0, 0, 1)
			for _, e := range es {
				if e.Start.Before(end) && e.End.After(day) {
					c.Entries = append(c.Entries, e)
				}
			}
			week = append(week, c)
			if len(week) == 7 {
				d.Weeks = append(d.Weeks, week)
				week = nil
			}
		}
	}
	s.render(w, r, status, "change_calendar", s.newView(r, "Change calendar", "change-calendar", d))
}

// changeMetricsView is the data of the metrics page.
type changeMetricsView struct {
	M                                    change.Metrics
	Days                                 int
	SuccessPct, CausingPct, EmergencyPct float64
	Chart                                any
}

func (s *Server) changeMetricsPage(w http.ResponseWriter, r *http.Request) {
	days := 90
	if v := r.URL.Query().Get("days"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 7 && n <= 365 {
			days = n
		}
	}
	now := time.Now().UTC()
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	m, err := s.opts.Changes.Metrics(r.Context(), to.AddDate(0, 0, -days), to)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	success := ChartSeries{Name: "Success rate (%)", Class: "series-0"}
	emergency := ChartSeries{Name: "Emergency share (%)", Class: "series-1"}
	causing := ChartSeries{Name: "Changes causing incidents", Class: "series-2"}
	for _, wk := range m.Weeks {
		at := wk.Start.Add(84 * time.Hour)
		if wk.Closed > 0 {
			success.Points = append(success.Points, ChartPoint{At: at, Value: 100 * float64(wk.Successful) / float64(wk.Closed)})
		}
		if wk.Opened > 0 {
			emergency.Points = append(emergency.Points, ChartPoint{At: at, Value: 100 * float64(wk.Emergency) / float64(wk.Opened)})
		}
		causing.Points = append(causing.Points, ChartPoint{At: at, Value: float64(wk.Causing)})
	}
	d := changeMetricsView{M: m, Days: days, SuccessPct: 100 * m.SuccessRate, CausingPct: 100 * m.CausingShare, EmergencyPct: 100 * m.EmergencyShare, Chart: LineChart([]ChartSeries{success, emergency, causing}, LineChartOptions{Width: 720, Height: 220,
		From: m.From, To: m.To, Label: "Per week: change success rate and emergency share in percent, and the number of changes flagged as causing incidents"})}
	s.render(w, r, http.StatusOK, "change_metrics", s.newView(r, "Change metrics", "changes", d))
}

// changeTemplatesView is the templates page: the list and the editor.
type changeTemplatesView struct {
	Templates []change.Template
	Form      change.Template
	CIIDs     string
	Editing   bool
	Operator  bool
	Risks     []change.Risk
	Texts     []string
	Errors    fieldErrors
}

func (s *Server) changeTemplatesPage(w http.ResponseWriter, r *http.Request) {
	d := changeTemplatesView{Form: change.Template{Risk: change.Low, Duration: "1h"}, Errors: fieldErrors{}}
	if v := r.URL.Query().Get("edit"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			if t, err := s.opts.Changes.Template(r.Context(), id); err == nil {
				d.Form, d.Editing = t, true
				d.CIIDs = joinIDs(t.CIIDs)
			}
		}
	}
	s.renderChangeTemplates(w, r, http.StatusOK, d)
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ", ")
}

func (s *Server) renderChangeTemplates(w http.ResponseWriter, r *http.Request, status int, d changeTemplatesView) {
	var err error
	if d.Templates, err = s.opts.Changes.Templates(r.Context()); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	p, _ := s.signedIn(r)
	d.Operator, d.Risks = p.Role.Allows(auth.RoleOperator), change.Risks()
	d.Texts = []string{"description", "implementation_plan", "backout_plan", "test_plan"}
	s.render(w, r, status, "change_templates", s.newView(r, "Change templates", "change-templates", d))
}

// parseIDList reads "1, 2 3" into ids, naming field on garbage.
func parseIDList(field, v string) ([]int64, error) {
	ids := []int64{}
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		id, err := strconv.ParseInt(strings.TrimPrefix(p, "#"), 10, 64)
		if err != nil || id <= 0 {
			return nil, valid.Errorf(field, "must be numbers separated by commas")
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (s *Server) changeTemplateSaveUI(w http.ResponseWriter, r *http.Request) {
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	t := change.Template{Name: get("name"), Description: r.PostFormValue("description"), Category: get("category"), Risk: change.Risk(get("risk")),
		Impact: get("impact"), ImplementationPlan: r.PostFormValue("implementation_plan"), BackoutPlan: r.PostFormValue("backout_plan"),
		TestPlan: r.PostFormValue("test_plan"), Duration: get("duration")}
	d := changeTemplatesView{Form: t, CIIDs: get("ci_ids"), Errors: fieldErrors{}}
	if id, err := strconv.ParseInt(get("id"), 10, 64); err == nil && id > 0 {
		t.ID, d.Editing = id, true
		d.Form.ID = id
	}
	ids, err := parseIDList("ci_ids", d.CIIDs)
	if err == nil {
		t.CIIDs = ids
		_, err = s.opts.Changes.SaveTemplate(r.Context(), t)
	}
	if err != nil {
		if formError(err, d.Errors, changeLabels) {
			s.renderChangeTemplates(w, r, http.StatusUnprocessableEntity, d)
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/changes/templates?notice=template-saved", http.StatusSeeOther)
}

func (s *Server) changeTemplateDeleteUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.opts.Changes.DeleteTemplate(r.Context(), id)
	}
	if err != nil {
		s.changeUIFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/changes/templates?notice=template-deleted", http.StatusSeeOther)
}

func (s *Server) changeTemplateOpenUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such template.")
		return
	}
	c, err := s.opts.Changes.OpenStandard(r.Context(), change.StandardInput{TemplateID: id, Title: strings.TrimSpace(r.PostFormValue("title"))})
	if err != nil {
		d := changeTemplatesView{Form: change.Template{Risk: change.Low, Duration: "1h"}, Errors: fieldErrors{}}
		if formError(err, d.Errors, changeLabels) {
			atTop(d.Errors)
			s.renderChangeTemplates(w, r, http.StatusUnprocessableEntity, d)
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/changes/"+strconv.FormatInt(c.ID, 10)+"?notice=change-moved", http.StatusSeeOther)
}

// changeFreezesView is the freezes page.
type changeFreezesView struct {
	Freezes []change.Freeze
	Admin   bool
	Form    struct{ Name, Description, Kind, StartsAt, EndsAt, Cron, Duration, Timezone string }
	Errors  fieldErrors
}

func (s *Server) changeFreezesPage(w http.ResponseWriter, r *http.Request) {
	d := changeFreezesView{Errors: fieldErrors{}}
	d.Form.Kind, d.Form.Timezone = "once", "UTC"
	s.renderChangeFreezes(w, r, http.StatusOK, d)
}

func (s *Server) renderChangeFreezes(w http.ResponseWriter, r *http.Request, status int, d changeFreezesView) {
	var err error
	if d.Freezes, err = s.opts.Changes.Freezes(r.Context()); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	p, _ := s.signedIn(r)
	d.Admin = p.Role.Allows(auth.RoleAdmin)
	s.render(w, r, status, "change_freezes", s.newView(r, "Freezes", "change-freezes", d))
}

func (s *Server) changeFreezeSaveUI(w http.ResponseWriter, r *http.Request) {
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	d := changeFreezesView{Errors: fieldErrors{}}
	d.Form.Name, d.Form.Description, d.Form.Kind = get("name"), r.PostFormValue("description"), get("kind")
	d.Form.StartsAt, d.Form.EndsAt, d.Form.Cron, d.Form.Duration, d.Form.Timezone = get("starts_at"), get("ends_at"), get("cron"), get("duration"), get("timezone")
	f := change.Freeze{Name: d.Form.Name, Description: d.Form.Description}
	if d.Form.Kind == "recurring" {
		f.Cron, f.Duration, f.Timezone = d.Form.Cron, d.Form.Duration, d.Form.Timezone
	} else {
		loc, ok := loadZone(d.Form.Timezone)
		if !ok {
			d.Errors["timezone"] = "Time zone must be an IANA time zone such as Europe/Berlin."
		}
		for _, t := range []struct {
			field, v string
			dst      **time.Time
		}{{"starts_at", d.Form.StartsAt, &f.StartsAt}, {"ends_at", d.Form.EndsAt, &f.EndsAt}} {
			if v, ok2 := parseDateTime(t.v, loc); ok && ok2 {
				*t.dst = &v
			} else if ok {
				d.Errors[t.field] = changeLabels[t.field] + " must be a date and time."
			}
		}
	}
	if len(d.Errors) == 0 {
		if _, err := s.opts.Changes.SaveFreeze(r.Context(), f); err != nil {
			if !formError(err, d.Errors, changeLabels) {
				s.serverError(w, r, SurfaceUI, err)
				return
			}
		}
	}
	if len(d.Errors) > 0 {
		s.renderChangeFreezes(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	http.Redirect(w, r, "/changes/freezes?notice=freeze-saved", http.StatusSeeOther)
}

func (s *Server) changeFreezeDeleteUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.opts.Changes.DeleteFreeze(r.Context(), id)
	}
	if err != nil {
		s.changeUIFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/changes/freezes?notice=freeze-deleted", http.StatusSeeOther)
}

// changeCABView is the approver groups and rules page.
type changeCABView struct {
	Groups []change.Group
	Rules  map[change.Risk][]change.Term
	Risks  []change.Risk
	Users  []auth.User
	Admin  bool
	Errors fieldErrors
}

func (s *Server) changeCABPage(w http.ResponseWriter, r *http.Request) {
	s.renderChangeCAB(w, r, http.StatusOK, fieldErrors{})
}

func (s *Server) renderChangeCAB(w http.ResponseWriter, r *http.Request, status int, errs fieldErrors) {
	d := changeCABView{Risks: change.Risks(), Errors: errs}
	var err error
	if d.Groups, err = s.opts.Changes.Groups(r.Context()); err == nil {
		if d.Rules, err = s.opts.Changes.Rules(r.Context()); err == nil {
			d.Users, err = s.auth.ListUsers(r.Context())
		}
	}
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	p, _ := s.signedIn(r)
	d.Admin = p.Role.Allows(auth.RoleAdmin)
	s.render(w, r, status, "change_cab", s.newView(r, "Approver groups", "change-approvals", d))
}

func (s *Server) changeCABGroupUI(w http.ResponseWriter, r *http.Request) {
	g := change.Group{Name: strings.TrimSpace(r.PostFormValue("name")), Description: r.PostFormValue("description")}
	if id, err := strconv.ParseInt(r.PostFormValue("id"), 10, 64); err == nil {
		g.ID = id
	}
	for _, v := range r.PostForm["member"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			g.MemberIDs = append(g.MemberIDs, id)
		}
	}
	var err error
	if r.PostFormValue("delete") != "" && g.ID != 0 {
		err = s.opts.Changes.DeleteGroup(r.Context(), g.ID)
	} else {
		_, err = s.opts.Changes.SaveGroup(r.Context(), g)
	}
	s.cabDone(w, r, err)
}

func (s *Server) cabDone(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		errs := fieldErrors{}
		if formError(err, errs, changeLabels) {
			atTop(errs)
			s.renderChangeCAB(w, r, http.StatusUnprocessableEntity, errs)
			return
		}
		s.changeUIFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/changes/cab?notice=cab-saved", http.StatusSeeOther)
}

// changeCABRuleUI sets one risk level's rule from "min_<group id>" fields
// (empty or 0 leaves the group out).
func (s *Server) changeCABRuleUI(w http.ResponseWriter, r *http.Request) {
	risk, err := change.ParseRisk("risk", r.PostFormValue("risk"))
	if err != nil {
		s.cabDone(w, r, err)
		return
	}
	var terms []change.Term
	for k, vs := range r.PostForm {
		gid, ok := strings.CutPrefix(k, "min_")
		if !ok || len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
			continue
		}
		id, err1 := strconv.ParseInt(gid, 10, 64)
		n, err2 := strconv.Atoi(strings.TrimSpace(vs[0]))
		if err1 != nil || err2 != nil || n < 0 {
			s.cabDone(w, r, valid.Errorf("min", "must be a number"))
			return
		}
		if n > 0 {
			terms = append(terms, change.Term{GroupID: id, Min: n})
		}
	}
	s.cabDone(w, r, s.opts.Changes.SetRule(r.Context(), risk, terms))
}
