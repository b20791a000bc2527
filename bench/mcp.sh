#!/usr/bin/env bash
# The MCP server against the API it wraps, each beside the same run's
# /healthz: `tools/call chatbots_list` through POST /mcp and
# `GET /api/v2/chatbots` with the same token (target: MCP ≥ 0.6 of REST).
#
#   bash bench/mcp.sh
#   DURATION=3 ROUNDS=2 bash bench/mcp.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

json() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
ACCOUNT=$($BIN admin create-user --create-database --email bench@example.com --password bench-password --verified | json accountId)
for i in $(seq 10); do $BIN admin create-chatbot --account-id "$ACCOUNT" --name "bench $i" >/dev/null; done
TOKEN=$($BIN admin create-token --email bench@example.com --name mcp --scope chatbots:read | json plaintextToken)

start_server
CALL='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"chatbots_list","arguments":{}}}'
cat >"$WORK/call.lua" <<LUA
wrk.method = "POST"
wrk.body = '$CALL'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.headers["Authorization"] = "Bearer $TOKEN"
LUA
# Both answer, and alike, before anything is measured.
REST=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/v2/chatbots")
MCP=$(curl -fsS -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-11-25' -d "$CALL" "$BASE/mcp")
python3 -c "
import json, sys
rest, mcp = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert mcp['result']['isError'] is False, mcp
assert mcp['result']['structuredContent'] == rest['data'], (mcp, rest)
assert len(rest['data']['items']) == 10
" "$REST" "$MCP"

run_wrk "$BASE/healthz" >/dev/null
rows=()
for round in $(seq "$ROUNDS"); do
    h=$(run_wrk "$BASE/healthz")
    r=$(run_wrk "$BASE/api/v2/chatbots" -H "Authorization: Bearer $TOKEN")
    m=$(run_wrk "$BASE/mcp" -s "$WORK/call.lua")
    rows+=("$h $r $m")
    echo "round $round: healthz ${h% *}/s, REST ${r% *}/s, MCP ${m% *}/s" >&2
done

printf '%s\n' "${rows[@]}" | python3 -c "
import sys
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
mean = lambda i: sum(r[i] for r in rows) / len(rows)
worst = lambda i: max(r[i] for r in rows)
print('wrk: 1 thread, $CONNECTIONS connections, ${DURATION}s x $ROUNDS rounds, interleaved; 10 chatbots listed')
print(f'{\"request\":<40}{\"req/s\":>10}{\"p99 ms\":>10}{\"ratio to /healthz\":>20}')
names = ['GET /healthz', 'GET /api/v2/chatbots', 'POST /mcp tools/call chatbots_list']
for n, name in enumerate(names):
    print(f'{name:<40}{mean(2 * n):>10.0f}{worst(2 * n + 1):>10.2f}{mean(2 * n) / mean(0):>20.2f}')
print(f'MCP / REST: {mean(4) / mean(2):.2f} (target >= 0.6); per round: ' + ', '.join(f'{r[4] / r[2]:.2f}' for r in rows))
"
