package web

import (
	"fmt"

	"github.com/opsdeck/opsdeck/internal/fleet"
)

// agentMetricSpec is the monitor form's section for agent metric
// thresholds (the check lives in internal/fleet).
var agentMetricSpec = typeSpec{Type: fleet.CheckType, Help: "A metric an opsdeck agent reports crosses a threshold for a while, such as disk use above 90 % for 5 minutes; no data is down.", Inputs: []inputSpec{
	{Key: "host", Label: "Host", Needed: true, Placeholder: "web1", Hint: "The agent's host name (as on the Agents page) or its id."},
	{Key: "metric", Label: "Metric", Needed: true, Placeholder: "disk.used_pct", Hint: "Such as cpu.used_pct, mem.used_pct, load.5, disk.used_pct, swap.used_pct.", Mono: true},
	{Key: "key", Label: "Key", Placeholder: "/", Hint: "The mount point, device or interface, for disk.*, diskio.* and net.* metrics.", Mono: true},
	{Key: "comparison", Label: "Alert when the value is", Control: "select", Default: ">", Options: []typeChoice{
		{Value: ">", Label: "above"}, {Value: ">=", Label: "at or above"}, {Value: "<", Label: "below"}, {Value: "<=", Label: "at or below"}}},
	{Key: "threshold", Label: "Threshold", Needed: true, Placeholder: "90", Hint: "A number in the metric's unit (percent for *_pct)."},
	{Key: "for", Label: "For", Placeholder: "5m", Hint: "How long every sample must cross it before the check is down. Default 0: the latest sample decides."},
}}

// agentMetricTarget is what an agent_metric monitor watches, for lists.
func agentMetricTarget(s map[string]any) string {
	str := func(k string) string { v, _ := s[k].(string); return v }
	m := str("metric")
	if k := str("key"); k != "" {
		m += "{" + k + "}"
	}
	cmp := str("comparison")
	if cmp == "" {
		cmp = ">"
	}
	return fmt.Sprintf("%s %s %s %v", str("host"), m, cmp, s["threshold"])
}
