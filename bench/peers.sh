#!/usr/bin/env bash
# sitegpt-server beside its peers on loopback, every ratio from one run:
#
# - oidc-provider 9 (Node, npm; device codes and tokens in memory):
#   device authorization, a pending token poll, introspection;
# - a bare axum server that SHA-256-hashes the bearer token and looks it up
#   in a hash map (bench/bare-lookup): the floor for an authenticated GET;
# - this server's own GET /healthz;
# - a length control: the bare server answering ready-made bodies as long
#   as this server's account read and /healthz, and doing nothing else.
#   The account read's answer is twelve times /healthz's, and on loopback
#   every byte costs the kernel a copy into the socket and the client a
#   read; the control's ratio is that cost alone, in the same run, so the
#   account/healthz ratio can be read against it.
#
# On SQLite, then on PostgreSQL (started by the script). Device
# authorizations come from a different forwarded address each (the server
# trusts loopback as its proxy here), so the per-address limit does not
# answer them instead of the store. A pending poll polls one device code as
# fast as it can: this server answers `slow_down` (and records the longer
# interval, as RFC 8628 asks), oidc-provider `authorization_pending`.
#
# Five interleaved rounds (ROUNDS) by default: one round's ratio of two
# runs seconds apart varies by a few percent on a shared machine, and the
# median of five settles where three does not.
#
# wrk runs one thread with 64 connections (CONNECTIONS), as in the
# measurements these ratios were first set against: enough requests in
# flight that writes queue for the SQLite writer and commit in groups, as
# they do on a busy server. Node's single thread serves oidc-provider alike
# at 32 or 64.
#
#   bash bench/peers.sh
#   DURATION=3 ROUNDS=3 ENGINES=sqlite bash bench/peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-64}
ENGINES=${ENGINES:-"sqlite postgres"}
. bench/lib.sh
if [[ " $ENGINES " == *" postgres "* ]]; then
    . scripts/postgres.sh
    # As deployed: every commit synced (fsync, synchronous_commit on).
    PG_DURABLE=1 pg_start >/dev/null
fi
trap cleanup EXIT

echo "building bench/bare-lookup and installing oidc-provider" >&2
cargo build --release --quiet --manifest-path bench/bare-lookup/Cargo.toml
(cd bench/peers && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
    for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "$1 did not answer" >&2
    exit 1
}
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# The peers, started once for both engines.
OIDC_PORT=$(free_port)
OIDC="http://127.0.0.1:$OIDC_PORT"
node bench/peers/oidc-provider.mjs "$OIDC_PORT" >"$WORK/oidc.log" 2>&1 &
SERVER_PIDS+=("$!")
wait_for "$OIDC/.well-known/openid-configuration"
# The bare lookup starts beside the first engine's server, once the lengths
# of that server's answers are known (its length control mirrors them).
BARE_PORT=
start_bare() {
    BARE_PORT=$(free_port)
    bench/bare-lookup/target/release/bare-lookup "$BARE_PORT" 1000 "$1" "$2" >"$WORK/bare.token" &
    SERVER_PIDS+=("$!")
    wait_for "http://127.0.0.1:$BARE_PORT/account"
    BARE_TOKEN=$(head -1 "$WORK/bare.token")
}

OIDC_DEVICE=$(curl -fsS -d client_id=bench-device -d scope=openid "$OIDC/device/auth" | json_field device_code)
OIDC_TOKEN=$(curl -fsS -u bench-rs:bench-introspection-secret -d grant_type=client_credentials -d scope=api \
    "$OIDC/token" | json_field access_token)
post_script "$WORK/oidc-device.lua" "client_id=bench-device&scope=openid"
post_script "$WORK/oidc-poll.lua" \
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=bench-device&device_code=$OIDC_DEVICE"
post_script "$WORK/oidc-introspect.lua" "token=$OIDC_TOKEN"
echo 'wrk.headers["Authorization"] = "Basic '"$(printf bench-rs:bench-introspection-secret | base64)"'"' \
    >>"$WORK/oidc-introspect.lua"

cat >"$WORK/device.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "client_id=sitegpt-cli&scope=account:read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
    wrk.headers["X-Forwarded-For"] =
        string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
    return wrk.format()
end
LUA

export SITEGPT_TRUSTED_PROXIES=127.0.0.1/32
export SITEGPT_INTROSPECTION_CLIENTS=bench-rs:bench-introspection-secret

