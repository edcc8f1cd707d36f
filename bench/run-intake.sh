#!/usr/bin/env bash
# Intake figures for docs/performance.md ("Incident intake"): builds opsdeck
# and bench/intakeload, starts a server (SQLite) on a free loopback port in a
# temporary folder, makes an admin token, then
#   1. the storm: 100,000 events over 1,000 dedup keys, as fast as 64
#      connections go, and the resulting alert and incident counts;
#   2. open-loop runs at each rate (default 1000 and 5000 events/s).
#
#   bench/run-intake.sh               # storm + rates 1000 5000
#   bench/run-intake.sh 1000 5000 8000
#   DURATION=20s EVENTS=100000 KEYS=1000 bench/run-intake.sh
set -euo pipefail

DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64}
EVENTS=${EVENTS:-100000}
KEYS=${KEYS:-1000}
SOURCES=${SOURCES:-10}
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(1000 5000)

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/opsdeck-intake.XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	[ "${KEEP:-}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/opsdeck" ./cmd/opsdeck && go build -o "$work/intakeload" ./bench/intakeload)
"$work/opsdeck" migrate --data "$work/data" >/dev/null
token=$("$work/opsdeck" token create --data "$work/data" --name bench --role admin 2>/dev/null)
OPSDECK_ADMIN_PASSWORD=bench-admin-password-1 "$work/opsdeck" serve --addr 127.0.0.1:0 --data "$work/data" --log-level warn >"$work/server.log" 2>&1 &
server_pid=$!
base_url=
for _ in $(seq 100); do
	base_url=$(sed -n 's|.* is running at \(http://[0-9.:]*\)/.*|\1|p' "$work/server.log" | head -n1)
	[ -n "$base_url" ] && break
	sleep 0.1
done
[ -n "$base_url" ] || { cat "$work/server.log" >&2; exit 1; }

# server_cpu prints the server's user+system CPU seconds so far: divided by
# the events, it is the server's cost per event whatever else the shared
# machine runs.
tick=$(getconf CLK_TCK)
server_cpu() { awk -v t="$tick" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$server_pid/stat"; }

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(go version | cut -d' ' -f3), commit $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown), SQLite"
echo "== storm: $EVENTS events over $KEYS dedup keys, $SOURCES sources (grouping by source), $CONNS connections"
c0=$(server_cpu)
"$work/intakeload" -url "$base_url" -token "$token" -mode storm -events "$EVENTS" -keys "$KEYS" -sources "$SOURCES" -conns "$CONNS"
c1=$(server_cpu)
awk -v a="$c1" -v b="$c0" -v n="$EVENTS" 'BEGIN { printf "server CPU: %.1f s for %d events = %.0f us per event (%.0f events/s per core); load average now %s\n", a - b, n, (a - b) / n * 1e6, n / (a - b), "'"$(cut -d' ' -f1 /proc/loadavg)"'" }'
for rate in "${RATES[@]}"; do
	echo "== open loop at $rate events/s for $DURATION over $KEYS dedup keys (updates of open alerts)"
	"$work/intakeload" -url "$base_url" -token "$token" -mode rate -rate "$rate" -duration "$DURATION" -warmup "$WARMUP" -conns "$CONNS" -sources "$SOURCES" -keys "$KEYS"
	echo "== open loop at $rate events/s for $DURATION, a new dedup key per event (a new alert each: the heaviest path)"
	"$work/intakeload" -url "$base_url" -token "$token" -mode rate -rate "$rate" -duration "$DURATION" -warmup "$WARMUP" -conns "$CONNS" -sources "$SOURCES"
done
