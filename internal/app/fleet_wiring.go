package app

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/fleet"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/security"
)

// agentInstallations answers the license register's question "where is
// this software installed?" from the agents' software inventories: one
// fleet query per pattern, a package matched by two patterns counted once.
func agentInstallations(ctx context.Context, agents *fleet.Service, patterns []string) ([]asset.Installation, error) {
	type key struct {
		agent int64
		pkg   string
	}
	seen := map[key]bool{}
	var out []asset.Installation
	for _, p := range patterns {
		found, err := agents.Installations(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, in := range found {
			k := key{in.AgentID, in.Package + "\x00" + in.Version + "\x00" + in.Arch}
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, asset.Installation{Host: in.Hostname, CIID: in.CIID, Package: in.Package, Version: in.Version})
		}
	}
	return out, nil
}

// updatesToFindings turns an agent's pending updates into security
// findings on its host's CI: one per pending security update (key:
// "ci:<id>/<package>", per host, since findings are unique per source and
// key), the whole list each time, so an update installed since is fixed
// by the Sync. Ordinary updates are not findings.
func updatesToFindings(sec *security.Service, log *slog.Logger) func(ctx context.Context, agentID, ciID int64, pending []wire.Update) {
	return func(ctx context.Context, agentID, ciID int64, pending []wire.Update) {
		if ciID == 0 {
			return // no host CI yet: the next report has one
		}
		scope := "ci:" + strconv.FormatInt(ciID, 10)
		var signals []security.Signal
		for _, u := range pending {
			if !u.Security {
				continue
			}
			signals = append(signals, security.Signal{Key: scope + "/" + u.Name, CIID: ciID, Severity: security.SeverityMedium,
				Title:    "Security update pending: " + u.Name + " " + u.Current + " → " + u.Candidate,
				Evidence: map[string]any{"package": u.Name, "installed": u.Current, "candidate": u.Candidate, "agent_id": agentID}})
		}
		if err := sec.Sync(ctx, security.SourceAgentUpdates, scope, signals); err != nil {
			log.Error("pending updates not turned into findings", "agent", agentID, "ci", ciID, "err", err)
		}
	}
}

// softwareToFindings turns an agent's software inventory into security
// findings on its host's CI: one per installed package matching a risky
// pattern (high severity), the whole set each time the inventory changes,
// so a package removed since is fixed by the Sync. Keys are per host
// ("ci:<id>/<package>"): findings are unique per source and key, and the
// same risky package on two hosts is two findings. No patterns, no
// findings (and none closed: the check is off).
func softwareToFindings(sec *security.Service, patterns []string, log *slog.Logger) func(ctx context.Context, agentID, ciID int64, pkgs []wire.Package) {
	return func(ctx context.Context, agentID, ciID int64, pkgs []wire.Package) {
		if ciID == 0 || len(patterns) == 0 {
			return // no host CI yet, or the check is off
		}
		scope := "ci:" + strconv.FormatInt(ciID, 10)
		var signals []security.Signal
		for _, p := range pkgs {
			if !asset.MatchAny(patterns, p.Name) {
				continue
			}
			signals = append(signals, security.Signal{Key: scope + "/" + p.Name, CIID: ciID, Severity: security.SeverityHigh,
				Title:    "Risky software installed: " + p.Name + " " + p.Version,
				Evidence: map[string]any{"package": p.Name, "version": p.Version, "arch": p.Arch, "source": p.Source, "agent_id": agentID}})
		}
		if err := sec.Sync(ctx, security.SourceAgentSoftware, scope, signals); err != nil {
			log.Error("risky software not turned into findings", "agent", agentID, "ci", ciID, "err", err)
		}
	}
}
