package web

import (
	"errors"
	"io"
	"net/http"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/incident"
)

// incidentIntakeRoutes are the alert intake endpoints: open to anyone who
// holds an integration's secret key (in the path, or as PagerDuty's
// routing_key), so Alertmanager and PagerDuty-speaking tools need no token.
func (s *Server) incidentIntakeRoutes() []Route {
	if s.opts.Incidents == nil {
		return nil
	}
	open := func(path string, h http.HandlerFunc) Route {
		return Route{Method: "POST", Path: path, Role: auth.RoleNone, Surface: SurfaceAPI, Handler: h}
	}
	return []Route{
		open("/hooks/alertmanager/{key}", s.intakeAlertmanager),
		open("/v2/enqueue", s.intakePagerDuty),
		open("/hooks/generic/{key}", s.intakeGeneric),
	}
}

// maxIntakeBody caps an intake request; PagerDuty refuses events over
// 512 KB, and an Alertmanager group of hundreds of alerts fits in 1 MB.
const maxIntakeBody = 1 << 20

// readIntake reads the body under the cap; false means it answered 413/400.
func (s *Server) readIntake(w http.ResponseWriter, r *http.Request, kind string, fail func(status int, msg string)) ([]byte, bool) {
	limit := int64(maxIntakeBody)
	if s.opts.MaxBodyBytes < limit {
		limit = s.opts.MaxBodyBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.opts.Incidents.Refused(kind, "too_large")
			fail(http.StatusRequestEntityTooLarge, "the body is larger than the intake limit")
			return nil, false
		}
		fail(http.StatusBadRequest, "could not read the body")
		return nil, false
	}
	return body, true
}

// pdAnswer is PagerDuty's Events API v2 answer shape.
type pdAnswer struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// intakeFailed answers a failed ingest: the service vanished (404) or the
// event could not be committed now (503, retry).
func (s *Server) intakeFailed(w http.ResponseWriter, r *http.Request, err error, write func(status int, msg string)) {
	if errors.Is(err, incident.ErrUnknownKey) {
		write(http.StatusNotFound, "no integration has this key")
		return
	}
	s.log.ErrorContext(r.Context(), "intake not committed", "err", err, "request_id", requestIDFrom(r.Context()))
	w.Header().Set("Retry-After", "5")
	write(http.StatusServiceUnavailable, "the event was not stored; retry")
}

// intakePagerDuty is a PagerDuty Events API v2 endpoint: the routing key is
// the integration key; answers have PagerDuty's shapes.
func (s *Server) intakePagerDuty(w http.ResponseWriter, r *http.Request) {
	const kind = incident.KindPagerDuty
	fail := func(status int, msg string) {
		writeJSON(w, status, pdAnswer{Status: "invalid event", Message: msg, Errors: []string{msg}})
	}
	body, ok := s.readIntake(w, r, kind, fail)
	if !ok {
		return
	}
	key, ev, err := incident.ParsePagerDuty(body)
	if err != nil {
		var ie *incident.InvalidEvent
		if errors.As(err, &ie) {
			s.opts.Incidents.Refused(kind, "invalid")
			writeJSON(w, http.StatusBadRequest, pdAnswer{Status: "invalid event", Message: ie.Message, Errors: ie.Errors})
			return
		}
		fail(http.StatusBadRequest, "Event object is invalid")
		return
	}
	in, err := s.opts.Incidents.Authenticate(r.Context(), kind, key)
	if err != nil {
		s.intakeKeyRefused(w, r, kind, key, err, func(status int, msg string) {
			writeJSON(w, status, pdAnswer{Status: "invalid event", Message: msg, Errors: []string{"'routing_key' does not match an integration"}})
		})
		return
	}
	if err := s.opts.Incidents.Ingest(r.Context(), in, s.clientAddr(r), []incident.Event{ev}); err != nil {
		s.intakeFailed(w, r, err, fail)
		return
	}
	writeJSON(w, http.StatusAccepted, pdAnswer{Status: "success", Message: "Event processed", DedupKey: ev.DedupKey})
}

// intakeKeyRefused answers a wrong key with 404, logged and counted.
func (s *Server) intakeKeyRefused(w http.ResponseWriter, r *http.Request, kind, key string, err error, write func(status int, msg string)) {
	if !errors.Is(err, incident.ErrUnknownKey) {
		s.serverError(w, r, SurfaceAPI, err)
		return
	}
	s.opts.Incidents.RefuseKey(r.Context(), kind, key, s.clientAddr(r))
	write(http.StatusNotFound, "Unknown integration key")
}

// intakeAnswer is the answer of the Alertmanager and generic endpoints.
type intakeAnswer struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	Events   int      `json:"events,omitempty"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

func (s *Server) intakeAlertmanager(w http.ResponseWriter, r *http.Request) {
	const kind = incident.KindAlertmanager
	fail := func(status int, msg string) { writeJSON(w, status, intakeAnswer{Status: "error", Message: msg}) }
	key := r.PathValue("key")
	in, err := s.opts.Incidents.Authenticate(r.Context(), kind, key)
	if err != nil {
		s.intakeKeyRefused(w, r, kind, key, err, fail)
		return
	}
	body, ok := s.readIntake(w, r, kind, fail)
	if !ok {
		return
	}
	evs, err := incident.ParseAlertmanager(body)
	if err != nil {
		s.intakeInvalid(w, kind, err)
		return
	}
	if err := s.opts.Incidents.Ingest(r.Context(), in, s.clientAddr(r), evs); err != nil {
		s.intakeFailed(w, r, err, fail)
		return
	}
	writeJSON(w, http.StatusOK, intakeAnswer{Status: "success", Message: "Alerts processed", Events: len(evs)})
}

func (s *Server) intakeInvalid(w http.ResponseWriter, kind string, err error) {
	s.opts.Incidents.Refused(kind, "invalid")
	var ie *incident.InvalidEvent
	if errors.As(err, &ie) {
		writeJSON(w, http.StatusBadRequest, intakeAnswer{Status: "invalid event", Message: ie.Message, Errors: ie.Errors})
		return
	}
	writeJSON(w, http.StatusBadRequest, intakeAnswer{Status: "invalid event", Message: "the body is not a valid event"})
}

func (s *Server) intakeGeneric(w http.ResponseWriter, r *http.Request) {
	const kind = incident.KindGeneric
	fail := func(status int, msg string) { writeJSON(w, status, intakeAnswer{Status: "error", Message: msg}) }
	key := r.PathValue("key")
	in, err := s.opts.Incidents.Authenticate(r.Context(), kind, key)
	if err != nil {
		s.intakeKeyRefused(w, r, kind, key, err, fail)
		return
	}
	body, ok := s.readIntake(w, r, kind, fail)
	if !ok {
		return
	}
	var m incident.Mapping
	if in.Mapping != nil {
		m = *in.Mapping
	}
	ev, err := incident.ParseGeneric(body, m)
	if err != nil {
		s.intakeInvalid(w, kind, err)
		return
	}
	if err := s.opts.Incidents.Ingest(r.Context(), in, s.clientAddr(r), []incident.Event{ev}); err != nil {
		s.intakeFailed(w, r, err, fail)
		return
	}
	writeJSON(w, http.StatusAccepted, intakeAnswer{Status: "success", Message: "Event processed", Events: 1, DedupKey: ev.DedupKey})
}
