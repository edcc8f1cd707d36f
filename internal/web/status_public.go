package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/statuspage"
	"github.com/opsdeck/opsdeck/internal/store"
)

// publicStatus is what the public page template gets. Everything in it is
// built from a statuspage.View, which holds no internal data.
type publicStatus struct {
	Title, Description string
	Private            bool
	Overall            statusLook
	Groups             []publicGroup
	UpdatedISO         string
	UpdatedText        string
	JSONPath           string
	RefreshSeconds     int
	Empty              bool
}

// statusLook is how a state shows: a CSS class, an icon and words. The
// colour always comes with the icon and the words.
type statusLook struct {
	Key, Icon, Text string
}

type publicGroup struct {
	Section  string
	Monitors []publicMonitor
}

type publicMonitor struct {
	Name     string
	Look     statusLook
	Uptime   string // "99.98%" or "No data"
	BarLabel string
	Bars     []uptimeBar
}

// uptimeBar is one day of the uptime bar, drawn as an SVG rect.
type uptimeBar struct {
	X     int
	Class string
	Title string
}

// Bar geometry, in the SVG's own units: 90 bars of 8 with gaps of 2. The
// SVG stretches to its box; on phones CSS zooms on the last 30 days.
const (
	barStep   = 10
	barWidth  = 8
	barHeight = 34
)

// lookOfState is how a monitor's state shows on a public page.
func lookOfState(st monitor.State) statusLook {
	t := statuspage.StateText(st)
	switch st {
	case monitor.StateUp:
		return statusLook{"ok", "ok", t}
	case monitor.StateDegraded:
		return statusLook{"warn", "warn", t}
	case monitor.StateDown:
		return statusLook{"down", "down", t}
	case monitor.StateMaintenance:
		return statusLook{"maint", "maint", t}
	case monitor.StatePaused:
		return statusLook{"off", "off", t}
	}
	return statusLook{"off", "unknown", t}
}

// lookOfOverall is how a page's verdict shows in its banner.
func lookOfOverall(o statuspage.Overall) statusLook {
	t := o.Text()
	switch o {
	case statuspage.Operational:
		return statusLook{"ok", "ok", t}
	case statuspage.Degraded:
		return statusLook{"warn", "warn", t}
	case statuspage.PartialOutage:
		return statusLook{"partial", "warn", t}
	case statuspage.MajorOutage:
		return statusLook{"down", "down", t}
	case statuspage.Maintenance:
		return statusLook{"maint", "maint", t}
	}
	return statusLook{"off", "unknown", t}
}

// formatPercent shows an uptime with two decimals, rounded down, so that
// 99.999% never shows as 100% and 100% shows without decimals.
func formatPercent(c statuspage.Count) string {
	p, ok := c.Percent()
	if !ok {
		return "No data"
	}
	if c.Good == c.Total {
		return "100%"
	}
	return fmt.Sprintf("%.2f%%", math.Floor(p*100)/100)
}

// dayClass colours a day of the bar by its uptime.
func dayClass(c statuspage.Count) string {
	p, ok := c.Percent()
	switch {
	case !ok:
		return "none"
	case p >= 99.9:
		return "ok"
	case p >= 95:
		return "warn"
	}
	return "down"
}

func buildPublicStatus(v statuspage.View) publicStatus {
	out := publicStatus{
		Title: v.Title, Description: v.Description, Private: !v.Public,
		Overall:    lookOfOverall(v.Overall),
		UpdatedISO: v.At.UTC().Format(time.RFC3339), UpdatedText: v.At.UTC().Format("2 Jan 2006, 15:04 UTC"),
		JSONPath: "/status/" + v.Slug + ".json", RefreshSeconds: 60, Empty: len(v.Monitors) == 0,
	}
	for _, g := range v.Groups() {
		pg := publicGroup{Section: g.Section}
		for _, m := range g.Monitors {
			pm := publicMonitor{Name: m.Name, Look: lookOfState(m.State), Uptime: formatPercent(m.Windows[3]), Bars: make([]uptimeBar, len(m.Daily))}
			pm.BarLabel = fmt.Sprintf("Uptime of %s per day over the last %d days: %s", m.Name, len(m.Daily), strings.ToLower(pm.Uptime))
			for i, d := range m.Daily {
				day := v.Days[i].Format("Mon 2 Jan 2006")
				title := day + " · no data"
				if _, ok := d.Percent(); ok {
					title = day + " · " + formatPercent(d) + " uptime"
				}
				pm.Bars[i] = uptimeBar{X: i * barStep, Class: dayClass(d), Title: title}
			}
			pg.Monitors = append(pg.Monitors, pm)
		}
		out.Groups = append(out.Groups, pg)
	}
	return out
}

// mayViewPrivate reports whether the caller may see a page that is not
// public: any signed-in user with at least the viewer role.
func mayViewPrivate(r *http.Request) bool {
	a := auth.ActorFrom(r.Context())
	return (a.Kind == auth.ActorUser || a.Kind == auth.ActorToken) && a.Role.Allows(auth.RoleViewer)
}

