package incident

import (
	"context"
	"fmt"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/store"
)

// InternalService is the service of alerts opsdeck raises about itself
// (a notification channel that keeps failing). It is created on first use.
const InternalService = "opsdeck"

// internalScope is the dedup scope of opsdeck's own alerts.
const internalScope = "opsdeck"

// RaiseInternal triggers an alert about opsdeck itself on the
// InternalService, deduplicated by key, and returns after it is committed.
// It is how a failure that would otherwise be silent (a page given up)
// reaches people.
func (s *Service) RaiseInternal(ctx context.Context, key, summary, detail string) error {
	svc, err := s.ensureService(ctx, InternalService, "Alerts opsdeck raises about itself, such as notifications it gave up delivering. Set an escalation policy here.", "")
	if err != nil {
		return err
	}
	ev := Event{Action: ActionTrigger, DedupKey: key, Summary: clip(cleanLine(summary), maxSummary), Source: "opsdeck",
		Severity: SeverityError, Labels: map[string]string{"source": "opsdeck"}, At: s.now()}
	if detail != "" {
		ev.Labels["detail"] = clip(cleanLine(detail), maxSummary)
	}
	actor := auth.Actor{Principal: auth.Principal{Kind: auth.ActorSystem, Name: "opsdeck"}, Via: auth.ViaSystem}
	return s.submit(ctx, &intakeItem{scope: internalScope, serviceID: svc, kind: "internal", actor: actor, events: []Event{ev}})
}

// ensureService returns the id of the service called name, creating it
// with the given description and grouping label when it does not exist.
func (s *Service) ensureService(ctx context.Context, name, description, groupBy string) (int64, error) {
	if ts, err := s.ServiceByName(ctx, name); err == nil {
		return ts.ID, nil
	}
	now := s.now().UTC()
	if _, err := s.db.W.ExecContext(ctx, `INSERT INTO services (name, description, group_by, group_window_ms, auto_resolve, created_at, updated_at)
		VALUES ($1, $2, $3, $4, TRUE, $5, $5) ON CONFLICT (name) DO NOTHING`,
		name, description, groupBy, DefaultGroupWindow.Milliseconds(), now); err != nil {
		return 0, fmt.Errorf("incident: create the %s service: %w", name, store.MapError(err))
	}
	ts, err := s.ServiceByName(ctx, name)
	if err != nil {
		return 0, err
	}
	return ts.ID, nil
}
