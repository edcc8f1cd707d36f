package fleet

import (
	"context"
	"fmt"
	"strings"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
)

// Installation is one package installed on one agent's host.
type Installation struct {
	AgentID  int64  `json:"agent_id"`
	Hostname string `json:"hostname"`
	CIID     int64  `json:"ci_id,omitempty"`
	Package  string `json:"package"`
	Version  string `json:"version"`
	Arch     string `json:"arch"`
	Source   string `json:"source"`
}

// likePattern turns a name pattern into a LIKE pattern: * matches any run
// of characters, ? one; % and _ match themselves. No wildcard means an
// exact (case-insensitive) name.
func likePattern(p string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(p) {
		switch r {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Installations lists the packages matching namePattern (case-insensitive;
// * and ? are wildcards) on every agent not revoked, by host and name.
// The license compliance page counts these.
func (s *Service) Installations(ctx context.Context, namePattern string) ([]Installation, error) {
	if strings.TrimSpace(namePattern) == "" {
		return nil, fmt.Errorf("fleet: installations: empty pattern")
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT a.id, a.hostname, COALESCE(a.ci_id, 0), p.name, p.version, p.arch, p.source
		FROM agents a JOIN agent_packages p ON p.set_hash = a.software_hash
		WHERE LOWER(p.name) LIKE $1 ESCAPE '\' AND a.revoked_at IS NULL ORDER BY a.hostname, a.id, p.name`, likePattern(namePattern))
	if err != nil {
		return nil, fmt.Errorf("fleet: installations: %w", err)
	}
	defer rows.Close()
	out := []Installation{}
	for rows.Next() {
		var i Installation
		if err := rows.Scan(&i.AgentID, &i.Hostname, &i.CIID, &i.Package, &i.Version, &i.Arch, &i.Source); err != nil {
			return nil, fmt.Errorf("fleet: installations: %w", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// Packages lists an agent's packages whose name contains q (all when q is
// empty), by name, at most limit.
func (s *Service) Packages(ctx context.Context, agent int64, q string, limit int) ([]wire.Package, error) {
	if limit <= 0 || limit > 5000 {
		limit = 5000
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT p.name, p.version, p.arch, p.source FROM agents a JOIN agent_packages p ON p.set_hash = a.software_hash
		WHERE a.id = $1 AND LOWER(p.name) LIKE $2 ESCAPE '\' ORDER BY p.name, p.arch LIMIT $3`, agent, "%"+likePattern(strings.ReplaceAll(strings.ReplaceAll(q, "*", ""), "?", ""))+"%", limit)
	if err != nil {
		return nil, fmt.Errorf("fleet: packages: %w", err)
	}
	defer rows.Close()
	out := []wire.Package{}
	for rows.Next() {
		var p wire.Package
		if err := rows.Scan(&p.Name, &p.Version, &p.Arch, &p.Source); err != nil {
			return nil, fmt.Errorf("fleet: packages: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Updates lists an agent's pending updates, security ones first.
func (s *Service) Updates(ctx context.Context, agent int64) ([]wire.Update, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT name, current, candidate, security FROM agent_updates WHERE agent_id = $1 ORDER BY security DESC, name`, agent)
	if err != nil {
		return nil, fmt.Errorf("fleet: updates: %w", err)
	}
	defer rows.Close()
	out := []wire.Update{}
	for rows.Next() {
		var u wire.Update
		if err := rows.Scan(&u.Name, &u.Current, &u.Candidate, &u.Security); err != nil {
			return nil, fmt.Errorf("fleet: updates: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
