#!/usr/bin/env bash
# Agent footprint figures for docs/performance.md ("Agent footprint"): builds
# opsdeck and bench/agentcost, then runs the real agent as the unprivileged
# user "nobody" against a loopback stand-in server at each interval and
# prints its CPU share and RSS.
#
#   bench/run-agentcost.sh                 # 1s for 3 min, 30s for 5 min
#   DURATION=10m bench/run-agentcost.sh 30s
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/opsdeck-agentcost.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$root"
go build -o "$work/opsdeck" ./cmd/opsdeck
go build -o "$work/agentcost" ./bench/agentcost
chmod 755 "$work"
user=()
[ "$(id -u)" = 0 ] && user=(-user nobody)
if [ $# -eq 0 ]; then
	"$work/agentcost" -bin "$work/opsdeck" -interval 1s -duration "${DURATION:-3m}" "${user[@]}"
	"$work/agentcost" -bin "$work/opsdeck" -interval 30s -duration "${DURATION:-5m}" "${user[@]}"
else
	for iv in "$@"; do
		"$work/agentcost" -bin "$work/opsdeck" -interval "$iv" -duration "${DURATION:-3m}" "${user[@]}"
	done
fi
