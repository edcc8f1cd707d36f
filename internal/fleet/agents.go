package fleet

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/store"
)

// Agent is one enrolled host as the fleet page shows it.
type Agent struct {
	ID               int64       `json:"id"`
	Hostname         string      `json:"hostname"`
	MachineID        string      `json:"machine_id"`
	AgentVersion     string      `json:"agent_version"`
	OS               string      `json:"os"`
	EnrolledAt       time.Time   `json:"enrolled_at"`
	RevokedAt        *time.Time  `json:"revoked_at,omitempty"`
	LastSeen         *time.Time  `json:"last_seen,omitempty"`
	LastAddr         string      `json:"last_addr"`
	LastSeq          int64       `json:"last_seq"`
	CIID             int64       `json:"ci_id,omitempty"`
	AssetID          int64       `json:"asset_id,omitempty"`
	SoftwareCount    int64       `json:"software_count"`
	SoftwareAt       *time.Time  `json:"software_at,omitempty"`
	UpdatesCheckedAt *time.Time  `json:"updates_checked_at,omitempty"`
	UpdatesCount     int64       `json:"updates_count"`
	SecurityCount    int64       `json:"security_updates_count"`
	State            string      `json:"state"` // online, stale, offline, never or revoked
	Facts            *wire.Facts `json:"facts,omitempty"`
}

// stateOf says how current an agent is: online within 3 intervals, stale
// within 10 minutes, offline beyond.
func (s *Service) stateOf(a *Agent, now time.Time) string {
	switch {
	case a.RevokedAt != nil:
		return "revoked"
	case a.LastSeen == nil:
		return "never"
	case now.Sub(*a.LastSeen) <= 3*s.opts.Interval:
		return "online"
	case now.Sub(*a.LastSeen) <= 10*time.Minute:
		return "stale"
	}
	return "offline"
}

const agentCols = `id, hostname, machine_id, agent_version, facts, enrolled_at, revoked_at, last_seen, last_addr, last_seq,
	COALESCE(ci_id, 0), COALESCE(asset_id, 0), software_count, software_at, updates_checked_at, updates_count, security_count`

func (s *Service) scanAgent(row interface{ Scan(...any) error }, withFacts bool) (Agent, error) {
	var a Agent
	var facts string
	var revoked, seen, swAt, upAt sql.NullTime
	err := row.Scan(&a.ID, &a.Hostname, &a.MachineID, &a.AgentVersion, &facts, &a.EnrolledAt, &revoked, &seen, &a.LastAddr, &a.LastSeq,
		&a.CIID, &a.AssetID, &a.SoftwareCount, &swAt, &upAt, &a.UpdatesCount, &a.SecurityCount)
	if err != nil {
		return a, err
	}
	a.EnrolledAt, a.RevokedAt, a.LastSeen, a.SoftwareAt, a.UpdatesCheckedAt = a.EnrolledAt.UTC(), nullTime(revoked), nullTime(seen), nullTime(swAt), nullTime(upAt)
	if facts != "" {
		var f wire.Facts
		if json.Unmarshal([]byte(facts), &f) == nil {
			a.OS = f.OS.Pretty
			if a.OS == "" {
				a.OS = f.OS.Name + " " + f.OS.Version
			}
			if withFacts {
				a.Facts = &f
			}
		}
	}
	a.State = s.stateOf(&a, s.now())
	return a, nil
}

// List returns the agents by hostname.
func (s *Service) List(ctx context.Context) ([]Agent, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+agentCols+` FROM agents ORDER BY hostname, id LIMIT 10000`)
	if err != nil {
		return nil, fmt.Errorf("fleet: list agents: %w", err)
	}
	defer rows.Close()
	out := []Agent{}
	for rows.Next() {
		a, err := s.scanAgent(rows, false)
		if err != nil {
			return nil, fmt.Errorf("fleet: list agents: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Get returns one agent with its facts.
func (s *Service) Get(ctx context.Context, id int64) (Agent, error) {
	a, err := s.scanAgent(s.db.R.QueryRowContext(ctx, `SELECT `+agentCols+` FROM agents WHERE id = $1`, id), true)
	if err != nil {
		return a, fmt.Errorf("fleet: agent %d: %w", id, store.MapError(err))
	}
	return a, nil
}

// FileChange is one stored configuration drift entry.
type FileChange struct {
	ID int64 `json:"id"`
	wire.FileChange
	ReceivedAt time.Time `json:"received_at"`
}

// FileChanges lists an agent's drift entries, newest first (limit 200
// when unset); with diffs only when withDiff is set.
func (s *Service) FileChanges(ctx context.Context, agent int64, limit int, withDiff bool) ([]FileChange, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	diff := `''`
	if withDiff {
		diff = `diff`
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, path, sha256, size, mode, `+diff+`, truncated, error, at, received_at FROM agent_file_changes
		WHERE agent_id = $1 ORDER BY id DESC LIMIT $2`, agent, limit)
	if err != nil {
		return nil, fmt.Errorf("fleet: file changes: %w", err)
	}
	defer rows.Close()
	out := []FileChange{}
	for rows.Next() {
		var f FileChange
		if err := rows.Scan(&f.ID, &f.Path, &f.SHA256, &f.Size, &f.Mode, &f.Diff, &f.Truncated, &f.Error, &f.T, &f.ReceivedAt); err != nil {
			return nil, fmt.Errorf("fleet: file changes: %w", err)
		}
		f.T, f.ReceivedAt = f.T.UTC(), f.ReceivedAt.UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}
