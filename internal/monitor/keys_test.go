package monitor

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/opsdeck/opsdeck/internal/monitor/probe"
)

// TestCheckSettingsDoNotShadowCommonKeys guards the flat definition: a
// check setting named like a common key (name, interval, …) would be taken
// by the monitor and never reach the check.
func TestCheckSettingsDoNotShadowCommonKeys(t *testing.T) {
	for _, v := range []any{probe.HTTPSettings{}, probe.TCPSettings{}, probe.TLSSettings{}, probe.DNSSettings{},
		probe.PingSettings{}, probe.SNMPSettings{}, probe.NagiosSettings{}, heartbeatSettings{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			key, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if slices.Contains(commonKeys, key) {
				t.Errorf("%s.%s uses the common key %q", typ.Name(), typ.Field(i).Name, key)
			}
		}
	}
	if len(probe.Types()) != 7 {
		t.Errorf("probe.Types() = %v; add the new type's settings to this test", probe.Types())
	}
}
