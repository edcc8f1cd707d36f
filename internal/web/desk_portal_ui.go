package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// deskPortalNotices are the confirmations of the portal's pages.
var deskPortalNotices = map[string]string{
	"request-sent":  "Your request was sent. The service desk answers here; you can reply below.",
	"rated":         "Thank you: your rating was recorded.",
	"catalog-saved": "The catalog item was saved.",
	"catalog-gone":  "The catalog item was deleted; tickets opened from it keep their answers.",
	"org-saved":     "The organisation was saved.",
	"org-deleted":   "The organisation was deleted; its tickets keep its name.",
}

func (s *Server) deskPortalUIRoutes() []Route {
	ui := func(method, path string, role auth.Role, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Role: role, Surface: SurfaceUI, Handler: h}
	}
	return []Route{
		ui("GET", "/catalog", auth.RoleRequester, s.catalogPage),
		ui("GET", "/catalog/{id}", auth.RoleRequester, s.catalogItemPage),
		ui("POST", "/catalog/{id}", auth.RoleRequester, s.submitCatalogUI),
		ui("POST", "/tickets/{id}/rate", auth.RoleRequester, s.rateTicketUI),
		// A signed link from the "resolved" mail: the page only asks; the
		// POST rates. The POST is an API-surface route because the link's
		// HMAC, not a session, authorises it.
		ui("GET", "/rate/{token}", auth.RoleNone, s.rateLinkPage),
		{Method: "POST", Path: "/rate/{token}", Role: auth.RoleNone, Surface: SurfaceAPI, Handler: s.rateLinkAct},
		ui("GET", "/service-desk/catalog", auth.RoleAdmin, s.catalogAdminPage),
		ui("GET", "/service-desk/catalog/{id}", auth.RoleAdmin, s.catalogEditPage),
		ui("POST", "/service-desk/catalog/{id}", auth.RoleAdmin, s.saveCatalogItemUI),
		ui("POST", "/service-desk/catalog/{id}/delete", auth.RoleAdmin, s.deleteCatalogItemUI),
		ui("GET", "/service-desk/organizations", auth.RoleAdmin, s.orgsPage),
		ui("GET", "/service-desk/organizations/{id}", auth.RoleAdmin, s.orgFormPage),
		ui("POST", "/service-desk/organizations/{id}", auth.RoleAdmin, s.saveOrgUI),
		ui("POST", "/service-desk/organizations/{id}/delete", auth.RoleAdmin, s.deleteOrgUI),
		ui("GET", "/service-desk/metrics", auth.RoleViewer, s.deskMetricsPage),
	}
}

// catalogSection is one category of the catalog page.
type catalogSection struct {
	Category string
	Items    []servicedesk.CatalogItem
}

func (s *Server) catalogPage(w http.ResponseWriter, r *http.Request) {
	items, err := s.opts.ServiceDesk.CatalogItems(r.Context())
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	var secs []catalogSection
	for _, it := range items {
		if !it.Active {
			continue
		}
		if n := len(secs); n == 0 || secs[n-1].Category != it.Category {
			secs = append(secs, catalogSection{Category: it.Category})
		}
		secs[len(secs)-1].Items = append(secs[len(secs)-1].Items, it)
	}
	s.render(w, r, http.StatusOK, "desk_catalog", s.newView(r, "Catalog", "catalog", struct {
		Sections []catalogSection
		Admin    bool
	}{secs, auth.ActorFrom(r.Context()).Role.Allows(auth.RoleAdmin)}))
}

// catalogForm is the request form of one item with what was typed.
type catalogForm struct {
	Item                 servicedesk.CatalogItem
	Subject, Description string
	Values               map[string][]string
	Errors               fieldErrors
	KB                   bool
}

// Val is the first value typed for a field.
func (f catalogForm) Val(key string) string {
	if v := f.Values[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Has reports whether a choice of a field was picked.
func (f catalogForm) Has(key, opt string) bool { return slices.Contains(f.Values[key], opt) }

// Err is the error beside a field.
func (f catalogForm) Err(key string) string { return f.Errors["a_"+key] }

func (s *Server) catalogItemPage(w http.ResponseWriter, r *http.Request) {
	s.renderCatalogForm(w, r, http.StatusOK, catalogForm{Values: map[string][]string{}, Errors: fieldErrors{}})
}

func (s *Server) renderCatalogForm(w http.ResponseWriter, r *http.Request, status int, f catalogForm) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such item in the catalog.")
		return
	}
	f.Item, err = s.opts.ServiceDesk.CatalogItem(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !f.Item.Active) {
		s.renderError(w, r, http.StatusNotFound, "There is no such item in the catalog.")
		return
	}
	if err != nil {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if f.Subject == "" && status == http.StatusOK {
		f.Subject = f.Item.Name
	}
	f.KB = s.opts.KB != nil
	s.render(w, r, status, "desk_catalog_item", s.newView(r, f.Item.Name, "catalog", f))
}

func (s *Server) submitCatalogUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such item in the catalog.")
		return
	}
	f := catalogForm{Subject: strings.TrimSpace(r.PostFormValue("subject")), Description: r.PostFormValue("description"),
		Values: map[string][]string{}, Errors: fieldErrors{}}
	for k, v := range r.PostForm {
		if key, ok := strings.CutPrefix(k, "a_"); ok {
			f.Values[key] = v
		}
	}
	t, err := s.opts.ServiceDesk.SubmitRequest(r.Context(), id, servicedesk.CatalogRequest{Subject: f.Subject, Description: f.Description, Answers: f.Values})
	if err == nil {
		http.Redirect(w, r, "/tickets/"+strconv.FormatInt(t.ID, 10)+"?notice=request-sent", http.StatusSeeOther)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "There is no such item in the catalog.")
		return
	}
	ve, ok := valid.As(err)
	if !ok {
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if key, isAnswer := strings.CutPrefix(ve.Field, "answers."); isAnswer {
		f.Errors["a_"+key] = sentence(ve.Msg)
	} else if ve.Field == "subject" || ve.Field == "description" {
		f.Errors[ve.Field] = map[string]string{"subject": "Subject", "description": "Description"}[ve.Field] + " " + ve.Msg + "."
	} else {
		f.Errors[""] = sentence(ve.Error())
	}
	if f.Errors[""] == "" {
		f.Errors[""] = "The request was not sent: see the marked field."
	}
	s.renderCatalogForm(w, r, http.StatusUnprocessableEntity, f)
}

