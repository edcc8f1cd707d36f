package web

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
)

// pingRoutes are the heartbeat intake: open to anyone who holds a monitor's
// secret ping key, like Healthchecks' URLs, so a cron job needs only curl.
func (s *Server) pingRoutes() []Route {
	if s.opts.Monitors == nil {
		return nil
	}
	var rs []Route
	for _, m := range []string{"GET", "POST"} {
		rs = append(rs,
			Route{Method: m, Path: "/ping/{key}", Role: auth.RoleNone, Surface: SurfaceAPI, Handler: s.ping},
			Route{Method: m, Path: "/ping/{key}/{action}", Role: auth.RoleNone, Surface: SurfaceAPI, Handler: s.ping})
	}
	return rs
}

// maxPingBody caps what is read of a ping's body; the first 10 KB are kept.
const maxPingBody = 100 << 10

// ping records a heartbeat: /ping/KEY (success), /start, /fail, or /CODE
// (an exit code: 0 is success). ?rid= pairs a start with its finish.
func (s *Server) ping(w http.ResponseWriter, r *http.Request) {
	p := monitor.Ping{Kind: monitor.PingSuccess, RunID: r.URL.Query().Get("rid"), SourceAddr: s.clientAddr(r), UserAgent: r.UserAgent()}
	switch a := r.PathValue("action"); a {
	case "":
	case "start":
		p.Kind = monitor.PingStart
	case "fail":
		p.Kind = monitor.PingFail
	default:
		code, err := strconv.Atoi(a)
		if err != nil || code < 0 || code > 255 {
			http.Error(w, "unknown ping action: use /start, /fail or an exit code 0-255", http.StatusBadRequest)
			return
		}
		p.ExitCode = &code
		if code != 0 {
			p.Kind = monitor.PingFail
		}
	}
	if len(p.RunID) > 64 {
		http.Error(w, "rid is longer than 64 characters", http.StatusBadRequest)
		return
	}
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxPingBody))
		if err != nil {
			http.Error(w, "could not read the body", http.StatusBadRequest)
			return
		}
		p.Body = string(body)
	}
	if err := s.opts.Monitors.RecordPing(r.Context(), r.PathValue("key"), p); err != nil {
		if errors.Is(err, monitor.ErrUnknownPingKey) {
			s.log.Warn("ping with unknown key", "addr", p.SourceAddr)
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		s.log.ErrorContext(r.Context(), "record ping", "err", err)
		http.Error(w, "could not record the ping; try again", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "OK\n")
}