RESULTS="$WORK/results"
: >"$RESULTS"
for engine in $ENGINES; do
    case $engine in
        sqlite) url="" ;;
        postgres)
            psql "$SITEGPT_TEST_POSTGRES_URL" -qc "CREATE DATABASE bench_peers"
            url="${SITEGPT_TEST_POSTGRES_URL%/*}/bench_peers"
            ;;
    esac
    start_server "$url"
    SITEGPT_DATABASE_URL=$url $BIN admin create-user --email bench@example.com --password bench-password \
        --verified >/dev/null
    token=$(SITEGPT_DATABASE_URL=$url $BIN admin create-token --email bench@example.com --name bench \
        --scope account:read | json_field plaintextToken)
    device=$(curl -fsS -d client_id=sitegpt-cli "$BASE/oauth/device_authorization" | json_field device_code)
    post_script "$WORK/poll.lua" \
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&client_id=sitegpt-cli&device_code=$device"
    if [ -z "$BARE_PORT" ]; then
        body_length() { curl -fsS -o /dev/null -w '%{size_download}' "$@"; }
        start_bare "$(body_length "$BASE/healthz")" \
            "$(body_length -H "Authorization: Bearer $token" "$BASE/api/v2/account")"
    fi
    post_script "$WORK/introspect.lua" "token=$token"
    echo 'wrk.headers["Authorization"] = "Basic '"$(printf bench-rs:bench-introspection-secret | base64)"'"' \
        >>"$WORK/introspect.lua"
    # Warm up what the ratios compare: the first run of each path also pays
    # its cold code and the token's first lookup and recorded use.
    run_wrk "$BASE/healthz" >/dev/null
    run_wrk "$BASE/api/v2/account" -H "Authorization: Bearer $token" >/dev/null
    for round in $(seq "$ROUNDS"); do
        h=$(run_wrk "$BASE/healthz")
        a=$(run_wrk "$BASE/api/v2/account" -H "Authorization: Bearer $token")
        b=$(run_wrk "http://127.0.0.1:$BARE_PORT/account" -H "Authorization: Bearer $BARE_TOKEN")
        # The same request to each, so only the answer's length differs.
        s=$(run_wrk "http://127.0.0.1:$BARE_PORT/short" -H "Authorization: Bearer $BARE_TOKEN")
        l=$(run_wrk "http://127.0.0.1:$BARE_PORT/long" -H "Authorization: Bearer $BARE_TOKEN")
        d=$(run_wrk "$BASE/oauth/device_authorization" -s "$WORK/device.lua")
        od=$(run_wrk "$OIDC/device/auth" -s "$WORK/oidc-device.lua")
        p=$(run_wrk "$BASE/oauth/token" -s "$WORK/poll.lua")
        op=$(run_wrk "$OIDC/token" -s "$WORK/oidc-poll.lua")
        i=$(run_wrk "$BASE/oauth/introspect" -s "$WORK/introspect.lua")
        oi=$(run_wrk "$OIDC/token/introspection" -s "$WORK/oidc-introspect.lua")
        echo "$engine $round $h $a $b $d $od $p $op $i $oi $s $l" >>"$RESULTS"
        echo "$engine round $round: healthz ${h% *}, account ${a% *}, bare ${b% *}, device ${d% *} (oidc ${od% *})," \
            "poll ${p% *} (oidc ${op% *}), introspect ${i% *} (oidc ${oi% *}) req/s" >&2
    done
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
done

python3 - "$RESULTS" "$CONNECTIONS" "$DURATION" "$ROUNDS" <<'PY'
import statistics, sys
path, connections, duration, rounds = sys.argv[1:]
rows = {}
for line in open(path):
    engine, _, *values = line.split()
    rows.setdefault(engine, []).append(list(map(float, values)))
names = ["healthz", "account", "bare", "device", "oidc device", "poll", "oidc poll", "introspect", "oidc introspect",
         "short", "long"]
print(f"wrk: 1 thread, {connections} connections, {duration}s per measurement, {rounds} interleaved rounds;"
      " each ratio from one round, median of the rounds, then every round")
print(f"{'engine':<9}{'measurement':<44}{'req/s':>9}{'p99 ms':>9}{'ratio':>8}  target  (rounds)")
for engine, runs in rows.items():
    def rate(name, run): return run[2 * names.index(name)]
    def p99(name, run): return run[2 * names.index(name) + 1]
    def line(label, name, over=None, target=""):
        rps = statistics.median(rate(name, r) for r in runs)
        worst = max(p99(name, r) for r in runs)
        ratio = ""
        if over:
            each = [rate(name, r) / rate(over, r) for r in runs]
            ratio = f"{statistics.median(each):>8.2f}  {target:<7} ({', '.join(f'{x:.2f}' for x in each)})"
        print(f"{engine if label.startswith('GET /healthz') else '':<9}{label:<44}{rps:>9.0f}{worst:>9.2f}{ratio}")
    line("GET /healthz", "healthz")
    line("GET /api/v2/account / healthz", "account", "healthz", ">= 0.95")
    line("GET /api/v2/account / bare axum lookup", "account", "bare", ">= 0.8")
    line("length control: account's / healthz's", "long", "short", "context")
    line("POST /oauth/device_authorization", "device", "oidc device", ">= 5")
    line("POST /oauth/token, pending poll", "poll", "oidc poll", ">= 10")
    line("POST /oauth/introspect", "introspect", "oidc introspect", "holds")
print("(the ratio's divisor: this server's /healthz, the bare lookup, or oidc-provider's same endpoint)")
print("(length control: the bare server answering ready-made bodies as long as this server's account read and")
print(" /healthz, with no other work: what the longer answer alone costs here, in the kernel and the client)")
PY
