#!/usr/bin/env bash
# Authenticated `GET /api/v2/account` against `GET /healthz` on one release
# server holding 100,000 tokens, measured side by side with wrk on loopback.
# Prints both throughputs, their p99 latencies, and the ratio
# (target: authenticated >= 0.8 x unauthenticated).
#
#   bash bench/auth-vs-health.sh
#   TOKENS=1000 DURATION=3 ROUNDS=2 bash bench/auth-vs-health.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

TOKENS=${TOKENS:-100000}
$BIN admin create-user --create-database --email bench@example.com --password bench-password --verified >/dev/null
TOKEN=$($BIN admin create-token --email bench@example.com --name bench --scope account:read \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["plaintextToken"])')

# Fill the table with other tokens (random hashes) of the same user.
echo "seeding $TOKENS tokens" >&2
sqlite3 "$SITEGPT_DATA_DIR/sitegpt.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $TOKENS)
INSERT INTO api_tokens (id, account_id, user_id, name, secret_hash, hint, scopes, chatbot_ids,
                        created_via, created_at, secret_issued_at, expires_at)
SELECT 'tok_bench' || i, t.account_id, t.user_id, 'seed ' || i, randomblob(32), 'xxxx', 'account:read', '',
       'admin', t.created_at, t.created_at, t.expires_at
FROM n, (SELECT * FROM api_tokens LIMIT 1) AS t;
SQL
STORED=$(sqlite3 "$SITEGPT_DATA_DIR/sitegpt.db" 'SELECT count(*) FROM api_tokens')

start_server
AUTH="Authorization: Bearer $TOKEN"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$BASE/api/v2/account")
[ "$status" = 200 ] || { echo "authenticated request failed: $status" >&2; exit 1; }

run_wrk "$BASE/healthz" >/dev/null; run_wrk "$BASE/api/v2/account" -H "$AUTH" >/dev/null   # warm up
rows=()
for round in $(seq "$ROUNDS"); do
    h=$(run_wrk "$BASE/healthz")
    a=$(run_wrk "$BASE/api/v2/account" -H "$AUTH")
    rows+=("$h $a")
    echo "round $round: healthz ${h% *} req/s, account ${a% *} req/s" >&2
done

printf '%s\n' "${rows[@]}" | python3 -c "
import sys
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
h_rps = sum(r[0] for r in rows) / len(rows); h_p99 = max(r[1] for r in rows)
a_rps = sum(r[2] for r in rows) / len(rows); a_p99 = max(r[3] for r in rows)
ratios = [r[2] / r[0] for r in rows]
print('tokens stored: $STORED, wrk: 1 thread, $CONNECTIONS connections, ${DURATION}s x $ROUNDS rounds, interleaved')
print(f'{\"endpoint\":<28}{\"req/s\":>10}{\"p99 ms\":>10}')
print(f'{\"GET /healthz\":<28}{h_rps:>10.0f}{h_p99:>10.2f}')
print(f'{\"GET /api/v2/account (auth)\":<28}{a_rps:>10.0f}{a_p99:>10.2f}')
print(f'ratio authenticated/unauthenticated: {a_rps / h_rps:.2f} (per round: {\", \".join(f\"{r:.2f}\" for r in ratios)}; target >= 0.80)')
"
