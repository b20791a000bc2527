#!/usr/bin/env bash
# Token verification on both engines, side by side in one run.
#
# For SQLite and for PostgreSQL (a throw-away server started here), two
# release servers run at once: one on a database with 1,000 tokens and one
# on a database with 1,000,000. wrk measures, round by round:
#   - GET /healthz, and authenticated GET /api/v2/account on each (warm cache):
#     authenticated / healthz (target >= 0.9) and 1,000,000 / 1,000 tokens
#     (target >= 0.9: verification must not grow with the token count);
#   - the cache-miss path: a third server with the cache off, asked with
#     100,000 distinct valid tokens in turn (every request reads the store);
#   - an allowlisted token (127.0.0.0/8 and ::1) on the 1,000-token server,
#     beside the plain one: the allowlist check costs nothing measurable
#     (target: the same ratio to /healthz);
#   - the resident memory of the 1,000,000-token server after 100,000
#     distinct tokens went through its cache (target < 100 MiB).
# Rounds alternate their order (ABC, CBA, …) so that drift cancels out.
#
#   bash bench/verification.sh
#   BIG=100000 KNOWN=20000 DURATION=3 ROUNDS=2 bash bench/verification.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-4}
. bench/lib.sh
. scripts/postgres.sh
pg_start >/dev/null
trap cleanup EXIT

SMALL=${SMALL:-1000}
BIG=${BIG:-1000000}
KNOWN=${KNOWN:-100000}
RESULTS="$WORK/results"
: >"$RESULTS"

# new_database ENGINE NAME: prints the URL of a new, empty database.
new_database() {
    case $1 in
        sqlite) echo "sqlite://$WORK/$2.db" ;;
        postgres)
            psql "$SITEGPT_TEST_POSTGRES_URL" -qc "CREATE DATABASE bench_$2"
            echo "${SITEGPT_TEST_POSTGRES_URL%/*}/bench_$2"
            ;;
    esac
}

# bench_user URL: creates the user and prints a token with account:read.
bench_user() {
    SITEGPT_DATABASE_URL=$1 $BIN admin create-user --create-database --email bench@example.com --password bench-password \
        --verified >/dev/null
    SITEGPT_DATABASE_URL=$1 $BIN admin create-token --email bench@example.com --name bench --scope account:read \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["plaintextToken"])'
}

# allowlisted_token URL: a second token of the bench user, usable from loopback only.
allowlisted_token() {
    SITEGPT_DATABASE_URL=$1 $BIN admin create-token --email bench@example.com --name loopback --scope account:read \
        --allow-ip 127.0.0.0/8 --allow-ip ::1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["plaintextToken"])'
}

cat >"$WORK/cycle.lua" <<'LUA'
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
    i = i % #tokens + 1
    return wrk.format("GET", "/api/v2/account", {["Authorization"] = "Bearer " .. tokens[i]})
end
LUA

rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

