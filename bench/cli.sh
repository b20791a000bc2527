#!/usr/bin/env bash
# The CLI end to end against `curl` of the same route, timed by hyperfine in
# one run: `sitegpt whoami --json` (target: within 1.5 x curl's time) and
# `sitegpt chatbots list --json` with 20 chatbots.
#
#   bash bench/cli.sh
#   RUNS=100 bash bench/cli.sh
set -euo pipefail
cd "$(dirname "$0")/.."
need() { command -v "$1" >/dev/null 2>&1; }
need hyperfine || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --quiet --bin sitegpt
. bench/lib.sh

ACCOUNT=$($BIN admin create-user --create-database --email bench@example.com --password bench-password --verified \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["accountId"])')
for i in $(seq 20); do $BIN admin create-chatbot --account-id "$ACCOUNT" --name "bench $i" >/dev/null; done
TOKEN=$($BIN admin create-token --email bench@example.com --name bench --scope account:read --scope chatbots:read \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["plaintextToken"])')
start_server
export XDG_CONFIG_HOME="$WORK/config" SITEGPT_API_URL="$BASE"
target/release/sitegpt login --token "$TOKEN" >/dev/null
printf 'Authorization: Bearer %s\n' "$TOKEN" >"$WORK/auth-header"

hyperfine --warmup 20 --runs "${RUNS:-300}" -N --export-json "$WORK/times.json" \
    "target/release/sitegpt whoami --json" \
    "curl -fsS -H @$WORK/auth-header $BASE/api/v2/account" \
    "target/release/sitegpt chatbots list --json" \
    "curl -fsS -H @$WORK/auth-header $BASE/api/v2/chatbots" >&2
python3 - "$WORK/times.json" <<'PY'
import json, sys
whoami, account, chatbots, listing = json.load(open(sys.argv[1]))["results"]
rows = [("sitegpt whoami --json", whoami), ("curl /api/v2/account", account),
        ("sitegpt chatbots list --json", chatbots), ("curl /api/v2/chatbots", listing)]
print(f"{'command':<32}{'mean ms':>10}{'stddev':>10}")
for name, r in rows:
    print(f"{name:<32}{r['mean'] * 1000:>10.2f}{r['stddev'] * 1000:>10.2f}")
print(f"ratio whoami/curl: {whoami['mean'] / account['mean']:.2f} (target <= 1.5)")
print(f"ratio chatbots list/curl: {chatbots['mean'] / listing['mean']:.2f}")
PY
