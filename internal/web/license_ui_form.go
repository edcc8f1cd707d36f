package web

import (
	"net/http"
	"strconv"
	"strings"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// licenseFormPage is the data of the license form; V holds what the form
// shows, by input name. The key is never put back into the form: on an
// edit, an empty key field keeps the stored key.
type licenseFormPage struct {
	Editing bool
	License assets.License
	V       map[string]string
	Types   []option
	Errors  fieldErrors
	Action  string
}

var licenseLabels = map[string]string{"product": "Product", "publisher": "Publisher", "license_type": "Type", "seats": "Seats bought",
	"license_key": "License key", "purchase_date": "Purchase date", "cost": "Cost", "currency": "Currency", "supplier": "Supplier",
	"expires": "Expiry or renewal", "notes": "Notes", "patterns": "Software match"}

var licenseFormFields = []string{"product", "publisher", "license_type", "seats", "purchase_date", "cost", "currency", "supplier",
	"expires", "notes", "patterns", "clear_key"}

func (h *licenseHandlers) renderForm(w http.ResponseWriter, r *http.Request, f licenseFormPage, status int) {
	f.Types = licenseTypeOptions()
	title := "New license"
	if f.Editing {
		title = "Edit " + f.License.Product
	}
	h.s.render(w, r, status, "license_form", h.s.newView(r, title, "licenses", f))
}

func (h *licenseHandlers) newPage(w http.ResponseWriter, r *http.Request) {
	h.renderForm(w, r, licenseFormPage{V: map[string]string{"license_type": "per_device"}, Errors: fieldErrors{}, Action: "/licenses/new"}, http.StatusOK)
}

// readForm reads the posted form into an input, keeping what to show again
// in f.V (never the key).
func readLicenseForm(r *http.Request, f *licenseFormPage) (assets.LicenseInput, error) {
	for _, k := range licenseFormFields {
		f.V[k] = echo(r.PostFormValue(k))
	}
	in := assets.LicenseInput{Product: r.PostFormValue("product"), Publisher: r.PostFormValue("publisher"),
		Type: assets.LicenseType(r.PostFormValue("license_type")), PurchaseDate: r.PostFormValue("purchase_date"),
		Currency: r.PostFormValue("currency"), Supplier: r.PostFormValue("supplier"), Expires: r.PostFormValue("expires"),
		Notes: r.PostFormValue("notes"), Patterns: assets.SplitPatterns(r.PostFormValue("patterns"))}
	if len(r.PostFormValue("patterns")) > assets.MaxPatterns*(assets.MaxPatternLen+2) {
		return in, valid.Errorf("patterns", "is too long")
	}
	if v := strings.TrimSpace(r.PostFormValue("seats")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return in, valid.Errorf("seats", "must be a whole number")
		}
		in.Seats = n
	}
	if key := r.PostFormValue("license_key"); key != "" {
		in.LicenseKey = &key
	} else if r.PostFormValue("clear_key") != "" || !f.Editing {
		empty := ""
		in.LicenseKey = &empty
	}
	var err error
	in.CostCents, err = assets.ParseCost("cost", r.PostFormValue("cost"))
	return in, err
}

func (h *licenseHandlers) failed(w http.ResponseWriter, r *http.Request, f licenseFormPage, err error) {
	if !formError(err, f.Errors, licenseLabels) {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	h.renderForm(w, r, f, http.StatusUnprocessableEntity)
}

func (h *licenseHandlers) create(w http.ResponseWriter, r *http.Request) {
	f := licenseFormPage{V: map[string]string{}, Errors: fieldErrors{}, Action: "/licenses/new"}
	in, err := readLicenseForm(r, &f)
	var l assets.License
	if err == nil {
		l, err = h.a.CreateLicense(r.Context(), in)
	}
	if err != nil {
		h.failed(w, r, f, err)
		return
	}
	http.Redirect(w, r, licenseURL(l.ID)+"?notice=license-created", http.StatusSeeOther)
}

func editLicenseForm(l assets.License) licenseFormPage {
	return licenseFormPage{Editing: true, License: l, V: map[string]string{}, Errors: fieldErrors{}, Action: licenseURL(l.ID) + "/edit"}
}

func (h *licenseHandlers) editPage(w http.ResponseWriter, r *http.Request) {
	st, ok := h.load(w, r)
	if !ok {
		return
	}
	l := st.License
	f := editLicenseForm(l)
	f.V = map[string]string{"product": l.Product, "publisher": l.Publisher, "license_type": string(l.Type),
		"seats": strconv.FormatInt(l.Seats, 10), "purchase_date": l.PurchaseDate, "currency": l.Currency, "supplier": l.Supplier,
		"expires": l.Expires, "notes": l.Notes, "patterns": strings.Join(l.Patterns, "\n")}
	if l.CostCents != nil {
		f.V["cost"] = assets.FormatCents(*l.CostCents)
	}
	h.renderForm(w, r, f, http.StatusOK)
}

func (h *licenseHandlers) update(w http.ResponseWriter, r *http.Request) {
	st, ok := h.load(w, r)
	if !ok {
		return
	}
	f := editLicenseForm(st.License)
	in, err := readLicenseForm(r, &f)
	if err == nil {
		_, err = h.a.UpdateLicense(r.Context(), st.ID, in)
	}
	if err != nil {
		h.failed(w, r, f, err)
		return
	}
	http.Redirect(w, r, licenseURL(st.ID)+"?notice=license-saved", http.StatusSeeOther)
}
