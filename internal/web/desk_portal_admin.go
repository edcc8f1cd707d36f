package web

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/valid"
)

func (s *Server) catalogAdminPage(w http.ResponseWriter, r *http.Request) {
	items, err := s.opts.ServiceDesk.CatalogItems(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, http.StatusOK, "desk_catalog_admin", s.newView(r, "Catalog items", "service-desk", items))
}

// catalogEdit is the admin form of a catalog item: its fields as rows,
// with blank rows to add more.
type catalogEdit struct {
	Item    servicedesk.CatalogItem
	Rows    []fieldRow
	Groups  []servicedesk.Group
	Orgs    []servicedesk.Organization
	Types   []servicedesk.Type
	Levels  []servicedesk.Level
	FTypes  []servicedesk.FieldType
	Errors  fieldErrors
	OrgPick map[int64]bool
}

// fieldRow is one field of the editor, as text.
type fieldRow struct {
	N                                   int
	Key, Label, Type, Help, Options     string
	Min, Max                            string
	Required                            bool
	KeyErr, LabelErr, TypeErr, OtherErr string
}

// catalogBlankRows is how many empty field rows the editor offers.
const catalogBlankRows = 3

func rowsOf(fields []servicedesk.FormField) []fieldRow {
	var rows []fieldRow
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	for i, f := range fields {
		rows = append(rows, fieldRow{N: i, Key: f.Key, Label: f.Label, Type: string(f.Type), Help: f.Help, Options: strings.Join(f.Options, "\n"),
			Min: num(f.Min), Max: num(f.Max), Required: f.Required})
	}
	for i := range catalogBlankRows {
		rows = append(rows, fieldRow{N: len(fields) + i, Type: string(servicedesk.FieldText)})
	}
	return rows
}

func (s *Server) catalogEditPage(w http.ResponseWriter, r *http.Request) {
	id, ok := formID(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "There is no such catalog item.")
		return
	}
	item := servicedesk.CatalogItem{Active: true, TicketType: servicedesk.TypeServiceRequest, Impact: 2, Urgency: 2}
	if id != 0 {
		var err error
		if item, err = s.opts.ServiceDesk.CatalogItem(r.Context(), id); err != nil {
			s.deskNotFound(w, r, err)
			return
		}
	}
	s.renderCatalogEdit(w, r, http.StatusOK, catalogEdit{Item: item, Rows: rowsOf(item.Fields), Errors: fieldErrors{}})
}

func (s *Server) renderCatalogEdit(w http.ResponseWriter, r *http.Request, status int, e catalogEdit) {
	var err error
	if e.Groups, err = s.opts.ServiceDesk.Groups(r.Context()); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if e.Orgs, err = s.opts.ServiceDesk.Organizations(r.Context()); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	e.Types, e.Levels, e.FTypes = servicedesk.Types(), servicedesk.Levels(), servicedesk.FieldTypes()
	e.OrgPick = map[int64]bool{}
	for _, o := range e.Item.OrgIDs {
		e.OrgPick[o] = true
	}
	title := "New catalog item"
	if e.Item.ID != 0 {
		title = e.Item.Name
	}
	s.render(w, r, status, "desk_catalog_edit", s.newView(r, title, "service-desk", e))
}

var catalogLabels = map[string]string{"name": "Name", "description": "Description", "category": "Category", "icon": "Icon",
	"ticket_type": "Ticket type", "ticket_category": "Ticket category", "group_id": "Group", "impact": "Impact", "urgency": "Urgency",
	"position": "Position", "org_ids": "Organisations", "fields": "Fields"}

