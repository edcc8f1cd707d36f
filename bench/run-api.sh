#!/usr/bin/env bash
# Whole-system API figures for docs/performance.md: builds opsdeck and
# bench/apiload, and for each request-log level starts a server on a free
# loopback port in a temporary folder, makes a viewer token, drives
# GET /api/v1/me at each rate (open loop), and stops the server.
#
#   bench/run-api.sh                 # rates 2000 5000 10000 15000, 20s each
#   bench/run-api.sh 10000           # one rate
#   DURATION=5s LEVELS=warn bench/run-api.sh 10000
#   PERF_RATE=10000 bench/run-api.sh # also `perf record` the server at 10000/s
#
# Settings (environment): DURATION (20s) and WARMUP (2s), in seconds with an
# "s"; CONNS (64);
# LEVELS ("info warn"), PERF_RATE (unset: no profile; needs perf installed),
# KEEP=1 keeps the temporary folder (server logs, perf data).
# The target is >= 10000 req/s with p99 < 10ms; each line says whether a
# rate was held: no errors, nothing unsent, achieved >= 99% of the rate and
# p99 under 10ms. Loader and server share this machine's cores.
set -euo pipefail

DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64}
LEVELS=${LEVELS:-"info warn"}
PERF_RATE=${PERF_RATE:-}
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(2000 5000 10000 15000)

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/opsdeck-bench.XXXXXX")
server_pid=

cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ "${KEEP:-}" = 1 ]; then
		echo "kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# cpu_ticks PID prints the process's user+system CPU time in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# machine_ticks prints the CPU time all cores spent busy (user, nice, system,
# irq, softirq, steal) in clock ticks.
machine_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# start_server LEVEL starts opsdeck with request logs at LEVEL and sets
# server_pid and base_url. It listens on port 0 and reads the chosen address
# from the line the server prints once it accepts connections.
start_server() {
	local level=$1 data="$work/data-$1" log="$work/server-$1.log"
	: >"$log"
	OPSDECK_ADMIN_PASSWORD=bench-admin-password-1 \
		"$work/opsdeck" serve --addr 127.0.0.1:0 --data "$data" --log-level "$level" >"$log" 2>&1 &
	server_pid=$!
	base_url=
	for _ in $(seq 100); do
		base_url=$(sed -n 's|.* is running at \(http://[0-9.:]*\)/.*|\1|p' "$log" | head -n1)
		[ -n "$base_url" ] && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "server did not start; its log:" >&2
	cat "$log" >&2
	exit 1
}

stop_server() {
	kill "$server_pid"
	wait "$server_pid" || true
	server_pid=
}

echo "building in $work" >&2
(cd "$root" && go build -o "$work/opsdeck" ./cmd/opsdeck && go build -o "$work/apiload" ./bench/apiload)

tick=$(getconf CLK_TCK)
summary="$work/summary.txt"
printf '%-5s %6s %9s %6s %7s %8s %8s %8s %8s %10s %10s %8s  %s\n' \
	log rate achieved errors unsent p50_ms p90_ms p99_ms max_ms server_cpu loader_cpu rest_cpu held >"$summary"

echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(go version | cut -d' ' -f3), commit $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
for level in $LEVELS; do
	"$work/opsdeck" token create --data "$work/data-$level" --name bench --role viewer >"$work/token-$level" 2>/dev/null
	token=$(cat "$work/token-$level")
	start_server "$level"
	echo "== request logs at $level: server pid $server_pid at $base_url"
	for rate in "${RATES[@]}"; do
		perf_pid=
		if [ "$rate" = "$PERF_RATE" ]; then
			perf record -F 499 -g -p "$server_pid" -o "$work/perf-$level-$rate.data" -- sleep "$DURATION" >/dev/null 2>&1 &
			perf_pid=$!
		fi
		before=$(cpu_ticks "$server_pid")
		machine_before=$(machine_ticks)
		t0=$(date +%s.%N)
		TIMEFORMAT='%U %S'
		{ time "$work/apiload" -url "$base_url/api/v1/me" -token "$token" -rate "$rate" \
			-duration "$DURATION" -warmup "$WARMUP" -conns "$CONNS" >"$work/run.txt"; } 2>"$work/time.txt"
		t1=$(date +%s.%N)
		after=$(cpu_ticks "$server_pid")
		machine_after=$(machine_ticks)
		cat "$work/run.txt"
		secs=$(awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }')
		server_cpu=$(awk -v a="$after" -v b="$before" -v t="$tick" -v s="$secs" 'BEGIN { printf "%.2f", (a - b) / t / s }')
		loader_cpu=$(awk -v s="$secs" '{ printf "%.2f", ($1 + $2) / s }' "$work/time.txt")
		# The rest is kernel work not charged to either process (loopback
		# softirq) plus anything else running: more than a few tenths of a
		# core means the step shared the machine and its figures are suspect.
		rest_cpu=$(awk -v a="$machine_after" -v b="$machine_before" -v t="$tick" -v s="$secs" -v sc="$server_cpu" -v lc="$loader_cpu" \
			'BEGIN { r = (a - b) / t / s - sc - lc; printf "%.2f", r < 0 ? 0 : r }')
		echo "  cpu       server ${server_cpu} cores, loader ${loader_cpu} cores, rest of machine ${rest_cpu} cores (over warm-up + run)"
		grep '^RESULT' "$work/run.txt" | awk -v lvl="$level" -v sc="$server_cpu" -v lc="$loader_cpu" -v rc="$rest_cpu" '{
			for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
			held = (r["errors"] == 0 && r["unsent"] == 0 && r["achieved"] >= 0.99 * r["rate"] && r["p99_ms"] < 10) ? "yes" : "no"
			printf "%-5s %6s %9s %6s %7s %8s %8s %8s %8s %10s %10s %8s  %s\n", lvl, r["rate"], r["achieved"], r["errors"], r["unsent"], r["p50_ms"], r["p90_ms"], r["p99_ms"], r["max_ms"], sc, lc, rc, held
		}' >>"$summary"
		if [ -n "$perf_pid" ]; then
			wait "$perf_pid" || true
			perf report -i "$work/perf-$level-$rate.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
				grep -v '^#' | grep '%' | head -n 25 >"$work/perf-$level-$rate.txt" || true
			echo "  perf top symbols (server, $level, $rate/s):"
			sed 's/^/    /' "$work/perf-$level-$rate.txt"
		fi
	done
	stop_server
done
echo
cat "$summary"
