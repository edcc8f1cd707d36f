package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/opsdeck/opsdeck/internal/store"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/security"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// securityNotices are the security pages' redirect confirmations (?notice=).
var securityNotices = map[string]string{
	"finding-accepted":    "The risk is accepted: the finding stays visible and opens again on its end date.",
	"finding-fixed":       "The finding is marked fixed; it opens again if its source reports it.",
	"finding-reopened":    "The finding is open again.",
	"totp-enabled":        "Two-factor sign-in is on. Keep your recovery codes somewhere safe: each works once instead of a code.",
	"totp-disabled":       "Two-factor sign-in is off for your account.",
	"signin-policy-saved": "The security settings were saved; they apply from the next sign-in.",
}

// sevClass is the badge class of a severity; the badge also says its name.
func sevClass(s security.Severity) string {
	switch s {
	case security.SeverityCritical, security.SeverityHigh:
		return "sev-1"
	case security.SeverityMedium:
		return "sev-2"
	case security.SeverityLow:
		return "sev-3"
	}
	return "sev-4"
}

// sevCount is one row of the posture's severity table.
type sevCount struct {
	Severity security.Severity
	Class    string
	Count    int
	Href     string
}

// ciRow is one CI of the overall posture.
type ciRow struct {
	ID    int64
	Name  string
	Open  int
	Worst security.Severity
	Class string
}

type posturePage struct {
	CI          int64
	CIName      string
	P           security.Posture
	Severities  []sevCount
	CIs         []ciRow
	Chart       template.HTML
	PatchAge    string
	HorizonDays string
	HorizonBad  bool
	Empty       bool
}

func (s *Server) ciName(ctx context.Context, id int64) string {
	if s.opts.CMDB != nil {
		if c, err := s.opts.CMDB.Get(ctx, id); err == nil {
			return c.Name
		}
	}
	return "CI #" + strconv.FormatInt(id, 10)
}

func (s *Server) securityPosturePage(w http.ResponseWriter, r *http.Request) {
	ci, err := postureCI(r)
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, sentence(err.Error()))
		return
	}
	ctx := r.Context()
	p, err := s.opts.Security.Posture(ctx, ci, 30)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d := posturePage{CI: ci, P: p, Empty: p.OpenAll == 0 && p.Accepted == 0}
	if ci > 0 {
		d.CIName = s.ciName(ctx, ci)
	}
	for _, sev := range security.AllSeverities() {
		q := url.Values{"status": {"open"}, "severity": {string(sev)}}
		if ci > 0 {
			q.Set("ci", strconv.FormatInt(ci, 10))
		}
		d.Severities = append(d.Severities, sevCount{Severity: sev, Class: sevClass(sev), Count: p.Open[sev], Href: "/security/findings?" + q.Encode()})
	}
	if ci == 0 {
		rows, err := s.opts.Security.PostureByCI(ctx)
		if err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		for _, c := range rows {
			d.CIs = append(d.CIs, ciRow{ID: c.CIID, Name: s.ciName(ctx, c.CIID), Open: c.Open, Worst: c.Worst, Class: sevClass(c.Worst)})
		}
	}
	now := time.Now()
	if p.OldestPatch != nil {
		d.PatchAge = fmt.Sprintf("%d days", int(now.Sub(*p.OldestPatch).Hours()/24))
	}
	if p.CertHorizon != nil {
		days := p.CertHorizon.Sub(now).Hours() / 24
		d.HorizonDays = fmt.Sprintf("%.0f days", days)
		if days < 0 {
			d.HorizonDays = "expired"
		}
		d.HorizonBad = days < 21
	}
	pts := make([]ChartPoint, len(p.Trend))
	for i, t := range p.Trend {
		pts[i] = ChartPoint{At: t.Day.Add(24 * time.Hour), Value: float64(t.Open)}
	}
	d.Chart = LineChart([]ChartSeries{{Name: "Open findings", Class: "series-avg", Points: pts}},
		LineChartOptions{Width: 720, Height: 200, Label: "Open findings at the end of each of the last 30 days"})
	title := "Security posture"
	if ci > 0 {
		title += ": " + d.CIName
	}
	s.render(w, r, http.StatusOK, "security_posture", s.newView(r, title, "security", d))
}

type findingsPage struct {
	Rows           []security.Finding
	Classes        map[int64]string
	Total          int
	Status, Sev    string
	Source, CI     string
	Severities     []security.Severity
	Errors         fieldErrors
	Prev, Next     string
	Filtered       bool
	First, LastRow int
}