func (s *Server) saveCatalogItemUI(w http.ResponseWriter, r *http.Request) {
	id, ok := formID(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "There is no such catalog item.")
		return
	}
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	e := catalogEdit{Errors: fieldErrors{}}
	it := servicedesk.CatalogItem{ID: id, Name: get("name"), Description: r.PostFormValue("description"), Category: get("category"),
		Icon: get("icon"), Active: r.PostFormValue("active") == "on", TicketType: servicedesk.Type(get("ticket_type")),
		TicketCategory: get("ticket_category")}
	num := func(k string) int64 {
		n, err := strconv.ParseInt(get(k), 10, 64)
		if err != nil && get(k) != "" {
			e.Errors[k] = catalogLabels[k] + " must be a whole number."
		}
		return n
	}
	it.Position, it.GroupID = int(num("position")), num("group_id")
	it.Impact, it.Urgency = servicedesk.Level(num("impact")), servicedesk.Level(num("urgency"))
	for _, v := range r.PostForm["org"] {
		if oid, err := strconv.ParseInt(v, 10, 64); err == nil {
			it.OrgIDs = append(it.OrgIDs, oid)
		}
	}
	// Field rows: fields.N.*, in order; blank and removed rows are dropped.
	var rows []fieldRow
	for n := 0; n < servicedesk.MaxFormFields+catalogBlankRows; n++ {
		p := "fields." + strconv.Itoa(n) + "."
		if _, present := r.PostForm[p+"key"]; !present {
			break
		}
		row := fieldRow{Key: get(p + "key"), Label: get(p + "label"), Type: get(p + "type"), Help: get(p + "help"),
			Options: r.PostFormValue(p + "options"), Min: get(p + "min"), Max: get(p + "max"), Required: r.PostFormValue(p+"required") == "on"}
		if (row.Key == "" && row.Label == "") || r.PostFormValue(p+"remove") == "on" {
			continue
		}
		row.N = len(rows)
		rows = append(rows, row)
		f := servicedesk.FormField{Key: row.Key, Label: row.Label, Type: servicedesk.FieldType(row.Type), Help: row.Help, Required: row.Required}
		for _, o := range strings.Split(row.Options, "\n") {
			if o = strings.TrimSpace(o); o != "" {
				f.Options = append(f.Options, o)
			}
		}
		for _, b := range []struct {
			v   string
			dst **float64
		}{{row.Min, &f.Min}, {row.Max, &f.Max}} {
			if b.v == "" {
				continue
			}
			x, err := strconv.ParseFloat(b.v, 64)
			if err != nil {
				rows[row.N].OtherErr = "Minimum and maximum must be numbers."
				e.Errors[""] = "Field " + strconv.Itoa(row.N+1) + ": minimum and maximum must be numbers."
				continue
			}
			*b.dst = &x
		}
		it.Fields = append(it.Fields, f)
	}
	e.Item, e.Rows = it, rows
	for i := range catalogBlankRows {
		e.Rows = append(e.Rows, fieldRow{N: len(rows) + i, Type: string(servicedesk.FieldText)})
	}
	if len(e.Errors) == 0 {
		saved, err := s.opts.ServiceDesk.SaveCatalogItem(r.Context(), it)
		if err == nil {
			http.Redirect(w, r, "/service-desk/catalog?notice=catalog-saved#item-"+strconv.FormatInt(saved.ID, 10), http.StatusSeeOther)
			return
		}
		if !s.catalogFieldError(err, &e) {
			s.deskNotFound(w, r, err)
			return
		}
	}
	s.renderCatalogEdit(w, r, http.StatusUnprocessableEntity, e)
}

// catalogFieldError puts a refusal beside its field (or field row); false
// when err is not a validation error.
func (s *Server) catalogFieldError(err error, e *catalogEdit) bool {
	ve, ok := valid.As(err)
	if !ok {
		return false
	}
	rest, isRow := strings.CutPrefix(ve.Field, "fields.")
	n, what, _ := strings.Cut(rest, ".")
	i, convErr := strconv.Atoi(n)
	if !isRow || convErr != nil || i < 0 || i >= len(e.Rows) {
		formError(err, e.Errors, catalogLabels)
		return true
	}
	msg := strings.TrimSuffix(ve.Msg, ".") + "."
	switch what {
	case "key":
		e.Rows[i].KeyErr = "Key " + msg
	case "label":
		e.Rows[i].LabelErr = "Label " + msg
	case "type":
		e.Rows[i].TypeErr = "Type " + msg
	default:
		e.Rows[i].OtherErr = sentence(what) + " " + msg
	}
	e.Errors[""] = "Field " + strconv.Itoa(i+1) + " needs a change: see the marked row."
	return true
}

func (s *Server) deleteCatalogItemUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.opts.ServiceDesk.DeleteCatalogItem(r.Context(), id)
	}
	if err != nil {
		s.deskNotFound(w, r, err)
		return
	}
	http.Redirect(w, r, "/service-desk/catalog?notice=catalog-gone", http.StatusSeeOther)
}

func (s *Server) orgsPage(w http.ResponseWriter, r *http.Request) {
	os, err := s.opts.ServiceDesk.Organizations(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, http.StatusOK, "desk_orgs", s.newView(r, "Organisations", "service-desk", os))
}

