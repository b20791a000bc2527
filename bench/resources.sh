#!/usr/bin/env bash
# The resource API under load, each beside the same run's /healthz:
# - listing a chatbot's 1,000 knowledge sources (200 a page) with a
#   chatbot-restricted token, and the same with an unrestricted token;
# - a write-heavy mix: adding leads.
#
#   bash bench/resources.sh
#   DURATION=3 ROUNDS=2 bash bench/resources.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

json() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
ACCOUNT=$($BIN admin create-user --create-database --email bench@example.com --password bench-password --verified | json accountId)
CHATBOT=$($BIN admin create-chatbot --account-id "$ACCOUNT" --name bench | json chatbotId)
SCOPES="--scope knowledge:read --scope leads:write"
# shellcheck disable=SC2086
OPEN=$($BIN admin create-token --email bench@example.com --name open $SCOPES | json plaintextToken)
# shellcheck disable=SC2086
RESTRICTED=$($BIN admin create-token --email bench@example.com --name restricted $SCOPES --chatbot "$CHATBOT" | json plaintextToken)
sqlite3 "$SITEGPT_DATA_DIR/sitegpt.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO chatbot_items (id, account_id, chatbot_id, kind, data, created_at, updated_at)
SELECT 'ks_bench' || i, '$ACCOUNT', '$CHATBOT', 'knowledge',
       '{"type":"url","url":"https://example.com/page/' || i || '","status":"ready"}', 1700000000000 + i, 1700000000000 + i
FROM n;
SQL

start_server
LIST="$BASE/api/v2/chatbots/$CHATBOT/knowledge?limit=200"
cat >"$WORK/lead.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"name":"Bench lead","email":"lead@example.com"}'
wrk.headers["Content-Type"] = "application/json"
LUA
run_wrk "$BASE/healthz" >/dev/null
rows=()
for round in $(seq "$ROUNDS"); do
    h=$(run_wrk "$BASE/healthz")
    r=$(run_wrk "$LIST" -H "Authorization: Bearer $RESTRICTED")
    o=$(run_wrk "$LIST" -H "Authorization: Bearer $OPEN")
    w=$(run_wrk "$BASE/api/v2/chatbots/$CHATBOT/leads" -H "Authorization: Bearer $OPEN" -s "$WORK/lead.lua")
    rows+=("$h $r $o $w")
    echo "round $round: healthz ${h% *}/s, restricted list ${r% *}/s, unrestricted list ${o% *}/s, lead writes ${w% *}/s" >&2
done
LEADS=$(sqlite3 "$SITEGPT_DATA_DIR/sitegpt.db" "SELECT count(*) FROM chatbot_items WHERE kind = 'leads'")

printf '%s\n' "${rows[@]}" | python3 -c "
import sys
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
mean = lambda i: sum(r[i] for r in rows) / len(rows)
worst = lambda i: max(r[i] for r in rows)
print('wrk: 1 thread, $CONNECTIONS connections, ${DURATION}s x $ROUNDS rounds, interleaved; 1,000 knowledge sources; $LEADS leads written')
print(f'{\"request\":<44}{\"req/s\":>10}{\"p99 ms\":>10}{\"ratio to /healthz\":>20}')
names = ['GET /healthz', 'GET …/knowledge?limit=200 (restricted)', 'GET …/knowledge?limit=200 (unrestricted)', 'POST …/leads']
for n, name in enumerate(names):
    print(f'{name:<44}{mean(2 * n):>10.0f}{worst(2 * n + 1):>10.2f}{mean(2 * n) / mean(0):>20.2f}')
print(f'restricted / unrestricted list: {mean(2) / mean(4):.2f}')
"
