package web

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/opsdeck/opsdeck/internal/monitor"
	"github.com/opsdeck/opsdeck/internal/statuspage"
)

// badge answers GET /status/{slug}/badge.svg: a shields-style badge of the
// page's verdict, or with ?monitor=NAME of one monitor on it (NAME as the
// page shows it). ?kind=uptime shows the uptime instead of the state, over
// ?window=24h, 7d, 30d (the default) or 90d.
func (h *statusPages) badge(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	kind := q.Get("kind")
	if kind == "" {
		kind = "status"
	}
	window := q.Get("window")
	if window == "" {
		window = "30d"
	}
	wi := -1
	for i, name := range statuspage.WindowNames {
		if name == window {
			wi = i
		}
	}
	if (kind != "status" && kind != "uptime") || wi < 0 || len(q.Get("monitor")) > statuspage.MaxDisplayName*4 {
		http.Error(w, "kind must be status or uptime, window one of 24h, 7d, 30d, 90d", http.StatusBadRequest)
		return
	}
	e, ok := h.view(w, r, r.PathValue("slug"), false)
	if !ok {
		return
	}
	v := e.view
	var label, value, color, subject string
	if name := q.Get("monitor"); name != "" {
		m, found := v.Find(name)
		if !found {
			h.s.renderError(w, r, http.StatusNotFound, "there is no such monitor on this page")
			return
		}
		subject = m.Name
		if kind == "uptime" {
			label, value, color = uptimeBadge(m.Windows[wi])
		} else {
			label, value, color = "status", stateWord(m.State), stateColor(m.State)
		}
	} else {
		subject = v.Title
		if kind == "uptime" {
			label, value, color = uptimeBadge(v.Total(wi))
		} else {
			label, value, color = "status", strings.ReplaceAll(string(v.Overall), "_", " "), overallColor(v.Overall)
		}
	}
	title := subject + " " + label + ": " + value
	if kind == "uptime" {
		title += " (" + window + ")"
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	if v.Public {
		w.Header().Set("Cache-Control", "public, max-age=60")
	} else {
		w.Header().Set("Cache-Control", "private, max-age=60")
	}
	_, _ = w.Write(badgeSVG(label, value, color, title))
}

// Badge colours, as shields.io uses them.
const (
	colorGreen  = "#4c1"
	colorLime   = "#97ca00"
	colorYellow = "#dfb317"
	colorOrange = "#fe7d37"
	colorRed    = "#e05d44"
	colorBlue   = "#007ec6"
	colorGray   = "#9f9f9f"
)

func uptimeBadge(c statuspage.Count) (label, value, color string) {
	p, ok := c.Percent()
	switch {
	case !ok:
		return "uptime", "no data", colorGray
	case p >= 99.9:
		color = colorGreen
	case p >= 99:
		color = colorLime
	case p >= 95:
		color = colorYellow
	default:
		color = colorRed
	}
	return "uptime", formatPercent(c), color
}

// stateWord is a monitor's state in a badge's one or two words.
func stateWord(st monitor.State) string {
	switch st {
	case monitor.StateUp, monitor.StateDegraded, monitor.StateDown, monitor.StateMaintenance, monitor.StatePaused:
		return string(st)
	}
	return "unknown"
}

func stateColor(st monitor.State) string {
	switch st {
	case monitor.StateUp:
		return colorGreen
	case monitor.StateDegraded:
		return colorYellow
	case monitor.StateDown:
		return colorRed
	case monitor.StateMaintenance:
		return colorBlue
	}
	return colorGray
}

func overallColor(o statuspage.Overall) string {
	switch o {
	case statuspage.Operational:
		return colorGreen
	case statuspage.Degraded:
		return colorYellow
	case statuspage.PartialOutage:
		return colorOrange
	case statuspage.MajorOutage:
		return colorRed
	case statuspage.Maintenance:
		return colorBlue
	}
	return colorGray
}

// textWidth estimates the width in pixels of s in 11 px Verdana, the
// badges' font, closely enough to centre it: browsers draw the text with
// whatever font they have, so exact metrics would not help.
func textWidth(s string) int {
	w := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("il.,:;!|'", r):
			w += 3.7
		case strings.ContainsRune("fjrt()[] ", r):
			w += 4.6
		case strings.ContainsRune("mwMW%", r):
			w += 10.7
		case r >= 'A' && r <= 'Z':
			w += 7.6
		case r >= '0' && r <= '9':
			w += 7
		case r < 128:
			w += 6.6
		default:
			w += 8
		}
	}
	return int(math.Ceil(w))
}

// badgeSVG draws a flat two-part badge. All text is XML-escaped; colours
// come from this file only.
func badgeSVG(label, value, color, title string) []byte {
	lw, vw := textWidth(label)+12, textWidth(value)+12
	total := lw + vw
	esc := func(s string) string {
		var b bytes.Buffer
		_ = xml.EscapeText(&b, []byte(s))
		return b.String()
	}
	l, v, t := esc(label), esc(value), esc(title)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="20" role="img" aria-label="%s">`, total, t)
	fmt.Fprintf(&b, `<title>%s</title>`, t)
	b.WriteString(`<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>`)
	fmt.Fprintf(&b, `<clipPath id="r"><rect width="%d" height="20" rx="3" fill="#fff"/></clipPath>`, total)
	fmt.Fprintf(&b, `<g clip-path="url(#r)"><rect width="%d" height="20" fill="#555"/><rect x="%d" width="%d" height="20" fill="%s"/><rect width="%d" height="20" fill="url(#s)"/></g>`, lw, lw, vw, color, total)
	b.WriteString(`<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">`)
	for _, part := range []struct {
		x    float64
		text string
	}{{float64(lw) / 2, l}, {float64(lw) + float64(vw)/2, v}} {
		fmt.Fprintf(&b, `<text x="%.1f" y="15" fill="#010101" fill-opacity=".3" aria-hidden="true">%s</text><text x="%.1f" y="14">%s</text>`, part.x, part.text, part.x, part.text)
	}
	b.WriteString(`</g></svg>`)
	return []byte(b.String())
}
