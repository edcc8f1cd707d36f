package app

import (
	"context"

	"github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/fleet"
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
