package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/incident"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/servicedesk"
	"github.com/opsdeck/opsdeck/internal/store"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// apiError is the one error shape of the API.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg, field string) {
	writeJSON(w, status, apiError{Error: apiErrorBody{Code: code, Message: msg, Field: field}})
}

// apiFail answers err in the API's error shape, choosing the status from the
// error's kind. Unknown errors are logged and answered without detail.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	var rl *auth.RateLimitedError
	var mbe *http.MaxBytesError
	var refused *cmdb.Refusal
	switch ve, isValid := valid.As(err); {
	case isValid:
		writeError(w, http.StatusUnprocessableEntity, "invalid", ve.Error(), ve.Field)
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body exceeds %d bytes", mbe.Limit), "")
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such resource", "")
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "a resource with these values already exists", "")
	case errors.Is(err, monitor.ErrManagedByFile):
		writeError(w, http.StatusConflict, "managed_by_file", "this monitor is declared in a monitors file; change it there and reload", "")
	case errors.Is(err, incident.ErrTransition):
		writeError(w, http.StatusConflict, "invalid_transition", "the incident's status does not allow this", "")
	case errors.Is(err, store.ErrReference):
		writeError(w, http.StatusConflict, "in_use", "the resource is still referenced (a service with alerts or incidents is kept for their history)", "")
	case errors.As(err, &refused):
		writeError(w, http.StatusConflict, "refused", refused.Msg, "")
	case errors.Is(err, store.ErrReference):
		writeError(w, http.StatusConflict, "in_use", "this is still in use, or refers to something that does not exist", "")
	case errors.Is(err, servicedesk.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", "your role may not do this to this ticket", "")
	case errors.Is(err, servicedesk.ErrTransition):
		writeError(w, http.StatusConflict, "invalid_transition", strings.TrimPrefix(err.Error(), "servicedesk: "), "status")
	case errors.Is(err, auth.ErrLastAdmin):
		writeError(w, http.StatusConflict, "last_admin", "this would leave no enabled admin", "")
	case errors.Is(err, auth.ErrInvalidCredentials):
		writeError(w, http.StatusUnauthorized, "invalid_credentials", "invalid username or password", "")
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(int(rl.RetryAfter.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, "rate_limited", rl.Error(), "")
	default:
		s.serverError(w, r, SurfaceAPI, err)
	}
}

// badRequest is a request error naming the field that caused it.
type badRequest struct {
	field, msg string
	status     int
}

func (e *badRequest) Error() string { return e.msg }

// decodeJSON reads one JSON object into dst: the content type must be JSON,
// unknown fields are refused, the body is capped by the server's limit, and
// trailing data is an error. Errors name the field when they can.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	if err := decodeJSONBody(w, r, s.opts.MaxBodyBytes, dst); err != nil {
		var br *badRequest
		if errors.As(err, &br) {
			writeError(w, br.status, "bad_request", br.msg, br.field)
			return false
		}
		s.apiFail(w, r, err)
		return false
	}
	return true
}

func decodeJSONBody(w http.ResponseWriter, r *http.Request, limit int64, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		// Bodies are read as JSON whatever the declared type (curl -d sends
		// form-urlencoded), except multipart, which is never JSON. Cookie
		// callers need the X-CSRF-Token header, so a lax type opens no CSRF.
		if err != nil || strings.HasPrefix(mt, "multipart/") {
			return &badRequest{status: http.StatusUnsupportedMediaType, msg: "send the body as application/json"}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &badRequest{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body exceeds %d bytes", mbe.Limit)}
		}
		return &badRequest{status: http.StatusBadRequest, msg: "could not read the request body"}
	}
	return decodeJSONBytes(body, dst)
}

// decodeJSONBytes is the pure part of decodeJSON, fuzzed on its own.
func decodeJSONBytes(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &badRequest{status: http.StatusBadRequest, msg: "the request body is empty; send a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return &badRequest{status: http.StatusBadRequest, msg: "the body must hold exactly one JSON object"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &badRequest{status: http.StatusBadRequest, msg: "the body must hold exactly one JSON object"}
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &badRequest{status: http.StatusBadRequest, msg: fmt.Sprintf("malformed JSON at byte %d", syn.Offset)}
	case errors.As(err, &typ):
		field := typ.Field
		return &badRequest{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf("%s must be %s, not %s", orValue(field), jsonKind(typ.Type.Kind().String()), typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &badRequest{status: http.StatusBadRequest, msg: "the JSON body ends too early"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &badRequest{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf("unknown field %q", field)}
	}
	var tpe *time.ParseError
	if errors.As(err, &tpe) {
		return &badRequest{status: http.StatusBadRequest, msg: "times must be RFC 3339, such as 2026-01-02T15:04:05Z"}
	}
	return &badRequest{status: http.StatusBadRequest, msg: "the body is not a valid JSON object: " + err.Error()}
}

func orValue(field string) string {
	if field == "" {
		return "the body"
	}
	return field
}

func jsonKind(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	}
	return "a " + k
}

// page is the API's list envelope with cursor pagination.
type page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// encodeCursor and decodeCursor make an opaque cursor from a row id, so
// clients do not build cursors of their own and the format may change.
func encodeCursor(id int64) string {
	if id == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte("i" + strconv.FormatInt(id, 10)))
}

func decodeCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != 'i' {
		return 0, valid.Errorf("cursor", "is not a cursor this server issued")
	}
	id, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil || id <= 0 {
		return 0, valid.Errorf("cursor", "is not a cursor this server issued")
	}
	return id, nil
}

func queryLimit(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, valid.Errorf("limit", "must be a number from 1 to %d", max)
	}
	return n, nil
}
