package fleet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"

	assets "github.com/opsdeck/opsdeck/internal/asset"
	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/store"
)

// HostType is the CMDB type of the CIs agents create.
const HostType = "host"

// syncHost creates or updates the agent's host CI and hardware asset from
// facts, recording the ids in w. Changes are recorded with source "agent".
func (s *Service) syncHost(ctx context.Context, st *agentState, f *wire.Facts, w *reportWrite) error {
	ctx = cmdb.WithSource(auth.WithActor(ctx, agentActor(f.Hostname)), cmdb.SourceAgent)
	if s.opts.CMDB != nil {
		id, err := s.syncCI(ctx, st.id, st.ciID, f)
		if err != nil {
			return err
		}
		w.ciID = id
	}
	if s.opts.Assets != nil {
		id, err := s.syncAsset(ctx, st.assetID, st.machineID, f, w.ciID)
		if err != nil {
			return err
		}
		w.assetID = id
	}
	return nil
}

// hostAttributes are the host CI attributes the facts fill.
func hostAttributes(f *wire.Facts) map[string]any {
	a := map[string]any{"hostname": f.Hostname, "cpu_cores": f.CPU.Cores,
		"memory_gb": math.Round(float64(f.MemoryBytes)/(1<<30)*10) / 10}
	if os := f.OS.Pretty; os != "" {
		a["os"] = os
	} else if f.OS.Name != "" {
		a["os"] = strings.TrimSpace(f.OS.Name + " " + f.OS.Version)
	}
	if ip := primaryIP(f.Interfaces); ip != "" {
		a["ip"] = ip
	}
	return a
}

// primaryIP is the first global address of the interfaces, IPv4 first.
func primaryIP(ifs []wire.Interface) string {
	var v6 string
	for _, n := range ifs {
		for _, c := range n.Addrs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				if a, err2 := netip.ParseAddr(c); err2 == nil {
					p = netip.PrefixFrom(a, a.BitLen())
				} else {
					continue
				}
			}
			a := p.Addr()
			if a.IsLoopback() || a.IsLinkLocalUnicast() || !a.IsValid() {
				continue
			}
			if a.Is4() {
				return a.String()
			}
			if v6 == "" {
				v6 = a.String()
			}
		}
	}
	return v6
}

func (s *Service) syncCI(ctx context.Context, agent, id int64, f *wire.Facts) (int64, error) {
	attrs := hostAttributes(f)
	if id != 0 {
		old, err := s.opts.CMDB.Get(ctx, id)
		if err == nil {
			merged := map[string]any{}
			for k, v := range old.Attributes {
				merged[k] = v
			}
			for k, v := range attrs {
				merged[k] = v
			}
			// An admin's name, owner, criticality and tags stay; the facts
			// own the attributes they fill.
			_, err = s.opts.CMDB.Update(ctx, id, cmdb.CIInput{Type: old.Type, Name: old.Name, Description: old.Description, OwnerTeam: old.OwnerTeam,
				Criticality: old.Criticality, Environment: old.Environment, Status: old.Status, Attributes: merged, Tags: old.Tags})
			if err != nil {
				return 0, fmt.Errorf("fleet: update host CI: %w", err)
			}
			return id, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
	}
	in := cmdb.CIInput{Type: HostType, Name: f.Hostname, Description: "Reported by the opsdeck agent.", Attributes: attrs}
	c, err := s.opts.CMDB.Create(ctx, in)
	if errors.Is(err, store.ErrConflict) {
		// Another CI has this name (two hosts called localhost): the
		// agent's id tells them apart.
		in.Name = fmt.Sprintf("%s (agent %d)", f.Hostname, agent)
		c, err = s.opts.CMDB.Create(ctx, in)
	}
	if err != nil {
		return 0, fmt.Errorf("fleet: create host CI: %w", err)
	}
	return c.ID, nil
}

// usableSerial filters out the placeholder serials firmware reports.
func usableSerial(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "none", "default string", "not specified", "to be filled by o.e.m.", "system serial number", "0123456789":
		return false
	}
	return true
}

// assetTag is the tag of an agent-created asset: from the machine id, so
// a reinstalled host finds its asset again.
func assetTag(machineID, hostname string) string {
	if machineID != "" {
		return clip("agent-"+machineID, 64)
	}
	return clip("agent-host-"+hostname, 64)
}

func (s *Service) syncAsset(ctx context.Context, id int64, machineID string, f *wire.Facts, ciID int64) (int64, error) {
	if machineID == "" {
		machineID = f.MachineID
	}
	serial := ""
	if usableSerial(f.Serial) {
		serial = strings.TrimSpace(f.Serial)
	}
	var found *assets.Asset
	if id != 0 {
		if a, err := s.opts.Assets.Get(ctx, id); err == nil {
			found = &a
		}
	}
	if found == nil && serial != "" {
		as, _, err := s.opts.Assets.List(ctx, assets.ListFilter{Query: serial, Limit: 50})
		if err != nil {
			return 0, fmt.Errorf("fleet: find asset: %w", err)
		}
		for i := range as {
			if as[i].Kind == assets.KindHardware && strings.EqualFold(as[i].Serial, serial) {
				found = &as[i]
				break
			}
		}
	}
	if found == nil {
		if a, err := s.opts.Assets.GetByTag(ctx, assetTag(machineID, f.Hostname)); err == nil {
			found = &a
		} else if !errors.Is(err, store.ErrNotFound) {
			return 0, fmt.Errorf("fleet: find asset: %w", err)
		}
	}
	if found == nil {
		a, err := s.opts.Assets.Create(ctx, assets.Input{Tag: assetTag(machineID, f.Hostname), Kind: assets.KindHardware, Status: assets.StatusDeployed,
			Serial: serial, Model: clip(f.Model, 200), Manufacturer: clip(f.Vendor, 200), Category: "server", CIID: ciID,
			Notes: "Created by the opsdeck agent on " + f.Hostname + "."})
		if err != nil {
			return 0, fmt.Errorf("fleet: create asset: %w", err)
		}
		return a.ID, nil
	}
	a := *found
	in := assets.Input{Tag: a.Tag, Kind: a.Kind, Serial: a.Serial, Model: a.Model, Manufacturer: a.Manufacturer, Category: a.Category,
		Location: a.Location, CostCents: a.CostCents, Currency: a.Currency, Supplier: a.Supplier, PurchaseDate: a.PurchaseDate,
		WarrantyEnd: a.WarrantyEnd, LeaseEnd: a.LeaseEnd, Notes: a.Notes}
	if a.Owner != nil {
		in.OwnerID = a.Owner.ID
	}
	if a.CI != nil {
		in.CIID = a.CI.ID
	}
	changed := false
	set := func(dst *string, v string) {
		if v != "" && *dst != v {
			*dst, changed = v, true
		}
	}
	set(&in.Serial, serial)
	set(&in.Model, clip(f.Model, 200))
	set(&in.Manufacturer, clip(f.Vendor, 200))
	if in.CIID == 0 && ciID != 0 {
		in.CIID, changed = ciID, true
	}
	if changed {
		if _, err := s.opts.Assets.Update(ctx, a.ID, in); err != nil {
			return 0, fmt.Errorf("fleet: update asset: %w", err)
		}
	}
	return a.ID, nil
}
