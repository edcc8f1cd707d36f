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
			if asset.MatchAny(patterns, p.Name) {
				signals = append(signals, riskySignal(agentID, ciID, p))
			}
		}
		if err := sec.Sync(ctx, security.SourceAgentSoftware, scope, signals); err != nil {
			log.Error("risky software not turned into findings", "agent", agentID, "ci", ciID, "err", err)
		}
	}
}

// riskySignal is the finding for one risky package installed on a host.
func riskySignal(agentID, ciID int64, p wire.Package) security.Signal {
	return security.Signal{Key: "ci:" + strconv.FormatInt(ciID, 10) + "/" + p.Name, CIID: ciID, Severity: security.SeverityHigh,
		Title:    "Risky software installed: " + p.Name + " " + p.Version,
		Evidence: map[string]any{"package": p.Name, "version": p.Version, "arch": p.Arch, "source": p.Source, "agent_id": agentID}}
}

// syncRiskySoftware brings every host's risky-software findings in line
// with the stored inventories and the patterns now configured: run once at
// start, before agents report, so hosts inventoried before the check
// existed, or before the patterns changed, need not wait for their next
// inventory change. CIs with a finding open or accepted but no match any
// more (the pattern was dropped, the agent revoked) are synced empty, so
// those findings are fixed.
func syncRiskySoftware(ctx context.Context, agents *fleet.Service, sec *security.Service, patterns []string) error {
	byScope := map[string][]security.Signal{}
	seen := map[string]bool{}
	for _, p := range patterns {
		found, err := agents.Installations(ctx, p)
		if err != nil {
			return err
		}
		for _, in := range found {
			if in.CIID == 0 {
				continue
			}
			sig := riskySignal(in.AgentID, in.CIID, wire.Package{Name: in.Package, Version: in.Version, Arch: in.Arch, Source: in.Source})
			if seen[sig.Key] {
				continue // matched by two patterns, or two arches
			}
			seen[sig.Key] = true
			scope := "ci:" + strconv.FormatInt(in.CIID, 10)
			byScope[scope] = append(byScope[scope], sig)
		}
	}
	for _, st := range []security.Status{security.StatusOpen, security.StatusAccepted} {
		for off := 0; ; off += 500 {
			list, _, err := sec.List(ctx, security.Filter{Status: st, Source: security.SourceAgentSoftware, Offset: off, Limit: 500})
			if err != nil {
				return err
			}
			for _, f := range list {
				if _, ok := byScope[f.Scope]; !ok {
					byScope[f.Scope] = nil
				}
			}
			if len(list) < 500 {
				break
			}
		}
	}
	for scope, signals := range byScope {
		if err := sec.Sync(ctx, security.SourceAgentSoftware, scope, signals); err != nil {
			return err
		}
	}
	return nil
}
