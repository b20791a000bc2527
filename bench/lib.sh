# Shared by the benchmarks: build and start the release server on a free
# port with a fresh data directory, run wrk, and parse its report.
# Source it from a benchmark script after `cd` to the repository root.

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need sqlite3 || ! need curl; then
    echo "installing wrk, sqlite3 and curl" >&2
    apt-get update -qq && apt-get install -y -qq wrk sqlite3 curl >/dev/null
fi

DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}

# BENCH_BIN measures another build of the server (say, an older commit's)
# with the same script.
if [ -n "${BENCH_BIN:-}" ]; then
    BIN=$BENCH_BIN
else
    cargo build --release --quiet --bin sitegpt-server
    BIN=target/release/sitegpt-server
fi
WORK=$(mktemp -d)
# BENCH_LOG=info measures with the access log on (one line per request).
export SITEGPT_DATA_DIR="$WORK/data" SITEGPT_LOG=${BENCH_LOG:-warn}
unset SITEGPT_DATABASE_URL SITEGPT_PUBLIC_URL
SERVER_PID=
SERVER_PIDS=()
cleanup() {
    for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    if declare -F pg_stop >/dev/null; then pg_stop; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# start_server [DATABASE_URL]: a server on a free port (on the data
# directory's SQLite file, or on DATABASE_URL); sets BASE and SERVER_PID.
start_server() {
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    BASE="http://127.0.0.1:$PORT"
    SITEGPT_DATABASE_URL=${1:-} SITEGPT_LISTEN="127.0.0.1:$PORT" $BIN serve 2>"$WORK/server-$PORT.log" &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    for _ in $(seq 100); do
        curl -fsS "$BASE/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the server did not start" >&2
    cat "$WORK/server-$PORT.log" >&2
    exit 1
}

# run_wrk URL [wrk options…]: prints "requests/s p99-ms".
run_wrk() {
    local url=$1
    shift
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url" | python3 -c '
import re, sys
text = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
print(f"{rps:.0f} {ms:.3f}")
'
}

# A wrk Lua script that POSTs a form body: post_script FILE BODY
post_script() {
    cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = "$2"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
}
