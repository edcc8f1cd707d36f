package web

import (
	"html/template"
	"sort"
	"strconv"
	"time"

	"github.com/opsdeck/opsdeck/internal/oncall"
)

// calendarSVG draws the final shifts of a period as one row per day in
// the schedule's zone: each shift a bar labelled with its user, the hours
// 06, 12 and 18 as guides, and the current time as a line. A day of 23 or
// 25 hours (DST) is drawn to its real length, so bars of the same user line
// up with the wall clock at the day's ends.
func calendarSVG(p calendarPeriod, shifts []oncall.Shift, names map[int64]string, now time.Time, loc *time.Location) template.HTML {
	const (
		width  = 1000.0
		labelW = 110.0
		rowH   = 30.0
		headH  = 18.0
	)
	track := width - labelW
	// A colour per user, stable across the period: users by id.
	var ids []int64
	seen := map[int64]bool{}
	for _, sh := range shifts {
		if !seen[sh.UserID] {
			seen[sh.UserID] = true
			ids = append(ids, sh.UserID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	colour := map[int64]int{}
	for i, id := range ids {
		colour[id] = i % 8
	}
	height := headH + rowH*float64(len(p.Days))
	var b svgBuilder
	b.printf(`<svg class="oncall-cal" viewBox="0 0 %s %s" role="img" aria-label="%s">`, svgNum(width), svgNum(height), svgText("Shifts, "+p.Label+"; the same shifts are listed in the table below"))
	for _, h := range []int{0, 6, 12, 18} {
		x := labelW + track*float64(h)/24
		b.printf(`<text class="cal-hour" x="%s" y="12">%02d:00</text>`, svgNum(x+2), h)
	}
	for i, dayStart := range p.Days {
		dayEnd := p.To
		if i+1 < len(p.Days) {
			dayEnd = p.Days[i+1]
		}
		length := dayEnd.Sub(dayStart).Seconds()
		y := headH + rowH*float64(i)
		frac := func(t time.Time) float64 { return t.Sub(dayStart).Seconds() / length }
		cls := "cal-day"
		if !now.Before(dayStart) && now.Before(dayEnd) {
			cls += " cal-today"
		}
		b.printf(`<g class="%s"><rect class="cal-row" x="0" y="%s" width="%s" height="%s"/>`, cls, svgNum(y), svgNum(width), svgNum(rowH))
		b.printf(`<text class="cal-label" x="4" y="%s">%s</text>`, svgNum(y+rowH/2+4), svgText(dayStart.In(loc).Format("Mon 2 Jan")))
		for _, h := range []int{6, 12, 18} {
			ld := dayStart.In(loc)
			at := oncall.InZone(time.Date(ld.Year(), ld.Month(), ld.Day(), h, 0, 0, 0, time.UTC), loc)
			x := labelW + track*frac(at)
			b.printf(`<line class="cal-grid" x1="%s" x2="%s" y1="%s" y2="%s"/>`, svgNum(x), svgNum(x), svgNum(y), svgNum(y+rowH))
		}
		for _, sh := range shifts {
			s, e := sh.Start, sh.End
			if !s.Before(dayEnd) || !e.After(dayStart) {
				continue
			}
			if s.Before(dayStart) {
				s = dayStart
			}
			if e.After(dayEnd) {
				e = dayEnd
			}
			x, w := labelW+track*frac(s), track*(frac(e)-frac(s))
			name := userName(names, sh.UserID)
			src := "layer " + strconv.Itoa(sh.Layer)
			barCls := "cal-shift cal-u" + strconv.Itoa(colour[sh.UserID])
			if sh.OverrideID != 0 {
				src, barCls = "override", barCls+" cal-override"
			}
			b.printf(`<g class="%s"><title>%s</title><rect x="%s" y="%s" width="%s" height="%s" rx="3"/>`, svgClass(barCls),
				svgText(name+": "+sh.Start.In(loc).Format("Mon 2 Jan 15:04")+" → "+sh.End.In(loc).Format("Mon 2 Jan 15:04")+" ("+src+")"),
				svgNum(x+0.5), svgNum(y+3), svgNum(max(w-1, 0.5)), svgNum(rowH-6))
			if w > 36 {
				b.printf(`<text class="cal-user" x="%s" y="%s">%s</text>`, svgNum(x+4), svgNum(y+rowH/2+4), svgText(truncateRunes(name, int(w/7))))
			}
			b.printf(`</g>`)
		}
		if !now.Before(dayStart) && now.Before(dayEnd) {
			x := labelW + track*frac(now)
			b.printf(`<line class="cal-now" x1="%s" x2="%s" y1="%s" y2="%s"><title>now</title></line>`, svgNum(x), svgNum(x), svgNum(y), svgNum(y+rowH))
		}
		b.printf(`</g>`)
	}
	b.printf(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers via svgNum, text via svgText
}

// truncateRunes keeps at most n runes of s, marking a cut with "…".
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if n < 2 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
