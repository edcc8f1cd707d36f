package asset

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/opsdeck/opsdeck/internal/cmdb"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// Installation is one software package the host agent found installed on
// a host. CIID is the host's configuration item; AssetID its hardware
// asset, 0 when the agent's server does not know it.
type Installation struct {
	Host    string `json:"host"`
	CIID    int64  `json:"ci_id"`
	AssetID int64  `json:"asset_id"`
	Package string `json:"package"`
	Version string `json:"version"`
}

// InstalledHost is one host where a license's software is installed: the
// matching packages, and whether a seat covers it (a seat given to its
// asset, or to the user its asset is checked out to).
type InstalledHost struct {
	Host      string         `json:"host"`
	CIID      int64          `json:"ci_id,omitempty"`
	AssetID   int64          `json:"asset_id,omitempty"`
	AssetTag  string         `json:"asset_tag,omitempty"`
	Packages  []Installation `json:"packages"`
	Covered   bool           `json:"covered"`
	CoveredBy string         `json:"covered_by,omitempty"`
}

// Compliance compares a license's seats bought, the hosts where the agent
// found its software and the seats assigned. Installations count hosts, not
// packages: libreoffice-writer and libreoffice-calc on one laptop are one
// installation.
type Compliance struct {
	Seats     int64 `json:"seats"`
	Unlimited bool  `json:"unlimited"`
	// AgentData is false when there is no agent inventory (no agent
	// wired, or it failed: AgentError says so); Installed is then 0 and
	// means nothing.
	AgentData  bool   `json:"agent_data"`
	AgentError string `json:"agent_error,omitempty"`
	Installed  int64  `json:"installed"`
	Assigned   int64  `json:"assigned"`
	// Unassigned counts installed hosts no seat covers.
	Unassigned    int64 `json:"installed_not_assigned"`
	OverInstalled bool  `json:"over_installed"`
	OverAssigned  bool  `json:"over_assigned"`
	// OverUsed is OverInstalled or OverAssigned: more in use than bought.
	OverUsed bool `json:"over_used"`
	// Hosts lists the installed hosts (the detail reads only).
	Hosts []InstalledHost `json:"hosts,omitempty"`
}

// Excess is how many more are in use than were bought (0 when within).
func (c Compliance) Excess() int64 {
	if c.Unlimited {
		return 0
	}
	return max(0, max(c.Assigned, c.Installed)-c.Seats)
}

// NotAssigned returns the installed hosts no seat covers.
func (c Compliance) NotAssigned() []InstalledHost {
	var out []InstalledHost
	for _, h := range c.Hosts {
		if !h.Covered {
			out = append(out, h)
		}
	}
	return out
}

// assetInfo is what compliance needs of an asset: its tag and who has it.
type assetInfo struct {
	tag      string
	assignee int64
}

// hostKey identifies a host across installations: its asset, else its CI,
// else its name.
func hostKey(in Installation) string {
	switch {
	case in.AssetID != 0:
		return "a" + strconv.FormatInt(in.AssetID, 10)
	case in.CIID != 0:
		return "c" + strconv.FormatInt(in.CIID, 10)
	}
	return "h" + strings.ToLower(in.Host)
}

