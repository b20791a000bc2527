#!/usr/bin/env bash
# Two builds of the server side by side: GET /healthz and authenticated
# GET /api/v2/account on each, in interleaved rounds (ABBA…), so that a
# change's cost on the request path shows as a ratio measured in one run.
#
#   OLD_BIN=/path/to/older/sitegpt-server bash bench/versions.sh
#   OLD_BIN=… DURATION=3 ROUNDS=4 bash bench/versions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OLD_BIN:?set OLD_BIN to the other build of sitegpt-server}"
. bench/lib.sh
NEW_BIN=$BIN

# token_for BIN NAME: a user and an account:read token on that build's data.
token_for() {
    SITEGPT_DATA_DIR="$WORK/$2" $1 admin create-user --email bench@example.com --password bench-password \
        --verified >/dev/null 2>&1
    SITEGPT_DATA_DIR="$WORK/$2" $1 admin create-token --email bench@example.com --name bench --scope account:read \
        2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["plaintextToken"])'
}

start_with() {
    local bin=$1 name=$2
    mkdir -p "$WORK/$name"
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    BASE="http://127.0.0.1:$PORT"
    SITEGPT_DATA_DIR="$WORK/$name" SITEGPT_LISTEN="127.0.0.1:$PORT" $bin serve 2>"$WORK/$name.log" &
    SERVER_PIDS+=("$!")
    for _ in $(seq 100); do curl -fsS "$BASE/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "the $name server did not start" >&2; cat "$WORK/$name.log" >&2; exit 1
}

start_with "$OLD_BIN" old; old_base=$BASE
start_with "$NEW_BIN" new; new_base=$BASE
old_token=$(token_for "$OLD_BIN" old)
new_token=$(token_for "$NEW_BIN" new)
for pair in "$old_base $old_token" "$new_base $new_token"; do
    set -- $pair
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1/api/v2/account")" = 200 ] \
        || { echo "authenticated request to $1 failed" >&2; exit 1; }
done

RESULTS="$WORK/results"
: >"$RESULTS"
run_wrk "$old_base/api/v2/account" -H "Authorization: Bearer $old_token" >/dev/null
run_wrk "$new_base/api/v2/account" -H "Authorization: Bearer $new_token" >/dev/null
for round in $(seq "$ROUNDS"); do
    order="old new"
    [ $((round % 2)) = 0 ] && order="new old"
    for which in $order; do
        if [ "$which" = old ]; then base=$old_base token=$old_token; else base=$new_base token=$new_token; fi
        h=$(run_wrk "$base/healthz")
        a=$(run_wrk "$base/api/v2/account" -H "Authorization: Bearer $token")
        echo "round $round $which: healthz ${h% *}, account ${a% *} req/s" >&2
        echo "$which $h $a" >>"$RESULTS"
    done
done

python3 - "$RESULTS" "$CONNECTIONS" "$DURATION" "$ROUNDS" <<'PY'
import sys
from collections import defaultdict
path, connections, duration, rounds = sys.argv[1:]
runs = defaultdict(list)
for line in open(path):
    which, *values = line.split()
    runs[which].append(list(map(float, values)))
mean = lambda rows, i: sum(r[i] for r in rows) / len(rows)
print(f"wrk: 1 thread, {connections} connections, {duration}s per measurement, {rounds} interleaved rounds")
print(f"{'build':<6}{'healthz req/s':>15}{'account req/s':>15}{'account/healthz':>17}  per round")
for which in ("old", "new"):
    rows = runs[which]
    h, a = mean(rows, 0), mean(rows, 2)
    per = ", ".join(f"{r[2] / r[0]:.2f}" for r in rows)
    print(f"{which:<6}{h:>15.0f}{a:>15.0f}{a / h:>17.2f}  ({per})")
new, old = runs["new"], runs["old"]
print(f"new/old: healthz {mean(new, 0) / mean(old, 0):.2f}, account {mean(new, 2) / mean(old, 2):.2f}")
PY
