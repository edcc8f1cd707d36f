package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// attrField is one attribute input of the CI form, drawn by its kind.
type attrField struct {
	Name, Label, Input, Value, Error, Help, Step string
	Required                                     bool
	Options                                      []string
}

// ciFormPage is the data of the CI form; Choose shows the type choice
// that comes before it.
type ciFormPage struct {
	Editing, Choose                                       bool
	CI                                                    cmdb.CI
	Type                                                  cmdb.CIType
	Types                                                 []cmdb.CIType
	Name, Description, OwnerTeam, Crit, Env, Status, Tags string
	Environments, Statuses, Criticalities                 []option
	Attrs                                                 []attrField
	Selects                                               []selectFilter
	Errors                                                fieldErrors
	Action                                                string
}

var ciLabels = map[string]string{"name": "Name", "description": "Description", "owner_team": "Owner team", "criticality": "Criticality",
	"environment": "Environment", "status": "Lifecycle status", "tags": "Tags", "type": "Type"}

// attrInputKind is the HTML input for an attribute kind.
func attrInputKind(t cmdb.AttrType) (input, step string) {
	switch t {
	case cmdb.AttrInt:
		return "number", "1"
	case cmdb.AttrFloat:
		return "number", "any"
	case cmdb.AttrBool:
		return "checkbox", ""
	case cmdb.AttrDate:
		return "date", ""
	case cmdb.AttrEnum:
		return "select", ""
	case cmdb.AttrURL:
		return "url", ""
	}
	return "text", ""
}

func (h *cmdbHandlers) newForm(r *http.Request, t cmdb.CIType) ciFormPage {
	return ciFormPage{Type: t, Errors: fieldErrors{}, Crit: "medium", Env: "prod", Status: "active", Action: "/cis/new?type=" + url.QueryEscape(t.Key),
		Environments: options(cmdb.Environments()), Statuses: options(cmdb.Statuses()), Criticalities: options(cmdb.Criticalities())}
}

// fillAttrs builds the attribute inputs from values (as the form shows them).
func (f *ciFormPage) fillAttrs(values map[string]string) {
	f.Selects = []selectFilter{{"environment", "Environment", f.Env, f.Environments}, {"status", "Lifecycle status", f.Status, f.Statuses},
		{"criticality", "Criticality", f.Crit, f.Criticalities}}
	f.Attrs = nil
	for _, a := range f.Type.Attributes {
		in, step := attrInputKind(a.Type)
		f.Attrs = append(f.Attrs, attrField{Name: "attr_" + a.Key, Label: a.Label, Input: in, Step: step, Value: values[a.Key],
			Error: f.Errors["attributes."+a.Key], Help: a.Help, Required: a.Required, Options: a.Values})
	}
}

func (h *cmdbHandlers) newPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	key := r.URL.Query().Get("type")
	if key == "" {
		ts, err := h.c.Types(ctx)
		if err != nil {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
		h.s.render(w, r, http.StatusOK, "ci_form", h.s.newView(r, "New configuration item", "cis", ciFormPage{Choose: true, Types: ts}))
		return
	}
	t, err := h.c.TypeByKey(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such CI type; choose one from the list.")
		return
	}
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	f := h.newForm(r, t)
	f.fillAttrs(nil)
	h.s.render(w, r, http.StatusOK, "ci_form", h.s.newView(r, "New "+t.Name, "cis", f))
}

// readCIForm reads the posted form into an input and the values to show
// again; attribute values are converted by the type's schema.
func readCIForm(r *http.Request, f *ciFormPage) (cmdb.CIInput, map[string]string, error) {
	f.Name, f.Description, f.OwnerTeam = echo(r.PostFormValue("name")), echo(r.PostFormValue("description")), echo(r.PostFormValue("owner_team"))
	f.Crit, f.Env, f.Status, f.Tags = echo(r.PostFormValue("criticality")), echo(r.PostFormValue("environment")), echo(r.PostFormValue("status")), echo(r.PostFormValue("tags"))
	in := cmdb.CIInput{Type: f.Type.Key, Name: r.PostFormValue("name"), Description: r.PostFormValue("description"), OwnerTeam: r.PostFormValue("owner_team"),
		Criticality: cmdb.Criticality(r.PostFormValue("criticality")), Environment: cmdb.Environment(r.PostFormValue("environment")),
		Status: cmdb.Status(r.PostFormValue("status"))}
	for _, t := range strings.Split(r.PostFormValue("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			in.Tags = append(in.Tags, t)
		}
	}
	raw := map[string]string{}
	shown := map[string]string{}
	for _, a := range f.Type.Attributes {
		v := r.PostFormValue("attr_" + a.Key)
		raw[a.Key], shown[a.Key] = v, echo(v)
	}
	attrs, err := f.Type.Attributes.FromText(raw)
	in.Attributes = attrs
	return in, shown, err
}