// computeCompliance is the arithmetic of compliance: inst are the
// installations (nil with agent false), already resolved to assets where
// known; assets holds the tag and assignee of those assets.
func computeCompliance(l License, seats []Seat, inst []Installation, agent bool, assets map[int64]assetInfo) Compliance {
	c := Compliance{Seats: l.Seats, Unlimited: l.Unlimited(), AgentData: agent, Assigned: int64(len(seats))}
	seatAssets, seatUsers := map[int64]bool{}, map[int64]string{}
	for _, st := range seats {
		if st.Asset != nil {
			seatAssets[st.Asset.ID] = true
		}
		if st.User != nil {
			seatUsers[st.User.ID] = st.User.Username
		}
	}
	byKey := map[string]int{}
	for _, in := range inst {
		if !MatchAny(l.Patterns, in.Package) {
			continue // the agent side may match more loosely
		}
		k := hostKey(in)
		i, ok := byKey[k]
		if !ok {
			h := InstalledHost{Host: in.Host, CIID: in.CIID, AssetID: in.AssetID}
			if a, ok := assets[in.AssetID]; ok && in.AssetID != 0 {
				h.AssetTag = a.tag
				if seatAssets[in.AssetID] {
					h.Covered, h.CoveredBy = true, "asset "+a.tag
				} else if name, ok := seatUsers[a.assignee]; ok && a.assignee != 0 {
					h.Covered, h.CoveredBy = true, "user "+name
				}
			}
			c.Hosts = append(c.Hosts, h)
			i = len(c.Hosts) - 1
			byKey[k] = i
		}
		c.Hosts[i].Packages = append(c.Hosts[i].Packages, in)
	}
	sort.SliceStable(c.Hosts, func(i, j int) bool { return strings.ToLower(c.Hosts[i].Host) < strings.ToLower(c.Hosts[j].Host) })
	c.Installed = int64(len(c.Hosts))
	for _, h := range c.Hosts {
		if !h.Covered {
			c.Unassigned++
		}
	}
	if !c.Unlimited {
		c.OverAssigned = c.Assigned > c.Seats
		c.OverInstalled = agent && c.Installed > c.Seats
		c.OverUsed = c.OverAssigned || c.OverInstalled
	}
	return c
}

// installations asks the agent seam for the packages matching patterns and
// resolves hosts known only by CI to their linked asset. ok is false when
// there is no agent data; a failing seam is logged and reported in msg.
func (s *Service) installations(ctx context.Context, patterns []string) (inst []Installation, ok bool, msg string) {
	if s.opts.Installations == nil || len(patterns) == 0 {
		return nil, s.opts.Installations != nil, ""
	}
	inst, err := s.opts.Installations(ctx, patterns)
	if err != nil {
		s.opts.Logger.Error("license compliance: installed software", "err", err)
		return nil, false, "the host agents' software inventory could not be read; the server log has the reason"
	}
	ciAsset := map[int64]int64{}
	for i := range inst {
		in := &inst[i]
		if in.AssetID != 0 || in.CIID == 0 || s.opts.CMDB == nil {
			continue
		}
		id, seen := ciAsset[in.CIID]
		if !seen {
			links, err := s.opts.CMDB.Links(ctx, in.CIID)
			if err != nil {
				s.opts.Logger.Warn("license compliance: assets of CI", "ci", in.CIID, "err", err)
			}
			for _, lk := range links {
				if lk.Kind == cmdb.LinkAsset {
					id = lk.ObjectID
					break
				}
			}
			ciAsset[in.CIID] = id
		}
		in.AssetID = id
	}
	return inst, true, ""
}

// assetInfos reads the tag and assignee of the assets the installations
// name.
func (s *Service) assetInfos(ctx context.Context, inst []Installation) (map[int64]assetInfo, error) {
	var ids []int64
	seen := map[int64]bool{}
	for _, in := range inst {
		if in.AssetID != 0 && !seen[in.AssetID] {
			seen[in.AssetID] = true
			ids = append(ids, in.AssetID)
		}
	}
	out := map[int64]assetInfo{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		ph := make([]string, len(chunk))
		args := make([]any, len(chunk))
		for i, id := range chunk {
			ph[i], args[i] = "$"+strconv.Itoa(i+1), id
		}
		rows, err := s.db.R.QueryContext(ctx, `SELECT id, tag, COALESCE(assignee_id, 0) FROM assets WHERE id IN (`+strings.Join(ph, ", ")+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("asset: license compliance: %w", err)
		}
		for rows.Next() {
			var id int64
			var a assetInfo
			if err := rows.Scan(&id, &a.tag, &a.assignee); err != nil {
				rows.Close()
				return nil, fmt.Errorf("asset: license compliance: %w", err)
			}
			out[id] = a
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("asset: license compliance: %w", err)
		}
	}
	return out, nil
}