for engine in sqlite postgres; do
    small=$(new_database "$engine" small)
    big=$(new_database "$engine" big)
    small_token=$(bench_user "$small")
    big_token=$(bench_user "$big")
    allow_token=$(allowlisted_token "$small")
    echo "$engine: seeding $SMALL and $BIG tokens" >&2
    small_count=$(python3 bench/seed.py "$small" --random $((SMALL - 1)))
    big_count=$(python3 bench/seed.py "$big" --random $((BIG - KNOWN - 1)) --known "$KNOWN" \
        --plaintexts "$WORK/$engine.known")

    start_server "$small"; small_base=$BASE
    start_server "$big"; big_base=$BASE; big_pid=$SERVER_PID
    SITEGPT_TOKEN_CACHE=0 start_server "$big"; nocache_base=$BASE
    for base_token in "$small_base $small_token" "$big_base $big_token" "$small_base $allow_token"; do
        set -- $base_token
        status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1/api/v2/account")
        [ "$status" = 200 ] || { echo "$engine: authenticated request to $1 failed: $status" >&2; exit 1; }
    done
    rss_before=$(rss_mib "$big_pid")

    # Warm up, then interleave.
    run_wrk "$small_base/healthz" >/dev/null
    run_wrk "$small_base/api/v2/account" -H "Authorization: Bearer $small_token" >/dev/null
    run_wrk "$big_base/api/v2/account" -H "Authorization: Bearer $big_token" >/dev/null
    for round in $(seq "$ROUNDS"); do
        # Odd rounds go one way, even rounds the other, so drift cancels out.
        if [ $((round % 2)) = 1 ]; then
            h=$(run_wrk "$small_base/healthz")
            s=$(run_wrk "$small_base/api/v2/account" -H "Authorization: Bearer $small_token")
            a=$(run_wrk "$small_base/api/v2/account" -H "Authorization: Bearer $allow_token")
            b=$(run_wrk "$big_base/api/v2/account" -H "Authorization: Bearer $big_token")
        else
            b=$(run_wrk "$big_base/api/v2/account" -H "Authorization: Bearer $big_token")
            a=$(run_wrk "$small_base/api/v2/account" -H "Authorization: Bearer $allow_token")
            s=$(run_wrk "$small_base/api/v2/account" -H "Authorization: Bearer $small_token")
            h=$(run_wrk "$small_base/healthz")
        fi
        m=$(TOKENS_FILE="$WORK/$engine.known" run_wrk "$nocache_base/api/v2/account" -s "$WORK/cycle.lua")
        echo "$engine round $round: healthz ${h% *}, account ${s% *} (1k) ${b% *} (1M), no cache ${m% *}, allowlisted ${a% *} req/s" >&2
        echo "$engine $h $s $b $m $a" >>"$RESULTS"
    done
    # Fill the 1M server's cache with distinct tokens, then read its memory.
    TOKENS_FILE="$WORK/$engine.known" run_wrk "$big_base/api/v2/account" -s "$WORK/cycle.lua" >/dev/null
    echo "$engine rss $small_count $big_count $rss_before $(rss_mib "$big_pid")" >>"$RESULTS"
done

python3 - "$RESULTS" "$CONNECTIONS" "$DURATION" "$ROUNDS" <<'PY'
import sys
from collections import defaultdict
path, connections, duration, rounds = sys.argv[1:]
runs, memory = defaultdict(list), {}
for line in open(path):
    parts = line.split()
    if parts[1] == "rss":
        memory[parts[0]] = (int(parts[2]), int(parts[3]), float(parts[4]), float(parts[5]))
    else:
        runs[parts[0]].append(list(map(float, parts[1:])))
print(f"wrk: 1 thread, {connections} connections, {duration}s per measurement, {rounds} interleaved rounds")
print(f"{'engine':<10}{'measurement':<44}{'req/s':>10}{'p99 ms':>9}{'ratio':>8}  target")
for engine, rows in runs.items():
    mean = lambda i: sum(r[i] for r in rows) / len(rows)
    p99 = lambda i: max(r[i] for r in rows)
    small, big, _, after = memory[engine]
    h, s, b, m, a = mean(0), mean(2), mean(4), mean(6), mean(8)
    per_round = lambda i, j: ", ".join(f"{r[i] / r[j]:.2f}" for r in rows)
    print(f"{engine:<10}{'GET /healthz':<44}{h:>10.0f}{p99(1):>9.2f}")
    print(f"{'':<10}{f'GET /api/v2/account, {small:,} tokens':<44}{s:>10.0f}{p99(3):>9.2f}{s / h:>8.2f}  >= 0.90 of healthz ({per_round(2, 0)})")
    print(f"{'':<10}{f'GET /api/v2/account, {big:,} tokens':<44}{b:>10.0f}{p99(5):>9.2f}{b / s:>8.2f}  >= 0.90 of {small:,} ({per_round(4, 2)})")
    print(f"{'':<10}{'cache off, distinct tokens (every one read)':<44}{m:>10.0f}{p99(7):>9.2f}{m / h:>8.2f}  (of healthz)")
    print(f"{'':<10}{'GET /api/v2/account, allowlisted token':<44}{a:>10.0f}{p99(9):>9.2f}{a / h:>8.2f}  as the plain token ({per_round(8, 0)}; {a / s:.2f} of it)")
    print(f"{'':<10}{f'resident memory, {big:,} tokens, cache full':<44}{after:>9.1f}M{'':>9}{'':>8}  < 100 MiB (at start: {memory[engine][2]:.1f} MiB)")
PY
