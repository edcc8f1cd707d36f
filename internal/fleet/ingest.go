package fleet

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// reportWrite is one accepted report's writes, committed by the batcher
// together with other agents' reports in one transaction.
type reportWrite struct {
	agent        int64
	seq          uint64
	at           time.Time
	addr         string
	version      string
	facts        []byte // nil: unchanged
	factsHash    string
	hostname     string
	ciID         int64
	assetID      int64
	software     []wire.Package // nil: unchanged
	softwareHash string
	updates      *wire.Updates
	samples      [][]any // series_id, t, value
	dirty        [][2]int64
	files        []wire.FileChange
	err          error // set by flushReports
}

// Ingest applies a decoded, validated report from agent id (known only
// from its credential). The answer is sent after the report's writes
// committed. A seq not above the accepted one is a *ReplayError and
// changes nothing.
func (s *Service) Ingest(ctx context.Context, id int64, rep *wire.Report, addr string) (wire.ReportResponse, error) {
	st, err := s.state(ctx, id)
	if err != nil {
		return wire.ReportResponse{}, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.revoked {
		s.stats.AuthFailures.Add(1)
		return wire.ReportResponse{}, ErrBadCredential
	}
	if rep.Seq <= st.lastSeq {
		s.stats.Replays.Add(1)
		return wire.ReportResponse{}, &ReplayError{Accepted: st.lastSeq}
	}
	w := &reportWrite{agent: id, seq: rep.Seq, at: s.now(), addr: addr, version: rep.AgentVersion, ciID: st.ciID, assetID: st.assetID, hostname: st.hostname}
	if rep.Facts != nil {
		if h := factsHash(rep.Facts); h != st.factsHash || st.ciID == 0 && s.opts.CMDB != nil {
			// The CI and asset are upserts in their own services'
			// transactions; a retry after a failure below repeats them
			// harmlessly.
			select {
			case s.hostSync <- struct{}{}:
			case <-ctx.Done():
				return wire.ReportResponse{}, ctx.Err()
			}
			err := s.syncHost(ctx, st, rep.Facts, w)
			<-s.hostSync
			if err != nil {
				return wire.ReportResponse{}, err
			}
			w.facts, _ = json.Marshal(rep.Facts)
			w.factsHash, w.hostname = h, rep.Facts.Hostname
		}
	}
	need := false
	if sw := rep.Software; sw != nil && sw.Hash != st.softwareHash {
		if len(sw.Packages) > 0 {
			w.software, w.softwareHash = sw.Packages, sw.Hash
		} else {
			need = true // changed, but the list did not come: ask for it
		}
	}
	w.updates = rep.Updates
	if err := s.prepareSamples(ctx, w, rep.Metrics); err != nil {
		return wire.ReportResponse{}, err
	}
	w.files = rep.Files
	if err := s.batch.Add(ctx, w); err != nil {
		return wire.ReportResponse{}, fmt.Errorf("fleet: commit report: %w", err)
	}
	if w.err != nil {
		return wire.ReportResponse{}, fmt.Errorf("fleet: commit report: %w", w.err)
	}
	st.lastSeq = rep.Seq
	if w.software != nil {
		st.softwareHash = w.softwareHash
		s.stats.SoftwareWrites.Add(1)
	}
	if w.facts != nil {
		st.factsHash, st.hostname = w.factsHash, w.hostname
	}
	st.ciID, st.assetID = w.ciID, w.assetID
	s.stats.Reports.Add(1)
	if rep.Updates != nil && s.opts.OnUpdates != nil {
		s.opts.OnUpdates(ctx, id, st.ciID, rep.Updates.Pending)
	}
	if w.software != nil && s.opts.OnSoftware != nil {
		s.opts.OnSoftware(ctx, id, st.ciID, w.software)
	}
	return wire.ReportResponse{AcceptedSeq: rep.Seq, NeedSoftware: need, IntervalSeconds: int(s.opts.Interval / time.Second)}, nil
}

// factsHash identifies facts apart from the ones that change all the time
// (uptime), so a fact change is a real one.
func factsHash(f *wire.Facts) string {
	c := *f
	c.UptimeSeconds = 0
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// flushReports writes a batch of accepted reports in one transaction. Each
// report is written under a savepoint, so one that fails (its error kept
// in w.err) does not take the others of its batch down with it.
func (s *Service) flushReports(ctx context.Context, tx *sql.Tx, items []*reportWrite) error {
	for _, w := range items {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT report`); err != nil {
			return fmt.Errorf("fleet: savepoint: %w", err)
		}
		w.err = s.writeReport(ctx, tx, w)
		q := `RELEASE SAVEPOINT report`
		if w.err != nil {
			q = `ROLLBACK TO SAVEPOINT report`
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("fleet: savepoint: %w", err)
		}
		if w.err != nil {
			if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT report`); err != nil {
				return fmt.Errorf("fleet: savepoint: %w", err)
			}
		}
	}
	return nil
}

