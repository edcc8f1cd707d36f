package deskmail

import "strings"

// Outcome is what became of an inbound message.
type Outcome string

// The outcomes. Dropped messages never create or touch a ticket; the
// sender gets no bounce (a bounce to an auto-reply is how loops start).
const (
	OutcomeTicket    Outcome = "ticket"
	OutcomeReply     Outcome = "reply"
	OutcomeDuplicate Outcome = "duplicate"
	OutcomeLoop      Outcome = "loop"
	OutcomeBulk      Outcome = "bulk"
	OutcomeTooBig    Outcome = "too_big"
	OutcomeRejected  Outcome = "rejected"
)

// Outcomes lists every outcome, in the order the counters show them.
func Outcomes() []Outcome {
	return []Outcome{OutcomeTicket, OutcomeReply, OutcomeDuplicate, OutcomeLoop, OutcomeBulk, OutcomeTooBig, OutcomeRejected}
}

// Dropped reports whether the outcome left the desk untouched.
func (o Outcome) Dropped() bool { return o != OutcomeTicket && o != OutcomeReply }

// robotLocalParts are senders that are machines answering mail.
var robotLocalParts = map[string]bool{"mailer-daemon": true, "postmaster": true}

// classify decides whether a message is an automatic one that must not
// create or reopen tickets: auto-replies and bounces are loops, list and
// bulk mail is bulk. own lists opsdeck's own addresses. It returns "" for
// a message a person wrote, else the outcome and why.
func classify(m *Message, own []string) (Outcome, string) {
	if m.From == "" {
		return OutcomeRejected, "no sender address"
	}
	for _, a := range own {
		if strings.EqualFold(m.From, a) {
			return OutcomeLoop, "sent from opsdeck's own address " + a
		}
	}
	local, _, _ := strings.Cut(m.From, "@")
	if robotLocalParts[local] {
		return OutcomeLoop, "sent by " + local
	}
	if v := strings.ToLower(m.Loop["auto-submitted"]); v != "" && !strings.HasPrefix(v, "no") {
		return OutcomeLoop, "Auto-Submitted: " + v
	}
	if _, ok := m.Loop["x-autoreply"]; ok {
		return OutcomeLoop, "X-Autoreply"
	}
	if _, ok := m.Loop["x-autorespond"]; ok {
		return OutcomeLoop, "X-Autorespond"
	}
	if rp, ok := m.Loop["return-path"]; ok && strings.Trim(rp, "<> ") == "" {
		return OutcomeLoop, "empty Return-Path (a bounce)"
	}
	switch p := strings.ToLower(strings.TrimSpace(m.Loop["precedence"])); p {
	case "bulk", "junk", "list":
		return OutcomeBulk, "Precedence: " + p
	}
	return "", ""
}