func (h *cmdbHandlers) create(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := h.c.TypeByKey(ctx, r.URL.Query().Get("type"))
	if errors.Is(err, store.ErrNotFound) {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such CI type; choose one from the list.")
		return
	}
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	f := h.newForm(r, t)
	in, shown, err := readCIForm(r, &f)
	var c cmdb.CI
	if err == nil {
		c, err = h.c.Create(ctx, in)
	}
	if err != nil {
		h.formFailed(w, r, &f, shown, err, "New "+t.Name)
		return
	}
	http.Redirect(w, r, "/cis/"+strconv.FormatInt(c.ID, 10)+"?notice=ci-created", http.StatusSeeOther)
}

// formFailed shows the CI form again with err beside its field.
func (h *cmdbHandlers) formFailed(w http.ResponseWriter, r *http.Request, f *ciFormPage, shown map[string]string, err error, title string) {
	labels := map[string]string{}
	for k, v := range ciLabels {
		labels[k] = v
	}
	for _, a := range f.Type.Attributes {
		labels["attributes."+a.Key] = a.Label
	}
	if !formError(err, f.Errors, labels) {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	if errors.Is(err, store.ErrConflict) {
		delete(f.Errors, "")
		f.Errors["name"] = "Name is already used by another " + f.Type.Name + "."
	}
	f.fillAttrs(shown)
	h.s.render(w, r, http.StatusUnprocessableEntity, "ci_form", h.s.newView(r, title, "cis", *f))
}

// editForm loads the CI of the path and its type into an edit form.
func (h *cmdbHandlers) editForm(w http.ResponseWriter, r *http.Request) (cmdb.CI, ciFormPage, bool) {
	c, ok := h.loadCI(w, r)
	if !ok {
		return c, ciFormPage{}, false
	}
	t, err := h.c.Type(r.Context(), c.TypeID)
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return c, ciFormPage{}, false
	}
	f := h.newForm(r, t)
	f.Editing, f.CI, f.Action = true, c, "/cis/"+strconv.FormatInt(c.ID, 10)+"/edit"
	return c, f, true
}

func (h *cmdbHandlers) editPage(w http.ResponseWriter, r *http.Request) {
	c, f, ok := h.editForm(w, r)
	if !ok {
		return
	}
	t := f.Type
	f.Name, f.Description, f.OwnerTeam, f.Crit, f.Env, f.Status = c.Name, c.Description, c.OwnerTeam, string(c.Criticality), string(c.Environment), string(c.Status)
	f.Tags = strings.Join(c.Tags, ", ")
	shown := map[string]string{}
	for _, a := range t.Attributes {
		if v, ok := c.Attributes[a.Key]; ok {
			shown[a.Key] = a.FormValue(v)
		}
	}
	f.fillAttrs(shown)
	h.s.render(w, r, http.StatusOK, "ci_form", h.s.newView(r, "Edit "+c.Name, "cis", f))
}

func (h *cmdbHandlers) update(w http.ResponseWriter, r *http.Request) {
	c, f, ok := h.editForm(w, r)
	if !ok {
		return
	}
	in, shown, err := readCIForm(r, &f)
	if err == nil {
		_, err = h.c.Update(r.Context(), c.ID, in)
	}
	if err != nil {
		h.formFailed(w, r, &f, shown, err, "Edit "+c.Name)
		return
	}
	http.Redirect(w, r, "/cis/"+strconv.FormatInt(c.ID, 10)+"?notice=ci-saved", http.StatusSeeOther)
}

func (h *cmdbHandlers) remove(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadCI(w, r)
	if !ok {
		return
	}
	if err := h.c.Delete(r.Context(), c.ID); err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/cis?notice=ci-deleted", http.StatusSeeOther)
}

// findPeer resolves the add-relationship form's "other CI": an id, or an
// exact name.
func (h *cmdbHandlers) findPeer(r *http.Request, v string) (int64, error) {
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "#"))
	if v == "" {
		return 0, valid.Errorf("peer", "is required: type the other CI's name or id")
	}
	if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	if err := valid.Text("peer", v, true, cmdb.MaxName, false); err != nil {
		return 0, err
	}
	cs, _, err := h.c.List(r.Context(), cmdb.ListFilter{Query: v, Limit: 100})
	if err != nil {
		return 0, err
	}
	var found []cmdb.CI
	for _, c := range cs {
		if strings.EqualFold(c.Name, v) {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return 0, valid.Errorf("peer", "matches no CI by that name; check the spelling or use its id")
	case 1:
		return found[0].ID, nil
	}
	return 0, valid.Errorf("peer", "matches %d CIs of different types; use the id of the one you mean", len(found))
}