func (s *Server) securityFindingsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := findingsPage{Status: echo(q.Get("status")), Sev: echo(q.Get("severity")), Source: echo(q.Get("source")), CI: echo(q.Get("ci")),
		Severities: security.AllSeverities(), Errors: fieldErrors{}, Classes: map[int64]string{}}
	d.Filtered = d.Status != "" || d.Sev != "" || d.Source != "" || d.CI != ""
	f, err := findingFilter(r)
	if formError(err, d.Errors, map[string]string{"status": "Status", "severity": "Severity", "source": "Source", "ci": "CI", "offset": "Page", "limit": "Page size"}) {
		s.render(w, r, http.StatusUnprocessableEntity, "security_findings", s.newView(r, "Security findings", "security-findings", d))
		return
	}
	d.Rows, d.Total, err = s.opts.Security.List(r.Context(), f)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for _, fd := range d.Rows {
		d.Classes[fd.ID] = sevClass(fd.Severity)
	}
	page := func(off int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "offset" && len(vs) > 0 {
				v.Set(k, vs[0])
			}
		}
		v.Set("offset", strconv.Itoa(off))
		return "/security/findings?" + v.Encode()
	}
	if f.Offset > 0 {
		d.Prev = page(max(f.Offset-f.Limit, 0))
	}
	if f.Offset+len(d.Rows) < d.Total {
		d.Next = page(f.Offset + f.Limit)
	}
	d.First, d.LastRow = f.Offset+1, f.Offset+len(d.Rows)
	s.render(w, r, http.StatusOK, "security_findings", s.newView(r, "Security findings", "security-findings", d))
}

type findingPage struct {
	F        security.Finding
	Class    string
	CIName   string
	Evidence string
	CanAct   bool
	Until    string
	Reason   string
	Errors   fieldErrors
}

func (s *Server) securityFindingPage(w http.ResponseWriter, r *http.Request) {
	s.showFinding(w, r, http.StatusOK, "", "", nil)
}

func (s *Server) showFinding(w http.ResponseWriter, r *http.Request, status int, reason, until string, errs fieldErrors) {
	id, err := pathID(r)
	if err != nil {
		s.notFound(w, r)
		return
	}
	f, err := s.opts.Security.Get(r.Context(), id)
	if err != nil {
		s.securityFail(w, r, err)
		return
	}
	me, _ := s.signedIn(r)
	d := findingPage{F: f, Class: sevClass(f.Severity), Evidence: prettyJSON(f.Evidence), CanAct: me.Role.Allows(auth.RoleOperator),
		Reason: echo(reason), Until: echo(until), Errors: errs}
	if d.Until == "" {
		d.Until = time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	}
	if f.CIID > 0 {
		d.CIName = s.ciName(r.Context(), f.CIID)
	}
	s.render(w, r, status, "security_finding", s.newView(r, f.Title, "security-findings", d))
}

func (s *Server) securityAcceptUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.notFound(w, r)
		return
	}
	reason, until := strings.TrimSpace(r.PostFormValue("reason")), strings.TrimSpace(r.PostFormValue("until"))
	errs := fieldErrors{}
	day, perr := time.Parse(time.DateOnly, until)
	if perr != nil {
		err = valid.Errorf("until", "must be a date (YYYY-MM-DD)")
	} else {
		// Accepted until the end of the day named.
		_, err = s.opts.Security.Accept(r.Context(), id, reason, day.Add(24*time.Hour-time.Second))
	}
	if formError(err, errs, map[string]string{"reason": "Reason", "until": "Until"}) {
		s.showFinding(w, r, http.StatusUnprocessableEntity, reason, until, errs)
		return
	}
	if err != nil {
		s.securityFail(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/security/findings/%d?notice=finding-accepted", id), http.StatusSeeOther)
}

func (s *Server) securityFindingActionUI(act func(ctx context.Context, id int64) (security.Finding, error), notice string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r)
		if err != nil {
			s.notFound(w, r)
			return
		}
		if _, err := act(r.Context(), id); err != nil {
			s.securityFail(w, r, err)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/security/findings/%d?notice=%s", id, notice), http.StatusSeeOther)
	}
}

// uiFail answers a security page's error: not found is a 404 page, the
// rest a server error.
func (s *Server) securityFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	s.serverError(w, r, SurfaceUI, err)
}

// prettyJSON indents stored evidence for reading; the template escapes it.
func prettyJSON(raw []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}
