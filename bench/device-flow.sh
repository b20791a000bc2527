#!/usr/bin/env bash
# Device-authorization requests per second and token-endpoint polls per
# second on loopback, each beside the same run's /healthz throughput.
#
#   bash bench/device-flow.sh
#   DURATION=3 ROUNDS=2 bash bench/device-flow.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

start_server
post_script "$WORK/authorize.lua" "client_id=sitegpt-cli&scope=account:read"
DEVICE_CODE=$(curl -fsS -d client_id=sitegpt-cli "$BASE/oauth/device_authorization" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["device_code"])')
post_script "$WORK/poll.lua" \
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=sitegpt-cli&device_code=$DEVICE_CODE"

run_wrk "$BASE/healthz" >/dev/null   # warm up
rows=()
for round in $(seq "$ROUNDS"); do
    h=$(run_wrk "$BASE/healthz")
    d=$(run_wrk "$BASE/oauth/device_authorization" -s "$WORK/authorize.lua")
    p=$(run_wrk "$BASE/oauth/token" -s "$WORK/poll.lua")
    rows+=("$h $d $p")
    echo "round $round: healthz ${h% *}/s, device_authorization ${d% *}/s, token polls ${p% *}/s" >&2
done
CREATED=$(sqlite3 "$SITEGPT_DATA_DIR/sitegpt.db" 'SELECT count(*) FROM device_authorizations')

printf '%s\n' "${rows[@]}" | python3 -c "
import sys
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
mean = lambda i: sum(r[i] for r in rows) / len(rows)
worst = lambda i: max(r[i] for r in rows)
print('wrk: 1 thread, $CONNECTIONS connections, ${DURATION}s x $ROUNDS rounds, interleaved; $CREATED device authorizations stored')
print(f'{\"endpoint\":<34}{\"req/s\":>10}{\"p99 ms\":>10}{\"ratio to /healthz\":>20}')
for name, i in [('GET /healthz', 0), ('POST /oauth/device_authorization', 2), ('POST /oauth/token (polling)', 4)]:
    print(f'{name:<34}{mean(i):>10.0f}{worst(i + 1):>10.2f}{mean(i) / mean(0):>20.2f}')
"
