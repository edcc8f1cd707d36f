package web

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// attachmentRoutes upload, list and download a ticket's files, in the API
// and the UI. Uploads are multipart forms with one "file" part; their body
// cap is the attachment cap plus room for the form's other parts.
func (s *Server) attachmentRoutes() []Route {
	limit := s.opts.ServiceDesk.MaxAttachment() + 64<<10
	return []Route{
		{Method: "GET", Path: "/api/v1/tickets/{id}/attachments", Role: auth.RoleRequester, Surface: SurfaceAPI, Handler: s.apiListAttachments},
		{Method: "POST", Path: "/api/v1/tickets/{id}/attachments", Role: auth.RoleRequester, Surface: SurfaceAPI, Handler: s.apiAddAttachment, MaxBodyBytes: limit},
		{Method: "GET", Path: "/api/v1/tickets/{id}/attachments/{aid}", Role: auth.RoleRequester, Surface: SurfaceAPI, Handler: s.downloadAttachment(SurfaceAPI)},
		{Method: "POST", Path: "/tickets/{id}/attachments", Role: auth.RoleRequester, Surface: SurfaceUI, Handler: s.uploadAttachmentUI, MaxBodyBytes: limit},
		{Method: "GET", Path: "/tickets/{id}/attachments/{aid}", Role: auth.RoleRequester, Surface: SurfaceUI, Handler: s.downloadAttachment(SurfaceUI)},
	}
}

// readUpload reads the "file" part of a multipart upload.
func (s *Server) readUpload(r *http.Request) (string, []byte, error) {
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", nil, valid.Errorf("file", "is larger than %d bytes", s.opts.ServiceDesk.MaxAttachment())
		}
		return "", nil, valid.Errorf("file", "send the file as multipart/form-data in a part named file")
	}
	defer r.MultipartForm.RemoveAll()
	f, hdr, err := r.FormFile("file")
	if err != nil {
		return "", nil, valid.Errorf("file", "choose a file")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, s.opts.ServiceDesk.MaxAttachment()+1))
	if err != nil {
		return "", nil, valid.Errorf("file", "could not be read")
	}
	return hdr.Filename, data, nil
}

func (s *Server) apiAddAttachment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	name, data, err := s.readUpload(r)
	if err == nil {
		var at servicedesk.Attachment
		if at, err = s.opts.ServiceDesk.AddAttachment(r.Context(), id, name, data); err == nil {
			w.Header().Set("Location", "/api/v1/tickets/"+strconv.FormatInt(id, 10)+"/attachments/"+strconv.FormatInt(at.ID, 10))
			writeJSON(w, http.StatusCreated, at)
			return
		}
	}
	s.apiFail(w, r, err)
}

func (s *Server) apiListAttachments(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	list, err := s.opts.ServiceDesk.Attachments(r.Context(), id)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page[servicedesk.Attachment]{Data: list})
}

// downloadAttachment serves a file as a download: the type sniffed at
// upload, nosniff (set for every response), Content-Disposition:
// attachment, and a sandboxing CSP, so a browser never renders it as a
// page of this site.
func (s *Server) downloadAttachment(sf Surface) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err1 := pathID(r)
		aid, err2 := strconv.ParseInt(r.PathValue("aid"), 10, 64)
		var at servicedesk.Attachment
		err := errors.Join(err1, err2)
		if err == nil {
			at, err = s.opts.ServiceDesk.AttachmentData(r.Context(), id, aid)
		}
		if err != nil {
			switch {
			case sf == SurfaceAPI:
				if err2 != nil {
					err = valid.Errorf("aid", "must be a positive number")
				}
				s.apiFail(w, r, err)
			case errors.Is(err, store.ErrNotFound) || err1 != nil || err2 != nil:
				s.renderError(w, r, http.StatusNotFound, "There is no such file, or it is not yours.")
			default:
				s.serverError(w, r, sf, err)
			}
			return
		}
		h := w.Header()
		h.Set("Content-Type", at.ContentType)
		h.Set("Content-Length", strconv.FormatInt(int64(len(at.Data)), 10))
		h.Set("Content-Disposition", `attachment; filename="`+asciiName(at.Filename)+`"; filename*=UTF-8''`+url.PathEscape(at.Filename))
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("Cache-Control", "private, no-store")
		_, _ = w.Write(at.Data)
	}
}

// asciiName is the filename= fallback for old clients: ASCII letters,
// digits and a few safe marks, the rest as underscores.
func asciiName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_ ()", r)) {
			return r
		}
		return '_'
	}, s)
}

func (s *Server) uploadAttachmentUI(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, http.StatusNotFound, "There is no such ticket.")
		return
	}
	name, data, err := s.readUpload(r)
	if err == nil {
		_, err = s.opts.ServiceDesk.AddAttachment(r.Context(), id, name, data)
	}
	if err != nil {
		s.actionFailed(w, r, ticketPageData{Errors: fieldErrors{}}, err)
		return
	}
	http.Redirect(w, r, "/tickets/"+strconv.FormatInt(id, 10)+"?notice=file-attached#attachments", http.StatusSeeOther)
}
