package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/store"
)

// serviceList is the data of the services page.
type serviceList struct {
	Services []serviceRow
	IsAdmin  bool
}

// serviceRow is a service with what the list shows beside it.
type serviceRow struct {
	incident.TechService
	Integrations int
	Open         int64
}

// Grouping says in words how the service groups alerts.
func (r serviceRow) Grouping() string { return groupingText(r.TechService) }

func groupingText(ts incident.TechService) string {
	by := "all alerts of the service"
	if len(ts.GroupBy) > 0 {
		by = "alerts with the same " + strings.Join(ts.GroupBy, ", ")
	}
	return by + " within " + shortDuration(time.Duration(ts.GroupWindow)) + " of the last one"
}

func (s *Server) servicesPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ss, _, err := s.opts.Incidents.ListServices(ctx, 0, 1000)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	ins, err := s.opts.Incidents.ListIntegrations(ctx, 0)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d := serviceList{IsAdmin: auth.ActorFrom(ctx).Role.Allows(auth.RoleAdmin)}
	for _, ts := range ss {
		row := serviceRow{TechService: ts}
		for _, in := range ins {
			if in.ServiceID == ts.ID {
				row.Integrations++
			}
		}
		c, err := s.opts.Incidents.Count(ctx, incident.Filter{ServiceID: ts.ID})
		if err != nil {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
		row.Open = c.Triggered + c.Acknowledged
		d.Services = append(d.Services, row)
	}
	s.render(w, r, http.StatusOK, "services", s.newView(r, "Services", "services", d))
}

// serviceForm is the state of the service form.
type serviceForm struct {
	Name, Description, Policy, GroupBy, Window string
	AutoResolve                                bool
	Errors                                     fieldErrors
}

func formOfService(ts incident.TechService) serviceForm {
	f := serviceForm{Name: ts.Name, Description: ts.Description, GroupBy: strings.Join(ts.GroupBy, ", "),
		Window: shortDuration(time.Duration(ts.GroupWindow)), AutoResolve: ts.AutoResolve, Errors: fieldErrors{}}
	if ts.EscalationPolicyID != nil {
		f.Policy = strconv.FormatInt(*ts.EscalationPolicyID, 10)
	}
	return f
}

var serviceLabels = map[string]string{"name": "Name", "description": "Description", "escalation_policy_id": "Escalation policy",
	"group_by": "Group by", "group_window": "Window"}

// serviceInput reads the service form; a bad number or duration is a field error.
func serviceInput(r *http.Request) (serviceForm, incident.ServiceInput, bool) {
	f := serviceForm{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"), Policy: strings.TrimSpace(r.PostFormValue("escalation_policy_id")),
		GroupBy: r.PostFormValue("group_by"), Window: strings.TrimSpace(r.PostFormValue("group_window")), AutoResolve: r.PostFormValue("auto_resolve") == "on", Errors: fieldErrors{}}
	in := incident.ServiceInput{Name: f.Name, Description: f.Description, AutoResolve: &f.AutoResolve}
	in.GroupBy = strings.FieldsFunc(f.GroupBy, func(r rune) bool { return r == ',' || r == ' ' })
	if f.Policy != "" {
		id, err := strconv.ParseInt(f.Policy, 10, 64)
		if err != nil || id <= 0 {
			f.Errors["escalation_policy_id"] = "Escalation policy must be a policy id, or empty for none."
			return f, in, false
		}
		in.EscalationPolicyID = &id
	}
	if f.Window != "" {
		d, err := time.ParseDuration(f.Window)
		if err != nil {
			f.Errors["group_window"] = "Window must be a duration such as 30m or 2h."
			return f, in, false
		}
		in.GroupWindow = incident.Duration(d)
	}
	return f, in, true
}

func (s *Server) newServicePage(w http.ResponseWriter, r *http.Request) {
	f := serviceForm{Window: "1h", AutoResolve: true, Errors: fieldErrors{}}
	s.render(w, r, http.StatusOK, "service_new", s.newView(r, "New service", "services", f))
}

func (s *Server) createServiceUI(w http.ResponseWriter, r *http.Request) {
	f, in, ok := serviceInput(r)
	if ok {
		ts, err := s.opts.Incidents.CreateService(r.Context(), in)
		if err == nil {
			http.Redirect(w, r, "/services/"+strconv.FormatInt(ts.ID, 10)+"?notice=service-created", http.StatusSeeOther)
			return
		}
		if !formError(err, f.Errors, serviceLabels) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	s.render(w, r, http.StatusUnprocessableEntity, "service_new", s.newView(r, "New service", "services", f))
}

// serviceDetail is the data of a service's page.
type serviceDetail struct {
	Service      incident.TechService
	Grouping     string
	Integrations []incident.Integration
	Incidents    []incidentRow
	IsAdmin      bool
	Form         serviceForm
	// NewIntegration is the add-integration form.
	NewName, NewKind string
	Kinds            []string
	IntErrors        fieldErrors
}

func (s *Server) servicePage(w http.ResponseWriter, r *http.Request) {
	s.renderService(w, r, http.StatusOK, nil, "", "", nil)
}

func (s *Server) renderService(w http.ResponseWriter, r *http.Request, status int, form *serviceForm, newName, newKind string, intErrs fieldErrors) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such service")
		return
	}
	ctx := r.Context()
	ts, err := s.opts.Incidents.GetService(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no such service")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d := serviceDetail{Service: ts, Grouping: groupingText(ts), IsAdmin: auth.ActorFrom(ctx).Role.Allows(auth.RoleAdmin), NewName: newName, NewKind: newKind,
		Kinds: incident.Kinds, IntErrors: intErrs}
	if d.IntErrors == nil {
		d.IntErrors = fieldErrors{}
	}
	if d.NewKind == "" {
		d.NewKind = incident.KindAlertmanager
	}
	if form != nil {
		d.Form = *form
	} else {
		d.Form = formOfService(ts)
	}
	if d.Integrations, err = s.opts.Incidents.ListIntegrations(ctx, id); err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	incs, _, err := s.opts.Incidents.List(ctx, incident.Filter{ServiceID: id, Status: "open", Limit: 20})
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	for _, in := range incs {
		d.Incidents = append(d.Incidents, incidentRow{in})
	}
	s.render(w, r, status, "service", s.newView(r, ts.Name, "services", d))
}

