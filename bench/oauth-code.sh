#!/usr/bin/env bash
# Authorization-code exchanges and refresh-token grants per second on
# loopback, each beside the same run's /healthz throughput, on the SQLite
# default.
#
# Approved grants (each with its own code, as the consent page stores them)
# are seeded into the database, so every exchange redeems a fresh code: one
# write transaction that marks the code used and stores an access token and
# a refresh token. Each refresh uses a refresh token once and queues the one
# it gets back for a later request, as a client does.
#
#   bash bench/oauth-code.sh
#   DURATION=3 ROUNDS=2 bash bench/oauth-code.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

CODES_PER_ROUND=${CODES_PER_ROUND:-30000}
REFRESH_SEEDS=${REFRESH_SEEDS:-400}
VERIFIER=bench-verifier-0123456789-0123456789-0123456789
REDIRECT=http://127.0.0.1/callback

start_server
$BIN admin create-user --email bench@example.com --password bench-password --verified >"$WORK/user.json"

# Grants for every round's exchanges, and for the refresh seeds.
python3 - "$WORK" "$ROUNDS" "$CODES_PER_ROUND" "$REFRESH_SEEDS" "$VERIFIER" "$REDIRECT" <<'PY' | sqlite3 "$SITEGPT_DATA_DIR/sitegpt.db"
import base64, hashlib, json, sys, time
work, rounds, per_round, seeds, verifier, redirect = sys.argv[1:]
user = json.load(open(f"{work}/user.json"))
now = int(time.time() * 1000)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
print("BEGIN;")
print(f"INSERT INTO oauth_clients VALUES ('oc_bench', 'Bench client', '{redirect}', 'registered', {now}, {now});")
def codes(name, count):
    with open(f"{work}/{name}", "w") as out:
        for i in range(count):
            code = f"{name}-{i:08d}-code-for-the-benchmark"
            out.write(code + "\n")
            digest = hashlib.sha256(code.encode()).hexdigest()
            print(
                "INSERT INTO oauth_grants (id, client_id, user_id, account_id, scopes, chatbot_ids, resource, "
                "redirect_uri, code_hash, code_challenge, code_expires_at, created_at, last_used_at) VALUES "
                f"('gr_{name}_{i}', 'oc_bench', '{user['userId']}', '{user['accountId']}', 'account:read', '', 'api', "
                f"'{redirect}', X'{digest}', '{challenge}', {now + 86_400_000}, {now}, {now});"
            )
for r in range(1, int(rounds) + 1):
    codes(f"codes{r}", int(per_round))
codes("seeds", int(seeds))
print("COMMIT;")
PY

# The refresh seeds: exchanged once, here, for their first refresh tokens.
python3 - "$BASE" "$WORK" "$VERIFIER" "$REDIRECT" <<'PY'
import json, sys, urllib.parse, urllib.request
base, work, verifier, redirect = sys.argv[1:]
with open(f"{work}/seeds") as seeds, open(f"{work}/refresh", "w") as out:
    for code in seeds.read().split():
        body = urllib.parse.urlencode({"grant_type": "authorization_code", "client_id": "oc_bench", "code": code,
                                       "redirect_uri": redirect, "code_verifier": verifier}).encode()
        answer = json.load(urllib.request.urlopen(f"{base}/oauth/token", body))
        out.write(answer["refresh_token"] + "\n")
PY

cat >"$WORK/exchange.lua" <<LUA
local codes, next = {}, 0
for line in io.lines(os.getenv("CODES_FILE")) do codes[#codes + 1] = line end
request = function()
    next = next + 1
    local code = codes[next]
    if code == nil then error("out of codes: raise CODES_PER_ROUND") end
    return wrk.format("POST", "/oauth/token", {["Content-Type"] = "application/x-www-form-urlencoded"},
        "grant_type=authorization_code&client_id=oc_bench&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback" ..
        "&code_verifier=$VERIFIER&code=" .. code)
end
LUA
cat >"$WORK/refresh.lua" <<'LUA'
local queue, head, tail = {}, 1, 0
for line in io.lines(os.getenv("REFRESH_FILE")) do tail = tail + 1; queue[tail] = line end
request = function()
    local token = queue[head]
    if token == nil then error("no refresh token left: raise REFRESH_SEEDS") end
    queue[head] = nil
    head = head + 1
    return wrk.format("POST", "/oauth/token", {["Content-Type"] = "application/x-www-form-urlencoded"},
        "grant_type=refresh_token&client_id=oc_bench&refresh_token=" .. token)
end
response = function(status, headers, body)
    local token = body:match('"refresh_token":"(sgpr_%w+)"')
    if token then tail = tail + 1; queue[tail] = token end
end
LUA

run_wrk "$BASE/healthz" >/dev/null   # warm up
rows=()
for round in $(seq "$ROUNDS"); do
    h=$(run_wrk "$BASE/healthz")
    e=$(CODES_FILE="$WORK/codes$round" run_wrk "$BASE/oauth/token" -s "$WORK/exchange.lua")
    r=$(REFRESH_FILE="$WORK/refresh" run_wrk "$BASE/oauth/token" -s "$WORK/refresh.lua")
    rows+=("$h $e $r")
    echo "round $round: healthz ${h% *}/s, code exchanges ${e% *}/s, refreshes ${r% *}/s" >&2
done
db="$SITEGPT_DATA_DIR/sitegpt.db"
REDEEMED=$(sqlite3 "$db" 'SELECT count(*) FROM oauth_grants WHERE code_used_at IS NOT NULL')
REVOKED=$(sqlite3 "$db" 'SELECT count(*) FROM oauth_grants WHERE revoked_at IS NOT NULL')
ISSUED=$(sqlite3 "$db" "SELECT count(*) FROM api_tokens WHERE created_via = 'oauth'")
[ "$REVOKED" = 0 ] || { echo "$REVOKED grants were revoked: a code or refresh token was replayed" >&2; exit 1; }

printf '%s\n' "${rows[@]}" | python3 -c "
import sys
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
mean = lambda i: sum(r[i] for r in rows) / len(rows)
worst = lambda i: max(r[i] for r in rows)
print('wrk: 1 thread, $CONNECTIONS connections, ${DURATION}s x $ROUNDS rounds, interleaved')
print('$REDEEMED codes redeemed, $ISSUED access tokens issued, no grant revoked (no replay)')
print(f'{\"endpoint\":<44}{\"req/s\":>10}{\"p99 ms\":>10}{\"ratio to /healthz\":>20}')
for name, i in [('GET /healthz', 0), ('POST /oauth/token (authorization_code)', 2), ('POST /oauth/token (refresh_token)', 4)]:
    print(f'{name:<44}{mean(i):>10.0f}{worst(i + 1):>10.2f}{mean(i) / mean(0):>20.2f}')
"
