#!/usr/bin/env bash
# Agent fleet figures for docs/performance.md ("Agent fleet"): builds opsdeck
# and bench/agentload, starts a server on a free loopback port in a
# temporary folder (SQLite, or PostgreSQL with DB=postgres://...), makes an
# admin token, and simulates AGENTS agents: each enrolls, sends a first
# report with facts and a 1,500-package inventory, then reports every
# INTERVAL with ~20 samples and the unchanged inventory hash. It prints the
# steady-state report latency and the server's CPU and RSS (from /proc).
#
#   bench/run-agents.sh                      # 1000 agents, 30s, 3m steady state
#   AGENTS=200 DURATION=1m bench/run-agents.sh
#   DB=postgres://postgres@127.0.0.1:5432/bench bench/run-agents.sh
#   RAMP=2m EXTRA=-distinct bench/run-agents.sh   # start over 2 min, no shared inventories
#
# Target: p99 < 100 ms and the server under one core. KEEP=1 keeps the
# temporary folder (server log, database).
set -euo pipefail

AGENTS=${AGENTS:-1000}
INTERVAL=${INTERVAL:-30s}
DURATION=${DURATION:-3m}
DB=${DB:-}
RAMP=${RAMP:-}
EXTRA=${EXTRA:-}

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/opsdeck-agents.XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "building in $work" >&2
(cd "$root" && go build -o "$work/opsdeck" ./cmd/opsdeck && go build -o "$work/agentload" ./bench/agentload)

dbflags=(--data "$work/data")
[ -n "$DB" ] && dbflags+=(--db "$DB")
"$work/opsdeck" token create "${dbflags[@]}" --name agentload --role admin >"$work/token" 2>/dev/null
log="$work/server.log"
OPSDECK_ADMIN_PASSWORD=bench-admin-password-1 "$work/opsdeck" serve --addr 127.0.0.1:0 "${dbflags[@]}" --log-level warn >"$log" 2>&1 &
server_pid=$!
base_url=
for _ in $(seq 100); do
	base_url=$(sed -n 's|.* is running at \(http://[0-9.:]*\)/.*|\1|p' "$log" | head -n1)
	[ -n "$base_url" ] && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
	sleep 0.1
done
[ -n "$base_url" ] || { echo "server did not start" >&2; cat "$log" >&2; exit 1; }

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(go version | cut -d' ' -f3), commit $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown), database ${DB:-sqlite}"
"$work/agentload" -url "$base_url" -token "$(cat "$work/token")" -pid "$server_pid" -agents "$AGENTS" -interval "$INTERVAL" -duration "$DURATION" ${RAMP:+-ramp "$RAMP"} $EXTRA
echo "database size: $(du -sh "$work/data" 2>/dev/null | cut -f1)"
