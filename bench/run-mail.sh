#!/usr/bin/env bash
# Inbound mail figures for docs/performance.md ("Inbound mail"): builds
# opsdeck and bench/mailload, starts a server (SQLite) with the SMTP
# listener on a free loopback port in a temporary folder, makes an admin
# token, and delivers N messages (half new tickets, half replies) over
# CONNS SMTP connections.
#
#   bench/run-mail.sh                 # 5000 messages, 8 connections
#   N=20000 CONNS=16 bench/run-mail.sh
#   DB='postgres://postgres@127.0.0.1:5432/maildb?sslmode=disable' bench/run-mail.sh   # an empty database
set -euo pipefail

N=${N:-5000}
CONNS=${CONNS:-8}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/opsdeck-mail.XXXXXX")
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	[ "${KEEP:-}" = 1 ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
(cd "$root" && go build -o "$work/opsdeck" ./cmd/opsdeck && go build -o "$work/mailload" ./bench/mailload)
dbflag=()
[ -n "${DB:-}" ] && dbflag=(--db "$DB")
"$work/opsdeck" migrate --data "$work/data" "${dbflag[@]}" >/dev/null
token=$("$work/opsdeck" token create --data "$work/data" "${dbflag[@]}" --name bench --role admin 2>/dev/null)
smtp_addr=127.0.0.1:$(free_port)
OPSDECK_ADMIN_PASSWORD=bench-admin-password-1 OPSDECK_MAIL_ADDRESS=support@example.com OPSDECK_MAIL_SMTP_ADDR=$smtp_addr \
	OPSDECK_MAIL_RATE_PER_HOUR=0 "$work/opsdeck" serve --addr 127.0.0.1:0 --data "$work/data" "${dbflag[@]}" --log-level warn >"$work/server.log" 2>&1 &
server_pid=$!
base_url=
for _ in $(seq 100); do
	base_url=$(sed -n 's|.* is running at \(http://[0-9.:]*\)/.*|\1|p' "$work/server.log" | head -n1)
	[ -n "$base_url" ] && break
	sleep 0.1
done
[ -n "$base_url" ] || { cat "$work/server.log" >&2; exit 1; }
"$work/mailload" -smtp "$smtp_addr" -to support@example.com -n "$N" -conns "$CONNS" -url "$base_url" -token "$token"
ps -o rss=,time= -p "$server_pid" | awk '{printf "server RSS %.1f MB, CPU time %s\n", $1/1024, $2}'
