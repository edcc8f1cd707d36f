#!/usr/bin/env bash
# Whole-system monitoring figures for docs/performance.md ("Monitoring at
# 10,000 monitors"): builds opsdeck and bench/monitorload, starts a server on
# a free loopback port in a temporary folder (SQLite), creates N http
# monitors checking monitorload's target every INTERVAL, measures a window of
# DURATION (runs, skips, start delay, RSS, CPU), times the monitor list under
# that load, stops the server and counts the stored results; then restarts
# the server STARTS times with the monitors stored to time the start-up.
#
#   bench/run-monitors.sh                          # 10,000 monitors, 10 s, 300 s window
#   N=1000 DURATION=30s bench/run-monitors.sh      # a quick run
#   KEEP=1 bench/run-monitors.sh                   # keep the folder (logs, database)
#
# Settings (environment): N (10000), INTERVAL (10s), TIMEOUT (5s),
# DURATION (300s), SETTLE (two intervals), SCRAPE (30s), LIST_RUNS (50),
# STARTS (3), LEVEL (warn; the log level of the measured run; start-ups run at
# info, as the "monitors scheduled" line is an info line).
# Target, driver and server share this machine's cores; every step reports
# what the rest of the machine used (rest_cpu): above a few tenths of a core
# the step shared the machine with something else and should be repeated.
set -euo pipefail

N=${N:-10000}
INTERVAL=${INTERVAL:-10s}
TIMEOUT=${TIMEOUT:-5s}
DURATION=${DURATION:-300s}
SETTLE=${SETTLE:-}
SCRAPE=${SCRAPE:-30s}
LIST_RUNS=${LIST_RUNS:-50}
STARTS=${STARTS:-3}
LEVEL=${LEVEL:-warn}

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/opsdeck-monbench.XXXXXX")
data="$work/data"
server_pid=
driver_pid=

