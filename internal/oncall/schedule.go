package oncall

import (
	"fmt"
	"slices"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Schedule says who is on call when. It lives in one IANA time zone; its
// layers are listed lowest first, and where several layers have someone on
// shift the highest one wins. Overrides (kept apart, see Override) beat
// every layer.
type Schedule struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	TimeZone    string    `json:"time_zone"`
	Layers      []Layer   `json:"layers"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`

	loc *time.Location
}

// Override puts UserID on call for [Start, End) on a schedule, above every
// layer: a swapped shift, cover for a holiday. Where overrides overlap, the
// one created last wins.
type Override struct {
	ID         int64     `json:"id"`
	ScheduleID int64     `json:"schedule_id"`
	UserID     int64     `json:"user_id"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	Note       string    `json:"note"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
}

// Shift is one user on call for [Start, End). Layer is the 1-based layer
// it comes from, or 0 for an override (then OverrideID names it).
type Shift struct {
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	UserID     int64     `json:"user_id"`
	Layer      int       `json:"layer"`
	OverrideID int64     `json:"override_id,omitempty"`
}

// MaxOverrideLength bounds one override (a long absence is several).
const MaxOverrideLength = 366 * 24 * time.Hour

// LoadZone loads an IANA time zone name for a schedule. "Local" and the
// empty name are refused: a schedule must not depend on the server's zone.
func LoadZone(field, name string) (*time.Location, error) {
	if name == "" {
		return nil, valid.Errorf(field, "is required, an IANA name such as Europe/Berlin or UTC")
	}
	if name == "Local" || len(name) > 64 {
		return nil, valid.Errorf(field, "must be an IANA time zone name such as Europe/Berlin or UTC")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, valid.Errorf(field, "unknown time zone %q; use an IANA name such as Europe/Berlin", name)
	}
	return loc, nil
}

// Prepare validates the schedule and readies it for computing shifts.
// Errors name the field, such as "layers[1].handoff". Whether participants
// exist is checked by the Service, which can see the users.
func (s *Schedule) Prepare() error {
	if err := valid.Text("name", s.Name, true, 200, false); err != nil {
		return err
	}
	if err := valid.Text("description", s.Description, false, 2000, true); err != nil {
		return err
	}
	loc, err := LoadZone("time_zone", s.TimeZone)
	if err != nil {
		return err
	}
	s.loc = loc
	if len(s.Layers) > MaxLayers {
		return valid.Errorf("layers", "at most %d layers", MaxLayers)
	}
	if s.Layers == nil {
		s.Layers = []Layer{}
	}
	for i := range s.Layers {
		if err := s.Layers[i].prepare(fmt.Sprintf("layers[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// Location is the schedule's time zone (UTC before Prepare).
func (s *Schedule) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// LayerShifts returns layer i's own shifts (0-based) overlapping [from, to),
// clipped to it. Restricted hours leave gaps.
func (s *Schedule) LayerShifts(i int, from, to time.Time) []Shift {
	if i < 0 || i >= len(s.Layers) {
		return nil
	}
	return s.Layers[i].shifts(s.Location(), i+1, from, to)
}

// Shifts computes the final shifts for [from, to): at every moment the
// newest override covering it, else the highest layer with someone on
// shift, else nobody (no shift). Neighbouring pieces with the same user and
// source are joined; times are in the schedule's zone. overrides may hold
// any of the schedule's overrides.
func (s *Schedule) Shifts(overrides []Override, from, to time.Time) []Shift {
	if !from.Before(to) {
		return nil
	}
	layers := make([][]Shift, len(s.Layers))
	bounds := []time.Time{from, to}
	for i := range s.Layers {
		layers[i] = s.LayerShifts(i, from, to)
		for _, sh := range layers[i] {
			bounds = append(bounds, sh.Start, sh.End)
		}
	}
	var ovs []Override
	for _, o := range overrides {
		if o.Start.Before(to) && o.End.After(from) {
			ovs = append(ovs, o)
			bounds = append(bounds, maxTime(o.Start, from), minTime(o.End, to))
		}
	}
	// Newest first: the first covering override wins.
	slices.SortFunc(ovs, func(a, b Override) int { return compareInt(b.ID, a.ID) })
	slices.SortFunc(bounds, func(a, b time.Time) int { return a.Compare(b) })
	bounds = slices.CompactFunc(bounds, func(a, b time.Time) bool { return a.Equal(b) })

	cursor := make([]int, len(layers))
	loc := s.Location()
	var out []Shift
	for bi := 0; bi+1 < len(bounds); bi++ {
		at, end := bounds[bi], bounds[bi+1]
		piece, ok := s.winner(layers, cursor, ovs, at)
		if !ok {
			continue
		}
		piece.Start, piece.End = at.In(loc), end.In(loc)
		if n := len(out); n > 0 && out[n-1].End.Equal(at) && out[n-1].UserID == piece.UserID &&
			out[n-1].Layer == piece.Layer && out[n-1].OverrideID == piece.OverrideID {
			out[n-1].End = end.In(loc)
			continue
		}
		out = append(out, piece)
	}
	return out
}

// winner is who is on call at instant at; cursor walks each layer's
// shifts forward as at grows.
func (s *Schedule) winner(layers [][]Shift, cursor []int, ovs []Override, at time.Time) (Shift, bool) {
	for _, o := range ovs {
		if !at.Before(o.Start) && at.Before(o.End) {
			return Shift{UserID: o.UserID, OverrideID: o.ID}, true
		}
	}
	found := false
	var w Shift
	for i := range layers {
		ls := layers[i]
		for cursor[i] < len(ls) && !ls[cursor[i]].End.After(at) {
			cursor[i]++
		}
		if c := cursor[i]; c < len(ls) && !at.Before(ls[c].Start) {
			w, found = ls[c], true // later layers overwrite: highest wins
		}
	}
	return w, found
}

// OnCallAt returns the final shift covering t, if anyone is on call.
func (s *Schedule) OnCallAt(overrides []Override, t time.Time) (Shift, bool) {
	sh := s.Shifts(overrides, t, t.Add(time.Second))
	if len(sh) == 0 || sh[0].Start.After(t) {
		return Shift{}, false
	}
	return sh[0], true
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