// LicenseCompliance returns the compliance of one license with the hosts
// where its software is installed.
func (s *Service) LicenseCompliance(ctx context.Context, l License) (Compliance, error) {
	seats, err := s.seats(ctx, ` WHERE s.license_id = $1 ORDER BY s.id`, l.ID)
	if err != nil {
		return Compliance{}, err
	}
	inst, ok, msg := s.installations(ctx, l.Patterns)
	infos, err := s.assetInfos(ctx, inst)
	if err != nil {
		return Compliance{}, err
	}
	c := computeCompliance(l, seats, inst, ok, infos)
	c.AgentError = msg
	return c, nil
}

// LicenseStatus is a license with its compliance and expiry flags, as the
// list shows it.
type LicenseStatus struct {
	License
	Compliance Compliance `json:"compliance"`
	// ExpiresSoon: the expiry date is within the warning window (today
	// included); Expired: it has passed.
	ExpiresSoon bool `json:"expires_soon"`
	Expired     bool `json:"expired"`
}

// LicenseSorts lists the list orders.
func LicenseSorts() []string {
	return []string{"product", "-product", "publisher", "expires", "-expires", "excess"}
}

// LicenseFilter selects licenses. Zero fields do not filter.
// ExpiringWithin keeps licenses whose expiry is within so many days (today
// included) or already passed; OverUsed keeps over-used ones.
type LicenseFilter struct {
	Publisher      string
	Query          string
	Type           LicenseType
	ExpiringWithin int
	OverUsed       bool
	Sort           string
}

// MaxLicenses bounds one license list: compliance is computed for every
// listed license, so the list is read whole (organizations hold hundreds,
// not hundreds of thousands, of licenses).
const MaxLicenses = 5000

// ListLicenses returns the licenses matching f with their compliance. The
// agent is asked once for every listed license's patterns.
func (s *Service) ListLicenses(ctx context.Context, f LicenseFilter) ([]LicenseStatus, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Publisher != "" {
		add("l.publisher = $%d", f.Publisher)
	}
	if f.Type != "" {
		if !slices.Contains(LicenseTypes(), f.Type) {
			return nil, valid.Errorf("license_type", "must be one of per_device, per_user, site, subscription, perpetual")
		}
		add("l.license_type = $%d", string(f.Type))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		add(`l.search LIKE $%d ESCAPE '\'`, "%"+likeEscape(strings.ToLower(q))+"%")
	}
	if f.ExpiringWithin < 0 || f.ExpiringWithin > MaxExpiryDays {
		return nil, valid.Errorf("expiring_within", "must be a number of days from 0 to %d", MaxExpiryDays)
	}
	if f.ExpiringWithin > 0 {
		add("(l.expires <> '' AND l.expires <= $%d)", s.dayAfter(f.ExpiringWithin))
	}
	order := "l.product, l.id"
	switch f.Sort {
	case "", "product", "excess":
	case "-product":
		order = "l.product DESC, l.id DESC"
	case "publisher":
		order = "l.publisher, l.product, l.id"
	case "expires":
		order = "CASE WHEN l.expires = '' THEN 1 ELSE 0 END, l.expires, l.id"
	case "-expires":
		order = "l.expires DESC, l.id DESC"
	default:
		return nil, valid.Errorf("sort", "must be one of %s", strings.Join(LicenseSorts(), ", "))
	}
	q := `SELECT ` + licenseCols + ` FROM licenses l`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, MaxLicenses)
	q += fmt.Sprintf(" ORDER BY %s LIMIT $%d", order, len(args))
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("asset: list licenses: %w", err)
	}
	var ls []License
	for rows.Next() {
		l, _, err := scanLicense(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("asset: list licenses: %w", err)
		}
		ls = append(ls, l)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("asset: list licenses: %w", err)
	}
	out, err := s.statuses(ctx, ls)
	if err != nil {
		return nil, err
	}
	if f.OverUsed {
		out = slices.DeleteFunc(out, func(st LicenseStatus) bool { return !st.Compliance.OverUsed })
	}
	if f.Sort == "excess" {
		sort.SliceStable(out, func(i, j int) bool { return out[i].Compliance.Excess() > out[j].Compliance.Excess() })
	}
	return out, nil
}

