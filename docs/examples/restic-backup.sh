#!/bin/sh
# restic-backup.sh — run a restic backup and check in to opsdeck.
#
# Environment:
#   OPSDECK_CHECKIN_URL  the job's check-in URL without the action, such as
#                        https://opsdeck.example.com/backup/ping/bk_xxxxxxxx
#   RESTIC_REPOSITORY, RESTIC_PASSWORD or RESTIC_PASSWORD_FILE  as restic reads them
#   BACKUP_PATHS         what to back up (space-separated), default /etc
#   RESTIC_EXTRA         extra restic flags (optional), such as "--exclude-caches"
#
# It calls /start, runs `restic backup --json`, then /success with the
# snapshot's size, file count, duration and id, or /fail with the exit code
# and the end of restic's output. A check-in that cannot be delivered never
# fails the backup itself (curl errors are ignored).
set -u

: "${OPSDECK_CHECKIN_URL:?set OPSDECK_CHECKIN_URL to the job's check-in URL}"
BACKUP_PATHS=${BACKUP_PATHS:-/etc}
RESTIC=${RESTIC:-restic}

checkin() { # checkin ACTION [JSON]
	if [ -n "${2:-}" ]; then
		curl -fsS -m 10 --retry 3 -o /dev/null -H 'Content-Type: application/json' --data-binary "$2" "$OPSDECK_CHECKIN_URL/$1" || true
	else
		curl -fsS -m 10 --retry 3 -o /dev/null "$OPSDECK_CHECKIN_URL/$1" || true
	fi
}

# json_string: the input as one JSON string body (quotes, backslashes and
# control characters escaped, lines joined with \n).
json_string() {
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/	/\\t/g' | tr -d '\r' | awk '{ printf "%s%s", (NR > 1 ? "\\n" : ""), $0 }'
}

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

checkin start
start=$(date +%s)
# shellcheck disable=SC2086 # word splitting of the paths and flags is wanted
"$RESTIC" backup --json ${RESTIC_EXTRA:-} $BACKUP_PATHS >"$out" 2>&1
code=$?
elapsed=$(( $(date +%s) - start ))

if [ "$code" -ne 0 ]; then
	log=$(tail -c 4000 "$out" | json_string)
	checkin "$code" "{\"duration\": $elapsed, \"log\": \"$log\"}"
	exit "$code"
fi

summary=$(grep '"message_type":"summary"' "$out" | tail -n 1)
num() { printf '%s' "$summary" | sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p"; }
bytes=$(num total_bytes_processed)
files=$(num total_files_processed)
snap=$(printf '%s' "$summary" | sed -n 's/.*"snapshot_id":"\([0-9a-f]*\)".*/\1/p')
log=$(printf 'restic: snapshot %s saved, %s files, %s bytes' "$snap" "${files:-?}" "${bytes:-?}" | json_string)
checkin success "{\"bytes\": ${bytes:-0}, \"files\": ${files:-0}, \"duration\": $elapsed, \"snapshot_id\": \"$snap\", \"log\": \"$log\"}"
