package web

import (
	"net/http"
	"strconv"
	"strings"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// assetFormPage is the data of the asset form. Values hold what the form
// shows, by input name.
type assetFormPage struct {
	Editing bool
	Asset   assets.Asset
	V       map[string]string
	Selects []selectFilter
	Errors  fieldErrors
	Action  string
}

var assetLabels = map[string]string{"tag": "Asset tag", "kind": "Kind", "status": "Status", "serial": "Serial number", "model": "Model",
	"manufacturer": "Manufacturer", "category": "Category", "location": "Location", "owner_id": "Owner", "cost": "Cost",
	"currency": "Currency", "supplier": "Supplier", "purchase_date": "Purchase date", "warranty_end": "Warranty end",
	"lease_end": "Lease end", "notes": "Notes", "ci_id": "Linked CI", "ci": "Linked CI"}

// assetFormFields are the posted inputs the form echoes back.
var assetFormFields = []string{"tag", "kind", "status", "serial", "model", "manufacturer", "category", "location", "owner_id", "cost",
	"currency", "supplier", "purchase_date", "warranty_end", "lease_end", "notes", "ci"}

func (h *assetHandlers) form(r *http.Request, f *assetFormPage) error {
	users, err := h.userOptions(r)
	if err != nil {
		return err
	}
	kinds := []option{{"hardware", "Hardware"}, {"software", "Software"}}
	f.Selects = []selectFilter{{"kind", "Kind", f.V["kind"], kinds}}
	if !f.Editing {
		f.Selects = append(f.Selects, selectFilter{"status", "Status", f.V["status"], statusOptions()})
	}
	f.Selects = append(f.Selects, selectFilter{"owner_id", "Owner", f.V["owner_id"], append([]option{{"", "—"}}, users...)})
	return nil
}

func (h *assetHandlers) newPage(w http.ResponseWriter, r *http.Request) {
	f := assetFormPage{V: map[string]string{"kind": "hardware", "status": "in_stock"}, Errors: fieldErrors{}, Action: "/assets/new"}
	if err := h.form(r, &f); err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	h.s.render(w, r, http.StatusOK, "asset_form", h.s.newView(r, "New asset", "assets", f))
}

// readAssetForm reads the posted form into an input, keeping what to show
// again in f.V.
func (h *assetHandlers) readAssetForm(r *http.Request, f *assetFormPage) (assets.Input, error) {
	for _, k := range assetFormFields {
		f.V[k] = echo(r.PostFormValue(k))
	}
	in := assets.Input{Tag: r.PostFormValue("tag"), Kind: assets.Kind(r.PostFormValue("kind")), Status: assets.Status(r.PostFormValue("status")),
		Serial: r.PostFormValue("serial"), Model: r.PostFormValue("model"), Manufacturer: r.PostFormValue("manufacturer"),
		Category: r.PostFormValue("category"), Location: r.PostFormValue("location"), Currency: r.PostFormValue("currency"),
		Supplier: r.PostFormValue("supplier"), PurchaseDate: r.PostFormValue("purchase_date"), WarrantyEnd: r.PostFormValue("warranty_end"),
		LeaseEnd: r.PostFormValue("lease_end"), Notes: r.PostFormValue("notes")}
	if v := r.PostFormValue("owner_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return in, valid.Errorf("owner_id", "must be one of the listed users")
		}
		in.OwnerID = id
	}
	var err error
	if in.CostCents, err = assets.ParseCost("cost", r.PostFormValue("cost")); err != nil {
		return in, err
	}
	in.CIID, err = h.findCI(r, r.PostFormValue("ci"))
	return in, err
}