// statuses computes the compliance of each license with one call to the
// agent seam (the union of their patterns) and one read of their seats.
func (s *Service) statuses(ctx context.Context, ls []License) ([]LicenseStatus, error) {
	out := make([]LicenseStatus, 0, len(ls))
	if len(ls) == 0 {
		return out, nil
	}
	var patterns []string
	for _, l := range ls {
		for _, p := range l.Patterns {
			if !slices.Contains(patterns, p) {
				patterns = append(patterns, p)
			}
		}
	}
	inst, ok, msg := s.installations(ctx, patterns)
	infos, err := s.assetInfos(ctx, inst)
	if err != nil {
		return nil, err
	}
	all, err := s.seats(ctx, ` ORDER BY s.license_id, s.id`)
	if err != nil {
		return nil, err
	}
	byLicense := map[int64][]Seat{}
	for _, st := range all {
		byLicense[st.LicenseID] = append(byLicense[st.LicenseID], st)
	}
	// Match each license against the distinct package names, not every
	// installation: a site has far fewer names than installations.
	byName := map[string][]Installation{}
	for _, in := range inst {
		byName[in.Package] = append(byName[in.Package], in)
	}
	days := s.opts.WarnDays
	for _, l := range ls {
		var mine []Installation
		for name, ins := range byName {
			if MatchAny(l.Patterns, name) {
				mine = append(mine, ins...)
			}
		}
		c := computeCompliance(l, byLicense[l.ID], mine, ok, infos)
		c.AgentError, c.Hosts = msg, nil
		soon, expired := s.licenseExpiry(l, days)
		out = append(out, LicenseStatus{License: l, Compliance: c, ExpiresSoon: soon, Expired: expired})
	}
	return out, nil
}

// licenseExpiry says whether l expires within days of today (today
// included) or has expired.
func (s *Service) licenseExpiry(l License, days int) (soon, expired bool) {
	if l.Expires == "" {
		return false, false
	}
	today := s.today()
	if l.Expires < today {
		return false, true
	}
	return l.Expires <= s.dayAfter(days), false
}

// LicenseStatusOf returns one license's list status with the hosts of its
// compliance (the detail page and API).
func (s *Service) LicenseStatusOf(ctx context.Context, id int64) (LicenseStatus, error) {
	l, err := s.GetLicense(ctx, id)
	if err != nil {
		return LicenseStatus{}, err
	}
	c, err := s.LicenseCompliance(ctx, l)
	if err != nil {
		return LicenseStatus{}, err
	}
	soon, expired := s.licenseExpiry(l, s.opts.WarnDays)
	return LicenseStatus{License: l, Compliance: c, ExpiresSoon: soon, Expired: expired}, nil
}

// LicenseWarnings are the licenses needing attention: over-used ones, and
// those expiring within the warning window or expired.
type LicenseWarnings struct {
	OverUsed []LicenseStatus `json:"over_used"`
	Expiring []LicenseStatus `json:"expiring"`
	// AgentData is false when installations are unknown, so over-use
	// counts assignments only.
	AgentData bool `json:"agent_data"`
	WarnDays  int  `json:"warn_days"`
}

// Empty reports whether nothing needs attention.
func (w LicenseWarnings) Empty() bool { return len(w.OverUsed) == 0 && len(w.Expiring) == 0 }

// Warnings returns the licenses that need attention, for the home page,
// the compliance summary and the notification wiring (as Expiring does for
// assets).
func (s *Service) Warnings(ctx context.Context) (LicenseWarnings, error) {
	w := LicenseWarnings{WarnDays: s.opts.WarnDays, AgentData: s.opts.Installations != nil}
	all, err := s.ListLicenses(ctx, LicenseFilter{})
	if err != nil {
		return w, err
	}
	for _, st := range all {
		if st.Compliance.OverUsed {
			w.OverUsed = append(w.OverUsed, st)
		}
		if st.ExpiresSoon || st.Expired {
			w.Expiring = append(w.Expiring, st)
		}
		if st.Compliance.AgentError != "" {
			w.AgentData = false
		}
	}
	sort.SliceStable(w.Expiring, func(i, j int) bool { return w.Expiring[i].Expires < w.Expiring[j].Expires })
	return w, nil
}

// HasAgentData reports whether an agent inventory is wired in.
func (s *Service) HasAgentData() bool { return s.opts.Installations != nil }