// relate adds a relationship from the CI's page.
func (h *cmdbHandlers) relate(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadCI(w, r)
	if !ok {
		return
	}
	peer, err := h.findPeer(r, r.PostFormValue("peer"))
	if err == nil {
		in := cmdb.RelationshipInput{Type: r.PostFormValue("type"), SourceID: c.ID, TargetID: peer}
		if r.PostFormValue("direction") == "in" {
			in.SourceID, in.TargetID = peer, c.ID
		}
		_, err = h.c.Relate(r.Context(), in)
	}
	if err != nil {
		errs := fieldErrors{}
		labels := map[string]string{"peer": "The other CI", "type": "Relationship", "source_id": "The other CI", "target_id": "The other CI"}
		if !formError(err, errs, labels) {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
		if errors.Is(err, store.ErrConflict) {
			errs = fieldErrors{"peer": "These two CIs are already related this way."}
		}
		for _, k := range []string{"source_id", "target_id"} {
			if e, ok := errs[k]; ok {
				errs["peer"] = e
			}
		}
		h.renderDetail(w, r, c, http.StatusUnprocessableEntity, errs, r.PostForm)
		return
	}
	http.Redirect(w, r, "/cis/"+strconv.FormatInt(c.ID, 10)+"?notice=ci-related#relationships", http.StatusSeeOther)
}

func (h *cmdbHandlers) unrelate(w http.ResponseWriter, r *http.Request) {
	h.removeFromCI(w, r, "relationship_id", "ci-unrelated#relationships", func(ciID, id int64) error {
		rel, err := h.c.Relationship(r.Context(), id)
		if err == nil && rel.Source.ID != ciID && rel.Target.ID != ciID {
			err = store.ErrNotFound
		}
		if err == nil {
			err = h.c.Unrelate(r.Context(), id)
		}
		return err
	})
}

// removeFromCI handles the remove buttons of a CI's page: it reads the id
// in field, lets remove check that it belongs to the CI and remove it, and
// goes back to the page. Something already gone (a double click) is no
// error.
func (h *cmdbHandlers) removeFromCI(w http.ResponseWriter, r *http.Request, field, notice string, remove func(ciID, id int64) error) {
	c, ok := h.loadCI(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PostFormValue(field), 10, 64)
	if err == nil {
		err = remove(c.ID, id)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, strconv.ErrSyntax) {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/cis/"+strconv.FormatInt(c.ID, 10)+"?notice="+notice, http.StatusSeeOther)
}

// link ties a monitor to the CI from the CI's page.
func (h *cmdbHandlers) link(w http.ResponseWriter, r *http.Request) {
	c, ok := h.loadCI(w, r)
	if !ok {
		return
	}
	mid, err := strconv.ParseInt(r.PostFormValue("monitor_id"), 10, 64)
	if err != nil || mid <= 0 {
		err = valid.Errorf("monitor_id", "choose a monitor")
	} else {
		_, err = h.c.LinkObject(r.Context(), c.ID, cmdb.LinkMonitor, mid)
	}
	if err != nil {
		errs := fieldErrors{}
		if !formError(err, errs, map[string]string{"monitor_id": "Monitor", "object_id": "Monitor"}) {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
		if e, ok := errs["object_id"]; ok {
			errs["monitor_id"] = e
		}
		if errors.Is(err, store.ErrConflict) {
			errs = fieldErrors{"monitor_id": "This monitor is already linked."}
		}
		h.renderDetail(w, r, c, http.StatusUnprocessableEntity, errs, r.PostForm)
		return
	}
	http.Redirect(w, r, "/cis/"+strconv.FormatInt(c.ID, 10)+"?notice=ci-linked#monitors", http.StatusSeeOther)
}

func (h *cmdbHandlers) unlink(w http.ResponseWriter, r *http.Request) {
	h.removeFromCI(w, r, "link_id", "ci-unlinked#monitors", func(ciID, id int64) error {
		l, err := h.c.GetLink(r.Context(), id)
		if err == nil && l.CI.ID != ciID {
			err = store.ErrNotFound
		}
		if err == nil {
			err = h.c.Unlink(r.Context(), id)
		}
		return err
	})
}
