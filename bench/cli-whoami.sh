#!/usr/bin/env bash
# `sitegpt whoami --json` end to end against `curl` of the same endpoint,
# timed by hyperfine in one run (target: the CLI within 1.5 x curl's time).
#
#   bash bench/cli-whoami.sh
set -euo pipefail
cd "$(dirname "$0")/.."
need() { command -v "$1" >/dev/null 2>&1; }
need hyperfine || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --quiet --bin sitegpt
. bench/lib.sh

$BIN admin create-user --email bench@example.com --password bench-password --verified >/dev/null
TOKEN=$($BIN admin create-token --email bench@example.com --name bench --scope account:read \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["plaintextToken"])')
start_server
export XDG_CONFIG_HOME="$WORK/config" SITEGPT_API_URL="$BASE"
target/release/sitegpt login --token "$TOKEN" >/dev/null
printf 'Authorization: Bearer %s\n' "$TOKEN" >"$WORK/auth-header"

hyperfine --warmup 20 --runs "${RUNS:-300}" -N --export-json "$WORK/times.json" \
    "target/release/sitegpt whoami --json" \
    "curl -fsS -H @$WORK/auth-header $BASE/api/v2/account" >&2
python3 - "$WORK/times.json" <<'PY'
import json, sys
cli, curl = json.load(open(sys.argv[1]))["results"]
print(f"{'command':<28}{'mean ms':>10}{'stddev':>10}")
print(f"{'sitegpt whoami --json':<28}{cli['mean'] * 1000:>10.2f}{cli['stddev'] * 1000:>10.2f}")
print(f"{'curl /api/v2/account':<28}{curl['mean'] * 1000:>10.2f}{curl['stddev'] * 1000:>10.2f}")
print(f"ratio sitegpt/curl: {cli['mean'] / curl['mean']:.2f} (target <= 1.5)")
PY
