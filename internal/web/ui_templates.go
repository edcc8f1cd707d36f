package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// The UI's templates and static assets are compiled into the binary, so a
// single file is the whole product and nothing is fetched at run time.
//
//go:embed templates static
var uiFiles embed.FS

// templates holds every page, each parsed once at start together with the
// shared layout and partials, and the static assets with their hashes.
type templates struct {
	pages  map[string]*template.Template
	assets map[string]asset
}

// parseTemplates parses the embedded templates and hashes the static files.
// A broken template fails the start of the server, not a request.
func parseTemplates() (*templates, error) {
	assets, err := loadAssets(uiFiles)
	if err != nil {
		return nil, err
	}
	t := &templates{pages: map[string]*template.Template{}, assets: assets}
	base, err := template.New("").Funcs(t.funcs()).ParseFS(uiFiles, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	pages, err := fs.Glob(uiFiles, "templates/pages/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: list pages: %w", err)
	}
	for _, p := range pages {
		clone, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("web: clone layout: %w", err)
		}
		pt, err := clone.ParseFS(uiFiles, p)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", p, err)
		}
		t.pages[strings.TrimSuffix(path.Base(p), ".html")] = pt
	}
	return t, nil
}

// funcs are the helpers templates may call.
func (t *templates) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":     t.assetURL,
		"iso":       isoTime,
		"ago":       relTime,
		"isTime":    isTime,
		"field":     newField,
		"choice":    newRoleChoice,
		"secret":    newSecret,
		"roleHelp":  roleHelp,
		"initial":   initial,
		"navGroup":  groupOf,
		"humanKind": func(k string) string { return strings.ReplaceAll(k, "_", " ") },
	}
}

// render executes page into a buffer first, so that a template error becomes
// a clean 500 instead of half a page with a 200 status.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	pt, ok := s.tmpl.pages[page]
	if !ok {
		s.log.ErrorContext(r.Context(), "unknown page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := pt.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.ErrorContext(r.Context(), "render page", "page", page, "err", err, "request_id", requestIDFrom(r.Context()))
		http.Error(w, "internal error; see the server log for request id "+requestIDFrom(r.Context()), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry CSRF tokens and private data: never keep them in a cache.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// isoTime shows a time as UTC ISO 8601, the one unambiguous form for people
// in several time zones reading the same log.
func isoTime(t any) string {
	tt, ok := asTime(t)
	if !ok {
		return ""
	}
	return tt.UTC().Format("2006-01-02 15:04:05Z")
}

// relTime says how long ago (or how far ahead) a time is, in the words a
// person would use; the exact time goes in a title beside it.
func relTime(t any) string {
	tt, ok := asTime(t)
	if !ok {
		return "never"
	}
	return relTimeFrom(tt, time.Now())
}

func relTimeFrom(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < 45*time.Second:
		return "just now"
	case d < 90*time.Second:
		s = "1 minute"
	case d < 45*time.Minute:
		s = fmt.Sprintf("%d minutes", int(d.Round(time.Minute)/time.Minute))
	case d < 90*time.Minute:
		s = "1 hour"
	case d < 22*time.Hour:
		s = fmt.Sprintf("%d hours", int(d.Round(time.Hour)/time.Hour))
	case d < 36*time.Hour:
		s = "1 day"
	case d < 30*24*time.Hour:
		s = fmt.Sprintf("%d days", int((d+12*time.Hour)/(24*time.Hour)))
	case d < 45*24*time.Hour:
		s = "1 month"
	case d < 365*24*time.Hour:
		s = fmt.Sprintf("%d months", int((d+15*24*time.Hour)/(30*24*time.Hour)))
	default:
		return t.UTC().Format("2006-01-02")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// isTime reports whether v is a time worth showing (set and not zero).
func isTime(v any) bool {
	_, ok := asTime(v)
	return ok
}

// asTime accepts a time or a pointer to one, since optional times in the
// domain types are pointers.
func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t == nil || t.IsZero() {
			return time.Time{}, false
		}
		return *t, true
	}
	return time.Time{}, false
}