// ticketPortal is the ticket page's catalog answers and rating.
type ticketPortal struct {
	Form        *servicedesk.TicketForm
	Rating      *servicedesk.Rating
	CanRate     bool
	RateComment string
	RateError   string
}

// ticketPortalData reads a ticket's form and rating for its page over p
// (a refused rating's input); the requester of a resolved, unrated ticket
// gets the rating form.
func (s *Server) ticketPortalData(r *http.Request, t *servicedesk.Ticket, p ticketPortal) (ticketPortal, error) {
	var err error
	if p.Form, err = s.opts.ServiceDesk.TicketForm(r.Context(), t.ID); err != nil {
		return p, err
	}
	if p.Rating, err = s.opts.ServiceDesk.TicketRating(r.Context(), t.ID); err != nil {
		return p, err
	}
	me := auth.ActorFrom(r.Context())
	p.CanRate = p.Rating == nil && me.UserID == t.RequesterID && t.MergedInto == 0 &&
		(t.Status == servicedesk.StatusResolved || t.Status == servicedesk.StatusClosed)
	return p, nil
}

func (s *Server) rateTicketUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such ticket.")
		return
	}
	score, _ := strconv.Atoi(r.PostFormValue("score"))
	_, err = s.opts.ServiceDesk.Rate(r.Context(), id, score, r.PostFormValue("comment"))
	if err != nil {
		d := ticketPageData{Errors: fieldErrors{}}
		if ve, ok := valid.As(err); ok {
			d.Portal.RateComment, d.Portal.RateError = r.PostFormValue("comment"), sentence(ve.Msg)
			d.Errors[""] = "The rating was not recorded: " + sentence(ve.Msg)
			s.renderTicket(w, r, http.StatusUnprocessableEntity, d)
			return
		}
		s.actionFailed(w, r, d, err)
		return
	}
	http.Redirect(w, r, "/tickets/"+strconv.FormatInt(id, 10)+"?notice=rated#satisfaction", http.StatusSeeOther)
}

// rateLinkData is the page a signed rating link opens.
type rateLinkData struct {
	Token   string
	Ticket  *servicedesk.Ticket
	Rating  *servicedesk.Rating
	Score   string
	Comment string
	Problem string
	Done    bool
}

// Scores are the choices of the rating form.
func (rateLinkData) Scores() []string { return []string{"1", "2", "3", "4", "5"} }

func (s *Server) rateLinkPage(w http.ResponseWriter, r *http.Request) {
	d := rateLinkData{Token: r.PathValue("token"), Score: r.URL.Query().Get("score")}
	t, rt, err := s.opts.ServiceDesk.RatingLinkTicket(r.Context(), d.Token)
	status := http.StatusOK
	switch {
	case err == nil:
		d.Ticket, d.Rating = t, rt
	case errors.Is(err, servicedesk.ErrBadRatingLink) || errors.Is(err, store.ErrNotFound):
		d.Problem, status = sentence(errRatingLink.Error()), http.StatusNotFound
	default:
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	s.render(w, r, status, "desk_rate", s.newView(r, "Rate your request", "", d))
}

func (s *Server) rateLinkAct(w http.ResponseWriter, r *http.Request) {
	d := rateLinkData{Token: r.PathValue("token"), Score: r.PostFormValue("score"), Comment: r.PostFormValue("comment")}
	score, _ := strconv.Atoi(d.Score)
	_, err := s.opts.ServiceDesk.RateByLink(r.Context(), d.Token, score, d.Comment)
	status := http.StatusOK
	switch ve, isValid := valid.As(err); {
	case err == nil:
		d.Done = true
	case isValid:
		d.Problem, status = sentence(ve.Msg), http.StatusUnprocessableEntity
	case errors.Is(err, servicedesk.ErrBadRatingLink) || errors.Is(err, store.ErrNotFound):
		d.Problem, status = sentence(errRatingLink.Error()), http.StatusNotFound
	default:
		s.serverError(w, r, SurfaceUI, err)
		return
	}
	if t, rt, err := s.opts.ServiceDesk.RatingLinkTicket(r.Context(), d.Token); err == nil {
		d.Ticket, d.Rating = t, rt
	}
	s.render(w, r, status, "desk_rate", s.newView(r, "Rate your request", "", d))
}
