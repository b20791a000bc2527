#!/usr/bin/env bash
# Runs schemathesis (from PyPI) against a live sitepulse-server built from
# this tree: every operation of /api/v1/openapi.json is fuzzed with a token
# holding every scope, in a team whose owner it is, and the run fails on any
# 5xx or any answer that does not match the document. Checks are not run
# (SITEPULSE_RUN_CHECKS=false), so the records stay as the fuzzer leaves them.
#
# With SCHEMATHESIS_DATABASE_URL (an empty PostgreSQL database) the server
# runs on it; otherwise on SQLite in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v st >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check schemathesis
BIN=${SITEPULSE_SERVER_BIN:-target/debug/sitepulse-server}
[ -x "$BIN" ] || cargo build --locked --quiet --bin sitepulse-server
WORK=$(mktemp -d)
export SITEPULSE_DATA_DIR="$WORK/data" SITEPULSE_LOG=warn SITEPULSE_RUN_CHECKS=false
if [ -n "${SCHEMATHESIS_DATABASE_URL:-}" ]; then export SITEPULSE_DATABASE_URL=$SCHEMATHESIS_DATABASE_URL; fi
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }
$BIN admin create-user --email fuzz@example.com --password fuzz-password --verified >/dev/null
TEAM=$($BIN admin create-team --owner-email fuzz@example.com --name Fuzzed --max-sites 1000 | json '["team"]["id"]')
TOKEN=$($BIN admin create-token --email fuzz@example.com --name fuzz \
    --scope teams:read,teams:write,sites:read,sites:write,sites:delete,checks:read,checks:run,checks:delete,issues:read \
    | json '["plaintext_token"]')

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SITEPULSE_LISTEN="127.0.0.1:$PORT" $BIN serve 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz')" 2>/dev/null && break
    sleep 0.1
done

# Real records for the path parameters, so the fuzzer reaches past 404.
api() { # METHOD PATH BODY → data.id
    python3 - "$1" "http://127.0.0.1:$PORT$2" "$3" "$TOKEN" <<'PY'
import json, sys, urllib.request
method, url, body, token = sys.argv[1:]
request = urllib.request.Request(url, data=body.encode() if body else None, method=method,
    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"})
print(json.load(urllib.request.urlopen(request))["data"]["id"])
PY
}
SITE=$(api POST "/api/v1/teams/$TEAM/sites" '{"name":"Fuzzed site","url":"https://fuzz.example.com/"}')
CHECK=$(api POST "/api/v1/sites/$SITE/checks" '')
cat >"$WORK/schemathesis.toml" <<TOML
[parameters]
"path.team" = "$TEAM"
"path.site" = "$SITE"
"path.check" = "$CHECK"
TOML

st --config-file "$WORK/schemathesis.toml" run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
    -H "Authorization: Bearer $TOKEN" -H "Accept: application/json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --phases examples,fuzzing,stateful \
    --max-examples "${MAX_EXAMPLES:-25}" \
    --seed "${SEED:-7}" \
    --workers 2
if grep -q '"level":"ERROR"' "$WORK/server.log"; then
    echo "the server logged errors:" >&2
    cat "$WORK/server.log" >&2
    exit 1
fi