cleanup() {
	if [ -n "$driver_pid" ]; then
		kill "$driver_pid" 2>/dev/null || true
		wait "$driver_pid" 2>/dev/null || true
	fi
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

# launch ADDR LEVEL LOG starts opsdeck in the background and sets server_pid
# and started_ns (just before the exec).
launch() {
	: >"$3"
	started_ns=$(date +%s%N)
	OPSDECK_ADMIN_PASSWORD=bench-admin-password-1 \
		"$work/opsdeck" serve --addr "$1" --data "$data" --log-level "$2" >"$3" 2>&1 &
	server_pid=$!
}

# wait_url LOG sets base_url from the server's start-up line.
wait_url() {
	base_url=
	for _ in $(seq 300); do
		base_url=$(sed -n 's|.* is running at \(http://[0-9.:]*\)/.*|\1|p' "$1" | head -n1)
		[ -n "$base_url" ] && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "server did not start; its log:" >&2
	cat "$1" >&2
	exit 1
}

# stop_server sends SIGTERM and sets stop_msg to how long the server took
# to exit.
stop_server() {
	local t0 t1
	t0=$(date +%s%N)
	kill "$server_pid"
	wait "$server_pid" || true
	t1=$(date +%s%N)
	server_pid=
	stop_msg="stop      server exited $(((t1 - t0) / 1000000)) ms after SIGTERM"
}

echo "building in $work" >&2
(cd "$root" && go build -o "$work/opsdeck" ./cmd/opsdeck && go build -o "$work/monitorload" ./bench/monitorload)
tick=$(getconf CLK_TCK)
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(go version | cut -d' ' -f3), commit $(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "loopback: ports $(tr '\t' '-' </proc/sys/net/ipv4/ip_local_port_range), tcp_tw_reuse $(cat /proc/sys/net/ipv4/tcp_tw_reuse), open files $(ulimit -n)"

"$work/opsdeck" token create --data "$data" --name bench --role operator >"$work/token" 2>/dev/null
token=$(cat "$work/token")

# 1. The load: create, settle, measure, list; then stop and count rows.
launch 127.0.0.1:0 "$LEVEL" "$work/server-load.log"
wait_url "$work/server-load.log"
addr=${base_url#http://}
echo "== $N http monitors every $INTERVAL for $DURATION: server pid $server_pid at $base_url, log level $LEVEL"
settle_flag=()
[ -n "$SETTLE" ] && settle_flag=(-settle "$SETTLE")
"$work/monitorload" -mode load -server "$base_url" -token "$token" -pid "$server_pid" -monitors "$N" \
	-interval "$INTERVAL" -timeout "$TIMEOUT" -duration "$DURATION" "${settle_flag[@]}" -scrape "$SCRAPE" \
	-list-runs "$LIST_RUNS" -clk-tck "$tick" -wait-exit >"$work/load.txt" 2>&1 &
driver_pid=$!
while ! grep -q '^RESULT phase=window_done' "$work/load.txt"; do
	if ! kill -0 "$driver_pid" 2>/dev/null; then
		cat "$work/load.txt"
		echo "monitorload failed" >&2
		exit 1
	fi
	sleep 1
done
stop_server
wait "$driver_pid"
driver_pid=
cat "$work/load.txt"
echo "$stop_msg"

# All results stored: every check is one request to the target, so the rows
# in check_results must equal the target's count over the server's life;
# the rows stamped inside the window should match the checks counted there.
db="$data/opsdeck.db"
[ -f "$db" ] || db=$(find "$data" -name '*.db' | head -n1)
read -r w0 w1 target_total < <(awk '/^RESULT phase=window /{for(i=2;i<=NF;i++){split($i,kv,"=");r[kv[1]]=kv[2]}; w0=r["window_start_unix"]; w1=r["window_end_unix"]}
	/^RESULT phase=final/{for(i=2;i<=NF;i++){split($i,kv,"=");r[kv[1]]=kv[2]}; t=r["target_hits_total"]} END{print w0, w1, t}' "$work/load.txt")
rows=$(sqlite3 "$db" 'SELECT COUNT(*) FROM check_results')
by_status=$(sqlite3 "$db" "SELECT group_concat(status || '=' || n, ' ') FROM (SELECT status, COUNT(*) n FROM check_results GROUP BY status)")
in_window=$(sqlite3 "$db" "SELECT COUNT(*) FROM check_results WHERE at >= strftime('%Y-%m-%d %H:%M:%f', $w0, 'unixepoch') AND at < strftime('%Y-%m-%d %H:%M:%f', $w1, 'unixepoch')")
echo "stored    $rows rows in check_results ($by_status); the target answered $target_total requests; $in_window rows stamped between the window's first and last scrape"
echo "RESULT phase=stored rows=$rows target_total=$target_total missing=$((target_total - rows)) rows_in_window=$in_window"
# When checks ran late: results stamped more than interval + 1 s after the
# same monitor's previous one, by 10-second slot, to set beside the slice
# lines' rest_cpu.
interval_s=$(sed -n 's/^RESULT phase=window .* interval_s=\([0-9.]*\) .*/\1/p' "$work/load.txt")
late=$(sqlite3 -separator ' ' "$db" "WITH g AS (SELECT at, (julianday(at) - julianday(LAG(at) OVER (PARTITION BY monitor_id ORDER BY at))) * 86400 AS gap FROM check_results)
	SELECT substr(at, 12, 7) || 'x', COUNT(*), printf('%.1f', MAX(gap)) FROM g WHERE gap > $interval_s + 1 GROUP BY 1 ORDER BY 1")
if [ -z "$late" ]; then
	echo "late      no result came more than ${interval_s}s + 1s after its monitor's previous one"
else
	echo "late      results more than ${interval_s}s + 1s after their monitor's previous one, by 10 s slot (UTC time, count, longest gap s):"
	echo "$late" | sed 's/^/            /'
fi

# 2. Start-up with the monitors stored, on the same port, with the target
# serving again at its old address so the monitors stay up.
target_addr=$(sed -n 's/^RESULT phase=window .* target_addr=\([0-9.:]*\).*/\1/p' "$work/load.txt")
for i in $(seq "$STARTS"); do
	launch "$addr" info "$work/server-start$i.log"
	"$work/monitorload" -mode startup -server "$base_url" -token "$token" -pid "$server_pid" -monitors "$N" \
		-interval "$INTERVAL" -target-addr "$target_addr" -log "$work/server-start$i.log" -started-at "$started_ns" \
		-list-runs "$LIST_RUNS" -clk-tck "$tick" | sed "s/^RESULT phase=startup/RESULT phase=startup run=$i/"
	stop_server
	echo "$stop_msg"
done
