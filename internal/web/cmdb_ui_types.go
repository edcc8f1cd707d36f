package web

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// ciTypesPage lists CI and relationship types; admins also get the form
// to add a relationship type.
type ciTypesPage struct {
	Types    []cmdb.CIType
	RelTypes []cmdb.RelationshipType
	Impacts  []option
	IsAdmin  bool
	Errors   fieldErrors
	// The add-relationship-type form as submitted.
	Key, Name, ReverseName, Impact string
	Message                        string
}

func impactOptions() []option {
	return []option{
		{string(cmdb.ImpactTargetToSource), "The target failing hurts the source (like depends on)"},
		{string(cmdb.ImpactSourceToTarget), "The source failing hurts the target"},
		{string(cmdb.ImpactBoth), "Either failing hurts the other"},
		{string(cmdb.ImpactNone), "No impact (recorded only)"},
	}
}

func (h *cmdbHandlers) typesPage(w http.ResponseWriter, r *http.Request) {
	h.renderTypes(w, r, http.StatusOK, ciTypesPage{Errors: fieldErrors{}, Impact: string(cmdb.ImpactTargetToSource)})
}

func (h *cmdbHandlers) renderTypes(w http.ResponseWriter, r *http.Request, status int, pg ciTypesPage) {
	var err error
	if pg.Types, err = h.c.Types(r.Context()); err == nil {
		pg.RelTypes, err = h.c.RelationshipTypes(r.Context())
	}
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	pg.Impacts, pg.IsAdmin = impactOptions(), auth.ActorFrom(r.Context()).Role.Allows(auth.RoleAdmin)
	h.s.render(w, r, status, "ci_types", h.s.newView(r, "CI types", "cis", pg))
}

func (h *cmdbHandlers) createRelType(w http.ResponseWriter, r *http.Request) {
	in := cmdb.RelationshipTypeInput{Key: r.PostFormValue("key"), Name: r.PostFormValue("name"), ReverseName: r.PostFormValue("reverse_name"),
		Impact: cmdb.Impact(r.PostFormValue("impact"))}
	if _, err := h.c.CreateRelationshipType(r.Context(), in); err != nil {
		pg := ciTypesPage{Errors: fieldErrors{}, Key: echo(in.Key), Name: echo(in.Name), ReverseName: echo(in.ReverseName), Impact: echo(string(in.Impact))}
		if !formError(err, pg.Errors, map[string]string{"key": "Key", "name": "Name", "reverse_name": "Reverse name", "impact": "Impact"}) {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
		if errors.Is(err, store.ErrConflict) {
			pg.Errors = fieldErrors{"key": "Key is already used by another relationship type."}
		}
		h.renderTypes(w, r, http.StatusUnprocessableEntity, pg)
		return
	}
	http.Redirect(w, r, "/ci-types?notice=reltype-created#relationship-types", http.StatusSeeOther)
}

func (h *cmdbHandlers) removeRelType(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = h.c.DeleteRelationshipType(r.Context(), id)
	}
	var refused *cmdb.Refusal
	switch {
	case errors.As(err, &refused):
		h.renderTypes(w, r, http.StatusConflict, ciTypesPage{Errors: fieldErrors{}, Message: sentence(refused.Msg), Impact: string(cmdb.ImpactTargetToSource)})
		return
	case err != nil && !errors.Is(err, store.ErrNotFound):
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	http.Redirect(w, r, "/ci-types?notice=reltype-deleted#relationship-types", http.StatusSeeOther)
}

// attrRow is one attribute line of the type editor.
type attrRow struct {
	N                              int
	Key, Label, Type, Values, Help string
	Required                       bool
	Error                          string
}

// typeFormPage is the data of the CI type editor.
type typeFormPage struct {
	Editing                bool
	T                      cmdb.CIType
	Key, Name, Description string
	Service                bool
	Rows                   []attrRow
	AttrTypes              []option
	Errors                 fieldErrors
	Action                 string
}

// blankRows are the empty attribute lines the editor offers for new ones.
const blankRows = 3

func newTypeForm() typeFormPage {
	return typeFormPage{Errors: fieldErrors{}, AttrTypes: options(cmdb.AttrTypes()), Action: "/ci-types/new"}
}

func (f *typeFormPage) rowsFrom(s cmdb.Schema) {
	f.Rows = nil
	for i, a := range s {
		f.Rows = append(f.Rows, attrRow{N: i, Key: a.Key, Label: a.Label, Type: string(a.Type), Values: strings.Join(a.Values, ", "), Help: a.Help, Required: a.Required})
	}
	for i := range blankRows {
		f.Rows = append(f.Rows, attrRow{N: len(s) + i, Type: "string"})
	}
}

func (h *cmdbHandlers) newTypePage(w http.ResponseWriter, r *http.Request) {
	f := newTypeForm()
	f.rowsFrom(nil)
	h.s.render(w, r, http.StatusOK, "ci_type_form", h.s.newView(r, "New CI type", "cis", f))
}

func (h *cmdbHandlers) loadType(w http.ResponseWriter, r *http.Request) (cmdb.CIType, bool) {
	id, err := pathID(r)
	var t cmdb.CIType
	if err == nil {
		t, err = h.c.Type(r.Context(), id)
	}
	if _, bad := valid.As(err); bad || errors.Is(err, store.ErrNotFound) {
		h.s.renderError(w, r, http.StatusNotFound, "There is no such CI type.")
		return t, false
	}
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return t, false
	}
	return t, true
}

