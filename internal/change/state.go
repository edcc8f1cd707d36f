package change

import (
	"fmt"

	"github.com/opsdeck/opsdeck/internal/valid"
)

// Action is a step a person (or a pipeline) asks a change to take.
type Action string

// The actions.
const (
	// Submit sends a draft on: a normal change to assessment, a standard
	// or emergency change straight to scheduled.
	Submit Action = "submit"
	// Authorize asks the approver groups: assessment to authorization (or
	// to scheduled when the change's risk needs no approval).
	Authorize Action = "authorize"
	// Start marks a scheduled change as being implemented.
	Start Action = "start"
	// Finish ends implementation: on to review.
	Finish Action = "finish"
	// Close ends a change with its outcome, from review (or straight from
	// implementing, as pipelines do).
	Close Action = "close"
	// Cancel ends an open change without implementing it.
	Cancel Action = "cancel"
)

// Actions lists the actions people may ask for (approvals are separate).
func Actions() []Action { return []Action{Submit, Authorize, Start, Finish, Close, Cancel} }

// transition is one row of the transition table.
type transition struct {
	from   State
	action Action
	to     State
	// types limits the row to some change types (nil: all).
	types []Type
}

// transitions is the whole state machine; Approve and Reject add the
// authorization → scheduled and authorization → assessment moves.
var transitions = []transition{
	{Draft, Submit, Assessment, []Type{Normal}},
	{Draft, Submit, Scheduled, []Type{Standard, Emergency}},
	{Assessment, Authorize, Authorization, []Type{Normal}},
	{Scheduled, Start, Implementing, nil},
	{Implementing, Finish, Review, nil},
	{Review, Close, Closed, nil},
	{Implementing, Close, Closed, nil},
	{Draft, Cancel, Cancelled, nil},
	{Assessment, Cancel, Cancelled, nil},
	{Authorization, Cancel, Cancelled, nil},
	{Scheduled, Cancel, Cancelled, nil},
	{Implementing, Cancel, Cancelled, nil},
	{Review, Cancel, Cancelled, nil},
}

// Next returns the state action takes a change of type t in state from
// to, or a validation error naming the state field.
func Next(t Type, from State, action Action) (State, error) {
	known := false
	for _, tr := range transitions {
		if tr.action != action {
			continue
		}
		known = true
		if tr.from != from {
			continue
		}
		if tr.types != nil && !hasType(tr.types, t) {
			continue
		}
		return tr.to, nil
	}
	if !known {
		return "", valid.Errorf("action", "must be one of submit, authorize, start, finish, close, cancel")
	}
	return "", valid.Errorf("state", "a %s change in state %s cannot %s", t, from, action)
}

// Allowed lists the actions a change of type t in state s may take, for
// showing buttons.
func Allowed(t Type, s State) []Action {
	var out []Action
	for _, a := range Actions() {
		if _, err := Next(t, s, a); err == nil {
			out = append(out, a)
		}
	}
	return out
}

func hasType(ts []Type, t Type) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// ParseAction checks an action from outside input.
func ParseAction(field, s string) (Action, error) {
	for _, a := range Actions() {
		if string(a) == s {
			return a, nil
		}
	}
	return "", valid.Errorf(field, "must be one of submit, authorize, start, finish, close, cancel")
}

func (a Action) String() string { return string(a) }

var _ fmt.Stringer = Submit
