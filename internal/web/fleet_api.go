package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// enroll exchanges an enrollment token for an agent credential.
func (h *fleetHandlers) enroll(w http.ResponseWriter, r *http.Request) {
	in, err := fleet.DecodeEnroll(r.Body)
	if err == nil {
		var res wire.EnrollResponse
		res, err = h.f.Enroll(r.Context(), in)
		if err == nil {
			h.s.log.InfoContext(r.Context(), "agent enrolled", "agent", res.AgentID, "hostname", in.Hostname, "addr", h.s.clientAddr(r))
			writeJSON(w, http.StatusCreated, res)
			return
		}
	}
	h.agentFail(w, r, err)
}

// smallReport is the compressed size under which a report needs no slot:
// a routine report (20 samples and a hash) is about 1 KiB gzipped, one
// with a 1,500-package inventory over 10 KiB.
const smallReport = 8 << 10

// replayAnswer is the 409 answer: the error and the accepted seq.
type replayAnswer struct {
	Error       apiErrorBody `json:"error"`
	AcceptedSeq uint64       `json:"accepted_seq"`
}

// report takes one agent report. The agent is whoever the credential
// says; nothing in the body names a host. The credential is checked
// before the body is read, so strangers cannot make the server inflate.
func (h *fleetHandlers) report(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > wire.MaxCompressedBytes {
		h.agentFail(w, r, fleet.ErrTooLarge)
		return
	}
	raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	id, err := h.f.Authenticate(r.Context(), strings.TrimSpace(raw))
	if err != nil {
		h.agentFail(w, r, err)
		return
	}
	// Routine reports (metrics and an inventory hash, well under 8 KiB)
	// go straight in; big ones (a first report with the inventory) wait
	// for one of a few slots, so a fleet starting at once costs bounded
	// memory and does not hold the routine reports up.
	if r.ContentLength < 0 || r.ContentLength > smallReport {
		release, err := h.f.Admit(r.Context())
		if err != nil {
			h.agentFail(w, r, err)
			return
		}
		defer release()
	}
	rep, err := fleet.DecodeReport(r.Body, r.Header.Get("Content-Encoding"))
	if err != nil {
		h.agentFail(w, r, err)
		return
	}
	res, err := h.f.Ingest(r.Context(), id, rep, h.s.clientAddr(r))
	var replay *fleet.ReplayError
	if errors.As(err, &replay) {
		writeJSON(w, http.StatusConflict, replayAnswer{Error: apiErrorBody{Code: "replay",
			Message: "seq " + strconv.FormatUint(rep.Seq, 10) + " is not above the accepted " + strconv.FormatUint(replay.Accepted, 10)}, AcceptedSeq: replay.Accepted})
		return
	}
	if err != nil {
		h.agentFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// agentFail answers the agent endpoints' errors with the statuses the wire
// contract gives: 401 bad token or credential (no detail, never the
// secret in a log), 400 naming the field, 413 too big, 503 retry later.
func (h *fleetHandlers) agentFail(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	ve, isValid := valid.As(err)
	switch {
	case errors.Is(err, fleet.ErrInvalidToken):
		h.s.log.WarnContext(r.Context(), "agent enrollment refused", "addr", h.s.clientAddr(r))
		writeError(w, http.StatusUnauthorized, "invalid_token", "the enrollment token is wrong, used, revoked or expired", "")
	case errors.Is(err, fleet.ErrBadCredential):
		h.s.log.WarnContext(r.Context(), "agent report refused: bad credential", "addr", h.s.clientAddr(r))
		writeError(w, http.StatusUnauthorized, "invalid_credential", "the agent credential is wrong or revoked; enroll again", "")
	case errors.Is(err, fleet.ErrTooLarge) || errors.As(err, &mbe):
		h.f.Stats().Refused.Add(1)
		writeError(w, http.StatusRequestEntityTooLarge, "too_large",
			"a report may be 2 MiB compressed and 8 MiB uncompressed at most", "")
	case isValid:
		h.f.Stats().Refused.Add(1)
		writeError(w, http.StatusBadRequest, "invalid", ve.Error(), ve.Field)
	case errors.Is(err, fleet.ErrBusy):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "busy", "too many reports at once; retry", "")
	default:
		h.s.log.ErrorContext(r.Context(), "agent report not stored", "err", err, "request_id", requestIDFrom(r.Context()))
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the report was not stored; retry", "")
	}
}

// newTokenBody is POST /api/v1/agent-tokens.
type newTokenBody struct {
	TTL  string `json:"ttl"`
	Note string `json:"note"`
}

// createdEnrollToken is a new enrollment token with its secret, shown once, and
// the command that enrolls a host with it.
type createdEnrollToken struct {
	Token   string            `json:"token"`
	Command string            `json:"command"`
	Record  fleet.EnrollToken `json:"record"`
}

func parseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 24 * time.Hour, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil {
			return 0, valid.Errorf("ttl", "must be a duration such as 24h or 7d")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, valid.Errorf("ttl", "must be a duration such as 24h or 7d")
	}
	return d, nil
}

