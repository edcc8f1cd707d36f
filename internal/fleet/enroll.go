package fleet

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/store"
)

// Enroll exchanges a one-time enrollment token for an agent credential.
// The token is spent in the same transaction that creates or re-attaches
// the agent, so two agents racing with one token cannot both win. A
// machine id seen before keeps its agent row (and CI, asset, history);
// its old credential stops working.
func (s *Service) Enroll(ctx context.Context, in wire.EnrollRequest) (wire.EnrollResponse, error) {
	if err := in.Validate(); err != nil {
		return wire.EnrollResponse{}, err
	}
	cred := newSecret(wire.CredentialPrefix, 32)
	credHash := hashSecret(cred)
	now := s.now()
	var id int64
	var oldHash string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var tokID int64
		err := tx.QueryRowContext(ctx, `UPDATE agent_enroll_tokens SET used_at = $1
			WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1 RETURNING id`,
			now, hashSecret(in.Token)).Scan(&tokID)
		if errors.Is(store.MapError(err), store.ErrNotFound) {
			return ErrInvalidToken
		}
		if err != nil {
			return fmt.Errorf("fleet: enroll: %w", err)
		}
		if in.MachineID != "" {
			err = tx.QueryRowContext(ctx, `SELECT id, credential_hash FROM agents WHERE machine_id = $1`, in.MachineID).Scan(&id, &oldHash)
			if err != nil && !errors.Is(store.MapError(err), store.ErrNotFound) {
				return fmt.Errorf("fleet: enroll: %w", err)
			}
		}
		if id != 0 {
			// A reinstalled host: the seq restarts with the new state folder.
			_, err = tx.ExecContext(ctx, `UPDATE agents SET credential_hash = $1, hostname = $2, agent_version = $3, enrolled_at = $4,
				revoked_at = NULL, last_seq = 0 WHERE id = $5`, credHash, in.Hostname, in.AgentVersion, now, id)
		} else {
			err = tx.QueryRowContext(ctx, `INSERT INTO agents (machine_id, hostname, agent_version, credential_hash, enrolled_at)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`, in.MachineID, in.Hostname, in.AgentVersion, credHash, now).Scan(&id)
		}
		if err != nil {
			return fmt.Errorf("fleet: enroll: %w", store.MapError(err))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE agent_enroll_tokens SET used_by = $1 WHERE id = $2`, id, tokID); err != nil {
			return fmt.Errorf("fleet: enroll: %w", err)
		}
		actx := auth.WithActor(ctx, agentActor(in.Hostname))
		return auth.Audit(actx, tx, "agent.enroll", "agent", strconv.FormatInt(id, 10), "host="+in.Hostname+" token="+strconv.FormatInt(tokID, 10))
	})
	if err != nil {
		if errors.Is(err, ErrInvalidToken) {
			s.stats.EnrollFailures.Add(1)
		}
		return wire.EnrollResponse{}, err
	}
	s.stats.Enrollments.Add(1)
	s.mu.Lock()
	if oldHash != "" {
		delete(s.byCred, oldHash)
	}
	delete(s.agents, id) // reloaded with the new seq on its first report
	s.mu.Unlock()
	return wire.EnrollResponse{AgentID: id, Credential: cred}, nil
}

// agentActor is who agent-made changes are recorded as.
func agentActor(hostname string) auth.Actor {
	return auth.Actor{Principal: auth.Principal{Kind: auth.ActorSystem, Name: "agent:" + hostname, Role: auth.RoleOperator}, Via: auth.ViaAPI}
}

// Authenticate returns the agent a credential belongs to, or
// ErrBadCredential. Known credentials are answered from memory.
func (s *Service) Authenticate(ctx context.Context, raw string) (int64, error) {
	if len(raw) > 128 || len(raw) <= len(wire.CredentialPrefix) || raw[:len(wire.CredentialPrefix)] != wire.CredentialPrefix {
		s.stats.AuthFailures.Add(1)
		return 0, ErrBadCredential
	}
	h := hashSecret(raw)
	s.mu.Lock()
	id, ok := s.byCred[h]
	s.mu.Unlock()
	if ok {
		return id, nil
	}
	err := s.db.R.QueryRowContext(ctx, `SELECT id FROM agents WHERE credential_hash = $1 AND revoked_at IS NULL`, h).Scan(&id)
	if errors.Is(store.MapError(err), store.ErrNotFound) {
		s.stats.AuthFailures.Add(1)
		return 0, ErrBadCredential
	}
	if err != nil {
		return 0, fmt.Errorf("fleet: authenticate: %w", err)
	}
	s.mu.Lock()
	s.byCred[h] = id
	s.mu.Unlock()
	return id, nil
}

// state returns the ingest state of agent id, loading it on first use.
func (s *Service) state(ctx context.Context, id int64) (*agentState, error) {
	s.mu.Lock()
	st := s.agents[id]
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st = &agentState{id: id}
	var revoked sql.NullTime
	var ci, asset sql.NullInt64
	var seq int64
	err := s.db.R.QueryRowContext(ctx, `SELECT hostname, machine_id, revoked_at, last_seq, software_hash, facts_hash, ci_id, asset_id FROM agents WHERE id = $1`, id).
		Scan(&st.hostname, &st.machineID, &revoked, &seq, &st.softwareHash, &st.factsHash, &ci, &asset)
	if err != nil {
		return nil, fmt.Errorf("fleet: load agent %d: %w", id, store.MapError(err))
	}
	st.revoked, st.lastSeq, st.ciID, st.assetID = revoked.Valid, uint64(seq), ci.Int64, asset.Int64
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.agents[id]; cur != nil {
		return cur, nil
	}
	s.agents[id] = st
	return st, nil
}

// Revoke revokes an agent's credential: its reports are refused with 401
// until it enrolls again with a new token. Its data stays.
func (s *Service) Revoke(ctx context.Context, id int64) error {
	var hash string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE agents SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING credential_hash`, s.now(), id).Scan(&hash)
		if err != nil {
			return fmt.Errorf("fleet: revoke agent %d: %w", id, store.MapError(err))
		}
		return auth.Audit(ctx, tx, "agent.revoke", "agent", strconv.FormatInt(id, 10), "")
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.byCred, hash)
	st := s.agents[id]
	s.mu.Unlock()
	if st != nil {
		st.mu.Lock()
		st.revoked = true
		st.mu.Unlock()
	}
	return nil
}
