// Package statuspage keeps status pages: a title, an address (slug) and an
// ordered choice of monitors that opsdeck shows to people outside the team,
// such as a boss or customers. It owns the pages' SQL and rules, and reads
// what a page shows (states, daily uptime, uptime windows) in a few batched
// queries, revealing nothing internal: no targets, messages or monitor ids.
package statuspage

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Page is one status page and the monitors it shows, in order.
type Page struct {
	ID          int64     `json:"id"`
	Slug        string    `json:"slug"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Public      bool      `json:"public"`
	Monitors    []Entry   `json:"monitors"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Entry is one monitor on a page.
type Entry struct {
	MonitorID int64 `json:"monitor_id"`
	// Position orders the page, from 1.
	Position int `json:"position"`
	// DisplayName replaces the monitor's own name on the page; empty shows
	// the monitor's name.
	DisplayName string `json:"display_name"`
	// Section groups monitors under a heading; empty means no heading.
	Section string `json:"section"`
	// MonitorName is the monitor's own name, for the people who edit the
	// page; the page itself never shows it when a display name is set.
	MonitorName string `json:"monitor_name"`
}

// Name is what the page shows for the entry.
func (e Entry) Name() string {
	if e.DisplayName != "" {
		return e.DisplayName
	}
	return e.MonitorName
}

// Input is a page as a user writes it (API body, form).
type Input struct {
	Slug        string       `json:"slug"`
	Title       string       `json:"title"`
	Description string       `json:"description"`
	Public      bool         `json:"public"`
	Monitors    []EntryInput `json:"monitors"`
}

// EntryInput is one monitor of an Input. Position is optional: entries
// without one keep their place in the list.
type EntryInput struct {
	MonitorID   int64  `json:"monitor_id"`
	Position    *int   `json:"position,omitempty"`
	DisplayName string `json:"display_name"`
	Section     string `json:"section"`

	idx int // the entry's index in the input, for error fields
}

// Limits of a page's fields.
const (
	MaxSlug        = 64
	MaxTitle       = 200
	MaxDescription = 1000
	MaxDisplayName = 200
	MaxSection     = 100
	MaxMonitors    = 200
	MaxPosition    = 1_000_000
)

// ValidSlug checks a page's address: 1 to 64 characters of a-z, 0-9 and
// '-', so that it reads well in a URL and needs no escaping anywhere.
func ValidSlug(field, s string) error {
	if s == "" {
		return valid.Errorf(field, "is required")
	}
	if len(s) > MaxSlug {
		return valid.Errorf(field, "is too long (%d characters, at most %d)", len(s), MaxSlug)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return valid.Errorf(field, "may hold only lower-case letters a-z, digits and '-'")
		}
	}
	return nil
}

// Slugify proposes a slug from a title: "Acme API (EU)" becomes
// "acme-api-eu". It may return "" when the title has no usable letter.
func Slugify(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= MaxSlug {
			break
		}
	}
	s := b.String()
	if len(s) > MaxSlug {
		s = strings.TrimRight(s[:MaxSlug], "-")
	}
	return s
}

// normalize validates in and returns it cleaned: text trimmed, entries in
// page order with positions 1..n. Errors name the field, entries as
// monitors[i].field with i the entry's index in the input.
func normalize(in Input) (Input, error) {
	in.Title = strings.TrimSpace(in.Title)
	if err := valid.Text("title", in.Title, true, MaxTitle, false); err != nil {
		return in, err
	}
	in.Slug = strings.TrimSpace(in.Slug)
	if err := ValidSlug("slug", in.Slug); err != nil {
		return in, err
	}
	in.Description = strings.TrimSpace(in.Description)
	if err := valid.Text("description", in.Description, false, MaxDescription, true); err != nil {
		return in, err
	}
	if len(in.Monitors) > MaxMonitors {
		return in, valid.Errorf("monitors", "are too many (%d; at most %d fit on one page)", len(in.Monitors), MaxMonitors)
	}
	type ordered struct {
		e   EntryInput
		pos int
		idx int
	}
	seen := map[int64]int{}
	list := make([]ordered, 0, len(in.Monitors))
	for i, e := range in.Monitors {
		f := func(name string) string { return fmt.Sprintf("monitors[%d].%s", i, name) }
		if e.MonitorID <= 0 {
			return in, valid.Errorf(f("monitor_id"), "is required")
		}
		if j, dup := seen[e.MonitorID]; dup {
			return in, valid.Errorf(f("monitor_id"), "monitor %d is on the page already (entry %d)", e.MonitorID, j)
		}
		seen[e.MonitorID] = i
		e.DisplayName = strings.TrimSpace(e.DisplayName)
		if err := valid.Text(f("display_name"), e.DisplayName, false, MaxDisplayName, false); err != nil {
			return in, err
		}
		e.Section = strings.TrimSpace(e.Section)
		if err := valid.Text(f("section"), e.Section, false, MaxSection, false); err != nil {
			return in, err
		}
		pos := i + 1
		if e.Position != nil {
			if *e.Position < 0 || *e.Position > MaxPosition {
				return in, valid.Errorf(f("position"), "must be from 0 to %d", MaxPosition)
			}
			pos = *e.Position
		}
		e.idx = i
		list = append(list, ordered{e: e, pos: pos, idx: i})
	}
	slices.SortStableFunc(list, func(a, b ordered) int {
		return cmp.Or(cmp.Compare(a.pos, b.pos), cmp.Compare(a.idx, b.idx))
	})
	out := make([]EntryInput, len(list))
	for i, o := range list {
		p := i + 1
		o.e.Position = &p
		out[i] = o.e
	}
	in.Monitors = out
	return in, nil
}
