package web

import "testing"

// The navigation tables are edited by every domain; merges have doubled
// entries before. Each group is listed once, every section belongs to a
// listed group, and no two sections share a link or a name.
func TestNavigationTablesAreConsistent(t *testing.T) {
	groups := map[string]bool{"admin": true}
	for _, g := range navGroups {
		if groups[g.key] {
			t.Errorf("group %q listed twice", g.key)
		}
		groups[g.key] = true
	}
	hrefs, sections := map[string]bool{}, map[string]bool{}
	for _, n := range navigation {
		if !groups[n.group] {
			t.Errorf("section %q is in unknown group %q", n.link.Section, n.group)
		}
		if hrefs[n.link.Href] || sections[n.link.Section] {
			t.Errorf("section %q (%s) listed twice", n.link.Section, n.link.Href)
		}
		hrefs[n.link.Href], sections[n.link.Section] = true, true
	}
	seen := map[string]string{}
	for _, m := range []map[string]string{notices, notifyNotices, kbNotices, licenseNotices, changeNotices, backupNotices,
		fleetNotices, deskPortalNotices, securityNotices} {
		for code := range m {
			if m[code] != seen[code] && seen[code] != "" {
				t.Errorf("notice %q has two texts", code)
			}
			seen[code] = m[code]
		}
	}
}