func (s *Service) writeReport(ctx context.Context, tx *sql.Tx, w *reportWrite) error {
	set := []string{"last_seq = $1", "last_seen = $2", "last_addr = $3", "agent_version = $4"}
	args := []any{int64(w.seq), w.at, w.addr, w.version}
	add := func(col string, v any) {
		args = append(args, v)
		set = append(set, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if w.facts != nil {
		add("facts", string(w.facts))
		add("facts_hash", w.factsHash)
		add("facts_at", w.at)
		add("hostname", w.hostname)
		add("ci_id", nullID(w.ciID))
		add("asset_id", nullID(w.assetID))
	}
	if w.software != nil {
		add("software_hash", w.softwareHash)
		add("software_count", int64(len(w.software)))
		add("software_at", w.at)
		if err := s.writeSoftwareSet(ctx, tx, w); err != nil {
			return err
		}
	}
	if u := w.updates; u != nil {
		sec := 0
		rows := make([][]any, len(u.Pending))
		for i, p := range u.Pending {
			rows[i] = []any{w.agent, p.Name, p.Current, p.Candidate, p.Security}
			if p.Security {
				sec++
			}
		}
		add("updates_checked_at", u.CheckedAt.UTC())
		add("updates_count", int64(len(u.Pending)))
		add("security_count", int64(sec))
		if _, err := tx.ExecContext(ctx, `DELETE FROM agent_updates WHERE agent_id = $1`, w.agent); err != nil {
			return fmt.Errorf("fleet: write updates: %w", err)
		}
		if err := s.db.InsertMany(ctx, tx, "agent_updates", []string{"agent_id", "name", "current", "candidate", "security"}, rows); err != nil {
			return fmt.Errorf("fleet: write updates: %w", err)
		}
	}
	args = append(args, w.agent)
	if _, err := tx.ExecContext(ctx, `UPDATE agents SET `+strings.Join(set, ", ")+fmt.Sprintf(` WHERE id = $%d`, len(args)), args...); err != nil {
		return fmt.Errorf("fleet: write report: %w", err)
	}
	if err := s.writeSamples(ctx, tx, w); err != nil {
		return err
	}
	return s.writeFiles(ctx, tx, w)
}

// writeSoftwareSet stores an inventory under its hash unless a host with
// the same inventory stored it already.
func (s *Service) writeSoftwareSet(ctx context.Context, tx *sql.Tx, w *reportWrite) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO agent_software_sets (hash, count, created_at) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING`,
		w.softwareHash, int64(len(w.software)), w.at)
	if err != nil {
		return fmt.Errorf("fleet: write software: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // known inventory: the agent now points at it
	}
	rows := make([][]any, len(w.software))
	for i, p := range w.software {
		rows[i] = []any{w.softwareHash, p.Source, p.Name, p.Version, p.Arch}
	}
	if err := s.db.InsertMany(ctx, tx, "agent_packages", []string{"set_hash", "source", "name", "version", "arch"}, rows); err != nil {
		return fmt.Errorf("fleet: write software: %w", err)
	}
	s.stats.SoftwareSetsWritten.Add(1)
	return nil
}

// writeFiles records configuration drift: a row with the diff per change,
// and an entry on the host CI's history.
func (s *Service) writeFiles(ctx context.Context, tx *sql.Tx, w *reportWrite) error {
	for _, f := range w.files {
		var prev string
		err := tx.QueryRowContext(ctx, `SELECT sha256 FROM agent_file_changes WHERE agent_id = $1 AND path = $2 ORDER BY id DESC LIMIT 1`, w.agent, f.Path).Scan(&prev)
		if err != nil && err != sql.ErrNoRows {
			return fmt.Errorf("fleet: write drift: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO agent_file_changes (agent_id, path, sha256, size, mode, diff, truncated, error, at, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, w.agent, f.Path, f.SHA256, f.Size, f.Mode, f.Diff, f.Truncated, f.Error, f.T.UTC(), w.at); err != nil {
			return fmt.Errorf("fleet: write drift: %w", err)
		}
		if w.ciID == 0 || s.opts.CMDB == nil {
			continue
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cis WHERE id = $1`, w.ciID).Scan(&n); err != nil || n == 0 {
			continue // the CI was deleted; the next fact change makes a new one
		}
		if err := s.opts.CMDB.RecordChange(ctx, tx, cmdb.Change{CIID: w.ciID, Actor: "agent:" + w.hostname, Source: cmdb.SourceAgent,
			Action: "file_changed", Field: f.Path, Old: shortHash(prev), New: fileState(f)}); err != nil {
			return err
		}
	}
	return nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// fileState says in one line what a drift entry's file is now.
func fileState(f wire.FileChange) string {
	switch {
	case f.Error != "":
		return "unreadable: " + f.Error
	case f.SHA256 == "":
		return "deleted"
	}
	return fmt.Sprintf("%s (%d bytes, mode %s)", shortHash(f.SHA256), f.Size, f.Mode)
}