// view finds the page at slug for the caller. A page that does not exist
// and one the caller may not see answer the same: not found.
func (h *statusPages) view(w http.ResponseWriter, r *http.Request, slug string, asJSON bool) (*statusEntry, bool) {
	notFound := func() {
		if asJSON {
			writeError(w, http.StatusNotFound, "not_found", "no such status page", "")
			return
		}
		h.s.renderError(w, r, http.StatusNotFound, "there is no page at this address")
	}
	if statuspage.ValidSlug("slug", slug) != nil {
		notFound()
		return nil, false
	}
	fail := func(err error) {
		sf := SurfaceUI
		if asJSON {
			sf = SurfaceAPI
		}
		h.s.serverError(w, r, sf, err)
	}
	viewer := mayViewPrivate(r)
	if !viewer {
		// Someone who may see only public pages is answered after the same
		// one read whether the page is private, missing or public and not
		// yet cached; they never make opsdeck read a private page's view.
		if e, ok := h.cache.peek(slug); !ok || !e.view.Public {
			public, err := h.pages.IsPublic(r.Context(), slug)
			switch {
			case errors.Is(err, store.ErrNotFound) || err == nil && !public:
				notFound()
				return nil, false
			case err != nil:
				fail(err)
				return nil, false
			}
		}
	}
	e, err := h.cache.get(r.Context(), slug, func(ctx context.Context) (statuspage.View, error) { return h.pages.ViewBySlug(ctx, slug) })
	switch {
	case errors.Is(err, store.ErrNotFound):
		notFound()
		return nil, false
	case err != nil:
		fail(err)
		return nil, false
	case !e.view.Public && !viewer:
		notFound()
		return nil, false
	}
	return e, true
}

// setCaching lets browsers and proxies keep a public answer for maxAge
// seconds; private pages are for their viewer only and never stored.
func setCaching(w http.ResponseWriter, public bool, maxAge int) {
	h := w.Header()
	if public {
		h.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", maxAge))
		return
	}
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Robots-Tag", "noindex")
}

// publicPage answers GET /status/{slug} with the page and
// /status/{slug}.json with its summary.
func (h *statusPages) publicPage(w http.ResponseWriter, r *http.Request) {
	slug := r.PathValue("slug")
	if s, ok := strings.CutSuffix(slug, ".json"); ok {
		h.publicJSON(w, r, s)
		return
	}
	e, ok := h.view(w, r, slug, false)
	if !ok {
		return
	}
	body, err := e.renderOnce(func(v statuspage.View) ([]byte, error) {
		pt, ok := h.s.tmpl.pages["status_public"]
		if !ok {
			return nil, errors.New("web: no status_public template")
		}
		var buf bytes.Buffer
		if err := pt.ExecuteTemplate(&buf, "statuspage", buildPublicStatus(v)); err != nil {
			return nil, fmt.Errorf("web: render status page: %w", err)
		}
		return buf.Bytes(), nil
	})
	if err != nil {
		h.s.serverError(w, r, SurfaceUI, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "Accept-Encoding")
	setCaching(w, e.view.Public, 30)
	if acceptsGzip(r) {
		if gz := e.gzipped(body); gz != nil {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(gz)
			return
		}
	}
	_, _ = w.Write(body)
}

// statusSummary is the JSON summary of a page, for scripts and other
// dashboards. Uptimes are percentages, null without data.
type statusSummary struct {
	Title       string           `json:"title"`
	Description string           `json:"description"`
	Overall     statusOverall    `json:"overall"`
	UpdatedAt   time.Time        `json:"updated_at"`
	Monitors    []monitorSummary `json:"monitors"`
}

type statusOverall struct {
	Status statuspage.Overall `json:"status"`
	Text   string             `json:"text"`
}

type monitorSummary struct {
	Name    string              `json:"name"`
	Section string              `json:"section,omitempty"`
	State   monitor.State       `json:"state"`
	Text    string              `json:"state_text"`
	Uptime  map[string]*float64 `json:"uptime"`
}

func summarize(v statuspage.View) statusSummary {
	out := statusSummary{Title: v.Title, Description: v.Description, Overall: statusOverall{v.Overall, v.Overall.Text()}, UpdatedAt: v.At.UTC(), Monitors: []monitorSummary{}}
	for _, m := range v.Monitors {
		ms := monitorSummary{Name: m.Name, Section: m.Section, State: m.State, Text: statuspage.StateText(m.State), Uptime: map[string]*float64{}}
		for i, name := range statuspage.WindowNames {
			ms.Uptime[name] = nil
			if p, ok := m.Windows[i].Percent(); ok {
				p = math.Floor(p*1000) / 1000
				ms.Uptime[name] = &p
			}
		}
		out.Monitors = append(out.Monitors, ms)
	}
	return out
}

func (h *statusPages) publicJSON(w http.ResponseWriter, r *http.Request, slug string) {
	e, ok := h.view(w, r, slug, true)
	if !ok {
		return
	}
	if e.view.Public {
		// Public data: other sites' dashboards may read it from the browser.
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	setCaching(w, e.view.Public, 30)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(summarize(e.view))
}