// findCI resolves the form's linked CI: an id, or an exact CI name.
func (h *assetHandlers) findCI(r *http.Request, v string) (int64, error) {
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "#"))
	if v == "" {
		return 0, nil
	}
	if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
		return id, nil
	}
	if err := valid.Text("ci", v, true, cmdb.MaxName, false); err != nil {
		return 0, err
	}
	if h.s.opts.CMDB == nil {
		return 0, valid.Errorf("ci", "cannot be set: the CMDB is not enabled")
	}
	cs, _, err := h.s.opts.CMDB.List(r.Context(), cmdb.ListFilter{Query: v, Limit: 100})
	if err != nil {
		return 0, err
	}
	var found []int64
	for _, c := range cs {
		if strings.EqualFold(c.Name, v) {
			found = append(found, c.ID)
		}
	}
	switch len(found) {
	case 0:
		return 0, valid.Errorf("ci", "matches no CI by that name; check the spelling or use its id")
	case 1:
		return found[0], nil
	}
	return 0, valid.Errorf("ci", "names %d CIs; use the id of the one you mean", len(found))
}

// failed shows the form again with err beside its field.
func (h *assetHandlers) failed(w http.ResponseWriter, r *http.Request, f *assetFormPage, err error, title string) {
	if !formError(err, f.Errors, assetLabels) {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	if msg, ok := f.Errors["ci_id"]; ok {
		delete(f.Errors, "ci_id")
		f.Errors["ci"] = msg
	}
	if err := h.form(r, f); err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	h.s.render(w, r, http.StatusUnprocessableEntity, "asset_form", h.s.newView(r, title, "assets", *f))
}

func (h *assetHandlers) create(w http.ResponseWriter, r *http.Request) {
	f := assetFormPage{V: map[string]string{}, Errors: fieldErrors{}, Action: "/assets/new"}
	in, err := h.readAssetForm(r, &f)
	var a assets.Asset
	if err == nil {
		a, err = h.a.Create(r.Context(), in)
	}
	if err != nil {
		h.failed(w, r, &f, err, "New asset")
		return
	}
	http.Redirect(w, r, "/assets/"+strconv.FormatInt(a.ID, 10)+"?notice=asset-created", http.StatusSeeOther)
}

func (h *assetHandlers) editForm(a assets.Asset) assetFormPage {
	return assetFormPage{Editing: true, Asset: a, V: map[string]string{}, Errors: fieldErrors{}, Action: "/assets/" + strconv.FormatInt(a.ID, 10) + "/edit"}
}

func (h *assetHandlers) editPage(w http.ResponseWriter, r *http.Request) {
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	f := h.editForm(a)
	f.V = map[string]string{"tag": a.Tag, "kind": string(a.Kind), "serial": a.Serial, "model": a.Model, "manufacturer": a.Manufacturer,
		"category": a.Category, "location": a.Location, "currency": a.Currency, "supplier": a.Supplier, "purchase_date": a.PurchaseDate,
		"warranty_end": a.WarrantyEnd, "lease_end": a.LeaseEnd, "notes": a.Notes}
	if a.Owner != nil {
		f.V["owner_id"] = strconv.FormatInt(a.Owner.ID, 10)
	}
	if a.CostCents != nil {
		f.V["cost"] = assets.FormatCents(*a.CostCents)
	}
	if a.CI != nil {
		f.V["ci"] = strconv.FormatInt(a.CI.ID, 10)
	}
	if err := h.form(r, &f); err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	h.s.render(w, r, http.StatusOK, "asset_form", h.s.newView(r, "Edit "+a.Tag, "assets", f))
}

func (h *assetHandlers) update(w http.ResponseWriter, r *http.Request) {
	a, ok := h.load(w, r)
	if !ok {
		return
	}
	f := h.editForm(a)
	in, err := h.readAssetForm(r, &f)
	if err == nil {
		in.Status = ""
		_, err = h.a.Update(r.Context(), a.ID, in)
	}
	if err != nil {
		h.failed(w, r, &f, err, "Edit "+a.Tag)
		return
	}
	http.Redirect(w, r, "/assets/"+strconv.FormatInt(a.ID, 10)+"?notice=asset-saved", http.StatusSeeOther)
}
