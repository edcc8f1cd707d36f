package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// SelfJobName names the job that shows opsdeck's own scheduled backups on
// the dashboard.
const SelfJobName = "opsdeck database (self-backup)"

const selfPrefix, selfSuffix = "opsdeck-", ".tar.gz"

// ensureSelfJob creates the self-backup job, or brings its schedule in
// line with the configured interval.
func (s *Service) ensureSelfJob(ctx context.Context) error {
	in := JobInput{Name: SelfJobName, Tool: "opsdeck", Description: "opsdeck's own database, archived to " + s.self.Folder,
		Period: s.self.Interval.String(), Grace: min(s.self.Interval/2, time.Hour).String(), RPO: (2 * s.self.Interval).String()}
	if s.self.Interval < time.Minute {
		in.Period = time.Minute.String()
	}
	id, err := s.selfJobID(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, _, err = s.createJob(ctx, in, true)
		return err
	case err != nil:
		return wrap("self-backup job", err)
	}
	_, err = s.UpdateJob(ctx, id, in)
	return err
}

func (s *Service) selfJobID(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.R.QueryRowContext(ctx, `SELECT id FROM backup_jobs WHERE self_backup = $1 ORDER BY id LIMIT 1`, true).Scan(&id)
	return id, err
}

// SelfBackup takes one backup of opsdeck's database into the configured
// folder, records it as a run of the self-backup job, and deletes the
// oldest archives beyond the retention count. It returns the archive path.
func (s *Service) SelfBackup(ctx context.Context) (string, error) {
	if s.self.Folder == "" {
		return "", errors.New("backup: no self-backup folder configured")
	}
	id, err := s.selfJobID(ctx)
	if err != nil {
		if err := s.ensureSelfJob(ctx); err != nil {
			return "", err
		}
		if id, err = s.selfJobID(ctx); err != nil {
			return "", wrap("self-backup job", err)
		}
	}
	if _, err := s.recordRun(ctx, id, CheckIn{Kind: KindStart, SourceAddr: "self"}); err != nil {
		return "", err
	}
	began := time.Now()
	path := filepath.Join(s.self.Folder, selfPrefix+s.now().Format("20060102T150405Z")+selfSuffix)
	var m Manifest
	err = os.MkdirAll(s.self.Folder, 0o750)
	if err == nil {
		m, err = CreateFile(ctx, s.db, path, CreateOptions{DSN: s.self.DSN, Version: s.self.Version})
	}
	secs := time.Since(began).Seconds()
	if err != nil {
		_, rerr := s.recordRun(ctx, id, CheckIn{Kind: KindFail, SourceAddr: "self", Report: Report{Duration: &secs, Log: err.Error()}})
		_ = s.EvaluateJob(ctx, id)
		return "", errors.Join(err, rerr)
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	size := st.Size()
	if _, err := s.recordRun(ctx, id, CheckIn{Kind: KindSuccess, SourceAddr: "self",
		Report: Report{Bytes: &size, Duration: &secs, SnapshotID: filepath.Base(path), Log: "sha256 " + m.SHA256}}); err != nil {
		return path, err
	}
	if err := s.EvaluateJob(ctx, id); err != nil {
		s.log.Warn("evaluate self-backup job", "err", err)
	}
	if err := prune(s.self.Folder, s.self.Retention); err != nil {
		return path, err
	}
	s.log.Info("self-backup written", "path", path, "bytes", size)
	return path, nil
}

// prune keeps the newest keep self-backup archives in dir and deletes the
// rest. Only files named like self-backups are touched.
func prune(dir string, keep int) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("backup: retention: %w", err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, selfPrefix) && strings.HasSuffix(n, selfSuffix) {
			names = append(names, n)
		}
	}
	slices.Sort(names) // the timestamp in the name sorts by age
	var errs []error
	for len(names) > keep {
		if err := os.Remove(filepath.Join(dir, names[0])); err != nil {
			errs = append(errs, err)
		}
		names = names[1:]
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("backup: retention: %w", err)
	}
	return nil
}