func (h *cmdbHandlers) editTypePage(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadType(w, r)
	if !ok {
		return
	}
	f := newTypeForm()
	f.Editing, f.T, f.Key, f.Name, f.Description, f.Service = true, t, t.Key, t.Name, t.Description, t.Service
	f.Action = "/ci-types/" + strconv.FormatInt(t.ID, 10)
	f.rowsFrom(t.Attributes)
	h.s.render(w, r, http.StatusOK, "ci_type_form", h.s.newView(r, "CI type "+t.Name, "cis", f))
}

var attrErrRE = regexp.MustCompile(`^attributes\[(\d+)\]\.`)

// readTypeForm reads the editor: the type's fields and every attribute
// line with a key (lines left blank are dropped). rowOf maps the schema's
// index back to the form line, to show an error beside it.
func readTypeForm(r *http.Request, f *typeFormPage) (cmdb.CITypeInput, []int) {
	f.Key, f.Name, f.Description = echo(r.PostFormValue("key")), echo(r.PostFormValue("name")), echo(r.PostFormValue("description"))
	f.Service = r.PostFormValue("service") == "1"
	in := cmdb.CITypeInput{Key: r.PostFormValue("key"), Name: r.PostFormValue("name"), Description: r.PostFormValue("description"), Service: f.Service, Attributes: cmdb.Schema{}}
	var rowOf []int
	f.Rows = nil
	for n := 0; n < cmdb.MaxAttributes+blankRows; n++ {
		p := func(k string) string { return r.PostFormValue(fmt.Sprintf("a%d_%s", n, k)) }
		row := attrRow{N: len(f.Rows), Key: echo(p("key")), Label: echo(p("label")), Type: echo(p("type")), Values: echo(p("values")), Help: echo(p("help")), Required: p("required") == "1"}
		if strings.TrimSpace(row.Key) == "" {
			continue
		}
		a := cmdb.Attribute{Key: p("key"), Label: p("label"), Type: cmdb.AttrType(p("type")), Required: row.Required, Help: p("help")}
		for _, v := range strings.Split(p("values"), ",") {
			if v = strings.TrimSpace(v); v != "" {
				a.Values = append(a.Values, v)
			}
		}
		in.Attributes = append(in.Attributes, a)
		rowOf = append(rowOf, len(f.Rows))
		f.Rows = append(f.Rows, row)
	}
	for range blankRows {
		f.Rows = append(f.Rows, attrRow{N: len(f.Rows), Type: "string"})
	}
	return in, rowOf
}

// typeFailed shows the editor again with err beside its field or line.
func (h *cmdbHandlers) typeFailed(w http.ResponseWriter, r *http.Request, f *typeFormPage, rowOf []int, err error) {
	var refused *cmdb.Refusal
	switch ve, ok := valid.As(err); {
	case ok && attrErrRE.MatchString(ve.Field):
		i, _ := strconv.Atoi(attrErrRE.FindStringSubmatch(ve.Field)[1])
		part := strings.TrimPrefix(ve.Field, attrErrRE.FindString(ve.Field))
		if i < len(rowOf) {
			f.Rows[rowOf[i]].Error = sentence(strings.ToUpper(part[:1]) + part[1:] + " " + ve.Msg)
		}
		f.Errors[""] = "An attribute needs your attention; see the message beside it."
	case errors.As(err, &refused):
		f.Errors[""] = sentence(refused.Msg)
	case errors.Is(err, store.ErrConflict):
		f.Errors["key"] = "Key is already used by another CI type."
	case !formError(err, f.Errors, map[string]string{"key": "Key", "name": "Name", "description": "Description", "attributes": "Attributes"}):
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	h.s.render(w, r, http.StatusUnprocessableEntity, "ci_type_form", h.s.newView(r, "CI type", "cis", *f))
}

func (h *cmdbHandlers) createType(w http.ResponseWriter, r *http.Request) {
	f := newTypeForm()
	in, rowOf := readTypeForm(r, &f)
	t, err := h.c.CreateType(r.Context(), in)
	if err != nil {
		h.typeFailed(w, r, &f, rowOf, err)
		return
	}
	http.Redirect(w, r, "/ci-types/"+strconv.FormatInt(t.ID, 10)+"?notice=citype-saved", http.StatusSeeOther)
}

func (h *cmdbHandlers) updateType(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadType(w, r)
	if !ok {
		return
	}
	f := newTypeForm()
	f.Editing, f.T, f.Action = true, t, "/ci-types/"+strconv.FormatInt(t.ID, 10)
	in, rowOf := readTypeForm(r, &f)
	if t.Builtin {
		in.Key, f.Key = t.Key, t.Key
	}
	if _, err := h.c.UpdateType(r.Context(), t.ID, in); err != nil {
		h.typeFailed(w, r, &f, rowOf, err)
		return
	}
	http.Redirect(w, r, "/ci-types/"+strconv.FormatInt(t.ID, 10)+"?notice=citype-saved", http.StatusSeeOther)
}

func (h *cmdbHandlers) removeType(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadType(w, r)
	if !ok {
		return
	}
	if err := h.c.DeleteType(r.Context(), t.ID); err != nil {
		f := newTypeForm()
		f.Editing, f.T, f.Key, f.Name, f.Description, f.Service = true, t, t.Key, t.Name, t.Description, t.Service
		f.Action = "/ci-types/" + strconv.FormatInt(t.ID, 10)
		f.rowsFrom(t.Attributes)
		h.typeFailed(w, r, &f, nil, err)
		return
	}
	http.Redirect(w, r, "/ci-types?notice=citype-deleted", http.StatusSeeOther)
}
