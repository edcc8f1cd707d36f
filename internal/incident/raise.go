package incident

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Signal is an alert another opsdeck domain raises through the pipeline
// (a late backup, a security finding, a change gone wrong): the same
// dedup, grouping, escalation and paging as any integration's alert.
type Signal struct {
	// Source names the raising domain ("backup", "security"); it is the
	// alert's dedup scope, so keys of different domains never collide.
	Source string
	// Service is the incident service the alert lands on; it is created on
	// first use (with no escalation policy: an admin sets one).
	Service string
	// ServiceDescription describes a service created on first use.
	ServiceDescription string
	// Key deduplicates: one open alert per (Source, Key).
	Key      string
	Summary  string
	Detail   string
	Severity string // one of the Severity constants; "" is error
	Labels   map[string]string
	Links    []Link
}

func (sig Signal) check() error {
	switch {
	case sig.Source == "" || strings.ContainsAny(sig.Source, " \t\r\n"):
		return valid.Errorf("source", "is required and has no spaces")
	case strings.TrimSpace(sig.Service) == "":
		return valid.Errorf("service", "is required")
	case strings.TrimSpace(sig.Key) == "":
		return valid.Errorf("key", "is required")
	}
	return nil
}

func signalScope(source string) string { return "src:" + source }

// Raise triggers (or refreshes) the alert of sig and returns after it is
// committed. A second Raise with the same Source and Key while the alert is
// open updates it rather than opening another.
func (s *Service) Raise(ctx context.Context, sig Signal) error {
	if err := sig.check(); err != nil {
		return err
	}
	svc, err := s.ensureService(ctx, sig.Service, sig.ServiceDescription, "")
	if err != nil {
		return err
	}
	sev := sig.Severity
	if sev == "" {
		sev = SeverityError
	}
	labels := map[string]string{"source": sig.Source}
	maps.Copy(labels, sig.Labels)
	if sig.Detail != "" {
		labels["detail"] = clip(cleanLine(sig.Detail), maxSummary)
	}
	ev := Event{Action: ActionTrigger, DedupKey: sig.Key, Summary: clip(cleanLine(sig.Summary), maxSummary), Source: sig.Source,
		Severity: sev, Labels: labels, Links: sig.Links, At: s.now()}
	return s.submit(ctx, &intakeItem{scope: signalScope(sig.Source), serviceID: svc, kind: sig.Source, actor: signalActor(sig.Source), events: []Event{ev}})
}

// Clear resolves the open alert of (source, key) on service, if any, and
// returns after the commit. Clearing what is not open is a no-op.
func (s *Service) Clear(ctx context.Context, source, service, key string) error {
	sig := Signal{Source: source, Service: service, Key: key}
	if err := sig.check(); err != nil {
		return err
	}
	ts, err := s.ServiceByName(ctx, service)
	if err != nil {
		return fmt.Errorf("incident: clear %s/%s: %w", source, key, err)
	}
	ev := Event{Action: ActionResolve, DedupKey: key, Source: source, At: s.now()}
	return s.submit(ctx, &intakeItem{scope: signalScope(source), serviceID: ts.ID, kind: source, actor: signalActor(source), events: []Event{ev}})
}

func signalActor(source string) auth.Actor {
	return auth.Actor{Principal: auth.Principal{Kind: auth.ActorSystem, Name: source}, Via: auth.ViaSystem}
}