// enrollCommand is the command line that enrolls a host with tok.
func (h *fleetHandlers) enrollCommand(r *http.Request, tok string) string {
	base := strings.TrimSuffix(h.s.opts.BaseURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return "opsdeck agent --server " + base + " --enroll " + tok
}

func (h *fleetHandlers) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	var in newTokenBody
	if !h.s.decodeJSON(w, r, &in) {
		return
	}
	ttl, err := parseTTL(in.TTL)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	raw, rec, err := h.f.CreateToken(r.Context(), ttl, in.Note)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createdEnrollToken{Token: raw, Command: h.enrollCommand(r, raw), Record: rec})
}

func (h *fleetHandlers) apiTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := h.f.Tokens(r.Context())
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
}

func (h *fleetHandlers) apiRevokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = h.f.RevokeToken(r.Context(), id)
	}
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *fleetHandlers) apiList(w http.ResponseWriter, r *http.Request) {
	as, err := h.f.List(r.Context())
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": as})
}

// withAgent runs fn with the agent named by the path.
func (h *fleetHandlers) withAgent(w http.ResponseWriter, r *http.Request, fn func(a fleet.Agent)) {
	id, err := pathID(r)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	a, err := h.f.Get(r.Context(), id)
	if err != nil {
		h.s.apiFail(w, r, err)
		return
	}
	fn(a)
}

func (h *fleetHandlers) apiGet(w http.ResponseWriter, r *http.Request) {
	h.withAgent(w, r, func(a fleet.Agent) { writeJSON(w, http.StatusOK, a) })
}

func (h *fleetHandlers) apiRevoke(w http.ResponseWriter, r *http.Request) {
	h.withAgent(w, r, func(a fleet.Agent) {
		if err := h.f.Revoke(r.Context(), a.ID); err != nil {
			h.s.apiFail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// metricRange reads from and to (RFC 3339) or range (a duration back
// from now, default 6h).
func metricRange(r *http.Request) (time.Time, time.Time, error) {
	q := r.URL.Query()
	to := time.Now().UTC()
	if v := q.Get("to"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return to, to, valid.Errorf("to", "must be an RFC 3339 time")
		}
		to = t
	}
	from := to.Add(-6 * time.Hour)
	if v := q.Get("range"); v != "" {
		d, err := parseTTL(v)
		if err != nil || d <= 0 || d > 400*24*time.Hour {
			return to, to, valid.Errorf("range", "must be a duration such as 6h, 7d or 90d")
		}
		from = to.Add(-d)
	}
	if v := q.Get("from"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil || !t.Before(to) {
			return to, to, valid.Errorf("from", "must be an RFC 3339 time before to")
		}
		from = t
	}
	return from, to, nil
}

func (h *fleetHandlers) apiMetrics(w http.ResponseWriter, r *http.Request) {
	h.withAgent(w, r, func(a fleet.Agent) {
		from, to, err := metricRange(r)
		if err != nil {
			h.s.apiFail(w, r, err)
			return
		}
		ms, err := h.f.Metrics(r.Context(), a.ID, r.URL.Query().Get("name"), from, to)
		if err != nil {
			h.s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "resolution_seconds": fleet.Resolution(from, to), "series": ms})
	})
}

func (h *fleetHandlers) apiSoftware(w http.ResponseWriter, r *http.Request) {
	h.withAgent(w, r, func(a fleet.Agent) {
		q := r.URL.Query().Get("q")
		if err := valid.Text("q", q, false, 200, false); err != nil {
			h.s.apiFail(w, r, err)
			return
		}
		ps, err := h.f.Packages(r.Context(), a.ID, q, 0)
		if err != nil {
			h.s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"packages": ps})
	})
}

func (h *fleetHandlers) apiUpdates(w http.ResponseWriter, r *http.Request) {
	h.withAgent(w, r, func(a fleet.Agent) {
		us, err := h.f.Updates(r.Context(), a.ID)
		if err != nil {
			h.s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"checked_at": a.UpdatesCheckedAt, "pending": us})
	})
}

func (h *fleetHandlers) apiFiles(w http.ResponseWriter, r *http.Request) {
	h.withAgent(w, r, func(a fleet.Agent) {
		fs, err := h.f.FileChanges(r.Context(), a.ID, 200, true)
		if err != nil {
			h.s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"changes": fs})
	})
}
