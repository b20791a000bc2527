#!/usr/bin/env bash
# Authenticated `GET /api/v2/account` against `GET /healthz` on one release
# server holding 100,000 tokens, measured side by side with wrk on loopback.
# Prints both throughputs, their p99 latencies, and the ratio
# (target: authenticated >= 0.8 x unauthenticated).
#
#   bash bench/auth-vs-health.sh            # defaults
#   TOKENS=1000 DURATION=5 ROUNDS=3 bash bench/auth-vs-health.sh
set -euo pipefail
cd "$(dirname "$0")/.."

TOKENS=${TOKENS:-100000}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need sqlite3; then
    echo "installing wrk and sqlite3" >&2
    apt-get update -qq && apt-get install -y -qq wrk sqlite3 >/dev/null
fi

cargo build --release --quiet --bin sitegpt-server
BIN=target/release/sitegpt-server
WORK=$(mktemp -d)
export SITEGPT_DATA_DIR="$WORK/data" SITEGPT_LOG=warn
unset SITEGPT_DATABASE_URL SITEGPT_PUBLIC_URL
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

$BIN admin create-user --email bench@example.com --password bench-password --verified >/dev/null
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

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SITEGPT_LISTEN="127.0.0.1:$PORT" $BIN serve 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v2/account")
[ "$status" = 200 ] || { echo "authenticated request failed: $status" >&2; exit 1; }

# wrk prints "Requests/sec: N" and, with --latency, "99% T" (us, ms or s).
run() { # url [header]
    if [ $# -gt 1 ]; then
        wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "$2" "$1"
    else
        wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1"
    fi
}
parse() { python3 -c '
import re, sys
text = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if errors:
    sys.exit("non-2xx responses: " + errors.group(1))
print(f"{rps:.0f} {ms:.3f}")
'; }

HEALTH="http://127.0.0.1:$PORT/healthz"
ACCOUNT="http://127.0.0.1:$PORT/api/v2/account"
run "$HEALTH" >/dev/null; run "$ACCOUNT" "Authorization: Bearer $TOKEN" >/dev/null   # warm up
results=()
for round in $(seq "$ROUNDS"); do
    h=$(run "$HEALTH" | parse)
    a=$(run "$ACCOUNT" "Authorization: Bearer $TOKEN" | parse)
    results+=("$h $a")
    echo "round $round: healthz ${h% *} req/s, account ${a% *} req/s" >&2
done

printf '%s\n' "${results[@]}" | python3 -c "
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
