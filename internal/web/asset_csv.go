package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// assetCSVLimit caps an import request: the file cap plus room for the
// multipart envelope and the form's other fields.
const assetCSVLimit = assets.MaxCSVBytes + 64<<10

// readAssetCSV reads an import body: text/csv as it is, or the "file" part
// of a multipart form (the UI upload), or the "csv" field of a form (the
// UI's confirm step, which sends the checked file back).
func readAssetCSV(r *http.Request) ([]byte, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	tooBig := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return valid.Errorf("file", "is larger than %d MB", assets.MaxCSVBytes>>20)
		}
		return nil
	}
	switch mt {
	case "text/csv", "text/plain":
		data, err := io.ReadAll(r.Body)
		if e := tooBig(err); e != nil {
			return nil, e
		}
		return data, err
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			if e := tooBig(err); e != nil {
				return nil, e
			}
			return nil, valid.Errorf("file", "send the file as multipart/form-data in a part named file")
		}
		defer r.MultipartForm.RemoveAll()
		f, _, err := r.FormFile("file")
		if err != nil {
			return nil, valid.Errorf("file", "choose a CSV file")
		}
		defer f.Close()
		return io.ReadAll(io.LimitReader(f, assets.MaxCSVBytes+1))
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			if e := tooBig(err); e != nil {
				return nil, e
			}
			return nil, valid.Errorf("csv", "could not be read")
		}
		return []byte(r.PostForm.Get("csv")), nil
	}
	return nil, valid.Errorf("file", "send text/csv, or multipart/form-data with a part named file")
}

// apiImport answers the report: 200 when done (or a clean dry run), 422
// with every row error when the file was refused.
func (h *assetHandlers) apiImport(w http.ResponseWriter, r *http.Request) {
	dry := false
	if v := r.URL.Query().Get("dry_run"); v != "" {
		var err error
		if dry, err = strconv.ParseBool(v); err != nil {
			h.s.apiFail(w, r, valid.Errorf("dry_run", "must be true or false"))
			return
		}
	}
	data, err := readAssetCSV(r)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	rep, err := h.a.Import(r.Context(), data, dry)
	switch {
	case errors.Is(err, assets.ErrImportRefused):
		writeJSON(w, http.StatusUnprocessableEntity, rep)
	case err != nil:
		h.s.apiFail(w, r, err)
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}

// export writes the filtered list as a CSV download (API and UI).
func (h *assetHandlers) export(surface Surface) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := assetFilter(r)
		if err == nil {
			// Check the filters (sort, cursor...) before the headers go.
			probe := f
			probe.Limit = 1
			_, _, err = h.a.List(r.Context(), probe)
		}
		if err != nil {
			if surface == SurfaceAPI {
				h.s.apiFail(w, r, err)
			} else {
				if ve, ok := valid.As(err); ok {
					h.s.renderError(w, r, http.StatusUnprocessableEntity, "The export link has a bad filter: "+ve.Error())
				} else {
					h.s.serverError(w, r, SurfaceUI, err)
				}
			}
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="assets.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		if err := h.a.Export(r.Context(), w, f); err != nil {
			// Headers are gone; the log says why the file is short.
			h.s.log.ErrorContext(r.Context(), "asset export failed", "err", err)
		}
	}
}

// assetImportPage is the data of the import page: the upload form, then
// the dry run's report with a confirm form carrying the checked file.
type assetImportPage struct {
	Report  *assets.ImportReport
	CSV     string
	Errors  fieldErrors
	Refused bool
}

func (h *assetHandlers) importPage(w http.ResponseWriter, r *http.Request) {
	h.s.render(w, r, http.StatusOK, "asset_import", h.s.newView(r, "Import assets", "assets", assetImportPage{Errors: fieldErrors{}}))
}

// importUpload checks an uploaded file (a dry run) and shows the report.
func (h *assetHandlers) importUpload(w http.ResponseWriter, r *http.Request) {
	pg := assetImportPage{Errors: fieldErrors{}}
	data, err := readAssetCSV(r)
	var rep assets.ImportReport
	if err == nil {
		rep, err = h.a.Import(r.Context(), data, true)
		pg.Report = &rep
	}
	status := http.StatusOK
	switch {
	case errors.Is(err, assets.ErrImportRefused):
		pg.Refused, status = true, http.StatusUnprocessableEntity
	case err != nil:
		if !formError(err, pg.Errors, map[string]string{"file": "The file"}) {
			h.s.serverError(w, r, SurfaceUI, err)
			return
		}
		pg.Report, status = nil, http.StatusUnprocessableEntity
	default:
		pg.CSV = string(data)
	}
	h.s.render(w, r, status, "asset_import", h.s.newView(r, "Import assets", "assets", pg))
}

// importConfirm imports the file the dry run checked.
func (h *assetHandlers) importConfirm(w http.ResponseWriter, r *http.Request) {
	data, err := readAssetCSV(r)
	var rep assets.ImportReport
	if err == nil {
		rep, err = h.a.Import(r.Context(), data, false)
	}
	if err != nil {
		pg := assetImportPage{Errors: fieldErrors{}}
		switch {
		case errors.Is(err, assets.ErrImportRefused):
			pg.Report, pg.Refused = &rep, true
		case !formError(err, pg.Errors, map[string]string{"file": "The file", "csv": "The file"}):
			// A write refused in the transaction (a user removed since the
			// check): nothing was written; say so.
			pg.Errors[""] = "Nothing was imported: the data changed since the check (" + err.Error() + "). Upload the file again."
		}
		h.s.render(w, r, http.StatusUnprocessableEntity, "asset_import", h.s.newView(r, "Import assets", "assets", pg))
		return
	}
	http.Redirect(w, r, "/assets?notice=assets-imported", http.StatusSeeOther)
}