// orgForm is an organisation's form with every user who may be a member.
type orgForm struct {
	O      servicedesk.Organization
	Users  []auth.User
	Errors fieldErrors
}

// Member reports whether user id is ticked.
func (f orgForm) Member(id int64) bool {
	for _, m := range f.O.MemberIDs {
		if m == id {
			return true
		}
	}
	return false
}

func (s *Server) orgFormPage(w http.ResponseWriter, r *http.Request) {
	id, ok := formID(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "There is no such organisation.")
		return
	}
	var o servicedesk.Organization
	if id != 0 {
		var err error
		if o, err = s.opts.ServiceDesk.Organization(r.Context(), id); err != nil {
			s.deskNotFound(w, r, err)
			return
		}
	}
	s.renderOrgForm(w, r, http.StatusOK, orgForm{O: o, Errors: fieldErrors{}})
}

func (s *Server) renderOrgForm(w http.ResponseWriter, r *http.Request, status int, f orgForm) {
	var err error
	if f.Users, err = s.auth.ListUsers(r.Context()); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, status, "desk_org_form", s.newView(r, "Organisation", "service-desk", f))
}

func (s *Server) saveOrgUI(w http.ResponseWriter, r *http.Request) {
	id, ok := formID(r)
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "There is no such organisation.")
		return
	}
	o := servicedesk.Organization{ID: id, Name: r.PostFormValue("name"), ShareTickets: r.PostFormValue("share_tickets") == "on"}
	for _, v := range r.PostForm["member"] {
		if uid, err := strconv.ParseInt(v, 10, 64); err == nil {
			o.MemberIDs = append(o.MemberIDs, uid)
		}
	}
	if _, err := s.opts.ServiceDesk.SaveOrganization(r.Context(), o); err != nil {
		errs := fieldErrors{}
		if !formError(err, errs, map[string]string{"name": "Name", "member_ids": "Members"}) {
			s.deskNotFound(w, r, err)
			return
		}
		s.renderOrgForm(w, r, http.StatusUnprocessableEntity, orgForm{O: o, Errors: errs})
		return
	}
	http.Redirect(w, r, "/service-desk/organizations?notice=org-saved", http.StatusSeeOther)
}

func (s *Server) deleteOrgUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = s.opts.ServiceDesk.DeleteOrganization(r.Context(), id)
	}
	if err != nil {
		s.deskNotFound(w, r, err)
		return
	}
	http.Redirect(w, r, "/service-desk/organizations?notice=org-deleted", http.StatusSeeOther)
}

// metricsPage is the data of the desk metrics page.
type metricsPage struct {
	M                                    servicedesk.Metrics
	Group, From, To, Period              string
	Groups                               []servicedesk.Group
	VolumeChart, TimeChart, PercentChart template.HTML
	Errors                               fieldErrors
}

// Hours shows a mean in seconds as hours and minutes, or a dash.
func (metricsPage) Hours(sec *float64) string {
	if sec == nil {
		return "—"
	}
	return spanText(time.Duration(*sec) * time.Second)
}

// Pct shows a percentage with one decimal, or a dash.
func (metricsPage) Pct(p *float64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(*p, 'f', 1, 64) + " %"
}

// Sum adds two counts.
func (metricsPage) Sum(a, b int) int { return a + b }

// Avg shows a CSAT mean out of 5, or a dash.
func (metricsPage) Avg(p *float64) string {
	if p == nil {
		return "—"
	}
	return strconv.FormatFloat(*p, 'f', 2, 64) + " / 5"
}

func (s *Server) deskMetricsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := metricsPage{Group: q.Get("group"), From: q.Get("from"), To: q.Get("to"), Period: q.Get("period"), Errors: fieldErrors{}}
	var err error
	if d.Groups, err = s.opts.ServiceDesk.Groups(r.Context()); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	status := http.StatusOK
	f, err := metricsFilter(r)
	if err == nil {
		d.M, err = s.opts.ServiceDesk.Metrics(r.Context(), f)
	}
	if err != nil {
		if !formError(err, d.Errors, map[string]string{"from": "From", "to": "To", "period": "Period", "group": "Group"}) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		status = http.StatusBadRequest
	} else {
		d.From, d.To, d.Period = d.M.From.Format(time.DateOnly), d.M.To.Format(time.DateOnly), string(d.M.Period)
		d.VolumeChart, d.TimeChart, d.PercentChart = metricsCharts(d.M)
	}
	s.render(w, r, status, "desk_metrics", s.newView(r, "Desk metrics", "desk-metrics", d))
}
