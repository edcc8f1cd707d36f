package change

import "github.com/opsdeck/opsdeck/internal/valid"

// Answers is the risk questionnaire: five yes/no questions whose points
// add up to a risk level (docs/changes.md shows the table).
//
//	production      the change touches production                     2 points
//	outage          users will see an outage or degradation            2 points
//	no_backout      the backout plan is untested or there is none      2 points
//	untested        the change was not tried in a test environment     1 point
//	business_hours  it runs during business hours                      1 point
//
// 0–1 points is low, 2–3 medium, 4–5 high, 6 or more critical.
type Answers struct {
	Production    bool `json:"production"`
	Outage        bool `json:"outage"`
	NoBackout     bool `json:"no_backout"`
	Untested      bool `json:"untested"`
	BusinessHours bool `json:"business_hours"`
}

// Score adds up the answers' points.
func (a Answers) Score() int {
	n := 0
	for _, q := range []struct {
		yes    bool
		points int
	}{{a.Production, 2}, {a.Outage, 2}, {a.NoBackout, 2}, {a.Untested, 1}, {a.BusinessHours, 1}} {
		if q.yes {
			n += q.points
		}
	}
	return n
}

// Risk is the level the answers give.
func (a Answers) Risk() Risk {
	switch n := a.Score(); {
	case n >= 6:
		return Critical
	case n >= 4:
		return High
	case n >= 2:
		return Medium
	}
	return Low
}

// ParseRisk checks a risk level from outside input.
func ParseRisk(field, s string) (Risk, error) {
	for _, r := range Risks() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", valid.Errorf(field, "must be low, medium, high or critical")
}

// ParseType checks a change type from outside input.
func ParseType(field, s string) (Type, error) {
	switch t := Type(s); t {
	case Standard, Normal, Emergency:
		return t, nil
	}
	return "", valid.Errorf(field, "must be standard, normal or emergency")
}

// ParseOutcome checks an outcome from outside input.
func ParseOutcome(field, s string) (Outcome, error) {
	switch o := Outcome(s); o {
	case Successful, Failed, RolledBack:
		return o, nil
	}
	return "", valid.Errorf(field, "must be successful, failed or rolled_back")
}

// ParseState checks a state from outside input.
func ParseState(field, s string) (State, error) {
	for _, st := range States() {
		if string(st) == s {
			return st, nil
		}
	}
	return "", valid.Errorf(field, "is not a change state")
}