func (s *Server) updateServiceUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such service")
		return
	}
	f, in, ok := serviceInput(r)
	if ok {
		_, err := s.opts.Incidents.UpdateService(r.Context(), id, in)
		if err == nil {
			http.Redirect(w, r, "/services/"+strconv.FormatInt(id, 10)+"?notice=service-saved", http.StatusSeeOther)
			return
		}
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no such service")
			return
		}
		if !formError(err, f.Errors, serviceLabels) {
			s.serverError(w, r, SurfaceUI, err)
			return
		}
	}
	s.renderService(w, r, http.StatusUnprocessableEntity, &f, "", "", nil)
}

func (s *Server) deleteServiceUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such service")
		return
	}
	switch err := s.opts.Incidents.DeleteService(r.Context(), id); {
	case err == nil:
		http.Redirect(w, r, "/services?notice=service-deleted", http.StatusSeeOther)
	case errors.Is(err, store.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "there is no such service; it may have been deleted already")
	case errors.Is(err, store.ErrReference):
		s.renderError(w, r, http.StatusConflict, "this service has alerts or incidents, which keep it for their history; remove its integrations instead")
	default:
		s.serverError(w, r, SurfaceUI, err)
	}
}

func (s *Server) createIntegrationUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such service")
		return
	}
	name, kind := r.PostFormValue("name"), r.PostFormValue("kind")
	in := incident.IntegrationInput{ServiceID: id, Name: name, Kind: kind}
	if kind == incident.KindGeneric {
		in.Mapping = &incident.Mapping{Summary: strings.TrimSpace(r.PostFormValue("map_summary")), DedupKey: strings.TrimSpace(r.PostFormValue("map_dedup_key")),
			Severity: strings.TrimSpace(r.PostFormValue("map_severity")), Status: strings.TrimSpace(r.PostFormValue("map_status")),
			Source: strings.TrimSpace(r.PostFormValue("map_source")), Labels: strings.TrimSpace(r.PostFormValue("map_labels"))}
	}
	out, key, err := s.opts.Incidents.CreateIntegration(r.Context(), in)
	if err != nil {
		errs := fieldErrors{}
		if formError(err, errs, map[string]string{"name": "Name", "kind": "Kind", "mapping": "Mapping", "mapping.summary": "Summary path",
			"mapping.dedup_key": "Dedup key path", "mapping.severity": "Severity path", "mapping.status": "Status path", "mapping.source": "Source path", "mapping.labels": "Labels path"}) {
			for k, msg := range errs {
				if f, ok := strings.CutPrefix(k, "mapping."); ok {
					errs["map_"+f] = msg // the form's field names
				}
			}
			s.renderService(w, r, http.StatusUnprocessableEntity, nil, name, kind, errs)
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.renderIntegration(w, r, http.StatusCreated, out, key)
}

// integrationSetup is the data of an integration's setup page.
type integrationSetup struct {
	Integration incident.Integration
	Service     incident.TechService
	// Key is set only right after creation or rotation.
	Key string
	// URL is the address to paste (with the key when known); Base is the
	// server's external address.
	URL, Base string
}

// KeyOrPlaceholder is the key, or a placeholder the reader replaces.
func (d integrationSetup) KeyOrPlaceholder() string {
	if d.Key != "" {
		return d.Key
	}
	return "YOUR-INTEGRATION-KEY"
}

func (s *Server) integrationPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such integration")
		return
	}
	in, err := s.opts.Incidents.GetIntegration(r.Context(), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no such integration")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.renderIntegration(w, r, http.StatusOK, in, "")
}

func (s *Server) renderIntegration(w http.ResponseWriter, r *http.Request, status int, in incident.Integration, key string) {
	ts, err := s.opts.Incidents.GetService(r.Context(), in.ServiceID)
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	d := integrationSetup{Integration: in, Service: ts, Key: key, Base: strings.TrimSuffix(s.externalURL(r, "/"), "/")}
	k := key
	if k == "" {
		k = d.KeyOrPlaceholder()
	}
	d.URL = s.externalURL(r, intakePath(in.Kind, k))
	s.render(w, r, status, "integration", s.newView(r, in.Name+" integration", "services", d))
}

func (s *Server) rotateIntegrationUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such integration")
		return
	}
	in, key, err := s.opts.Incidents.RotateKey(r.Context(), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "there is no such integration")
			return
		}
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.renderIntegration(w, r, http.StatusOK, in, key)
}

func (s *Server) deleteIntegrationUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "there is no such integration")
		return
	}
	in, err := s.opts.Incidents.GetIntegration(r.Context(), id)
	if err == nil {
		err = s.opts.Incidents.DeleteIntegration(r.Context(), id)
	}
	switch {
	case err == nil:
		http.Redirect(w, r, "/services/"+strconv.FormatInt(in.ServiceID, 10)+"?notice=integration-deleted", http.StatusSeeOther)
	case errors.Is(err, store.ErrNotFound):
		s.renderError(w, r, http.StatusNotFound, "there is no such integration; it may have been deleted already")
	default:
		s.serverError(w, r, SurfaceUI, err)
	}
}
