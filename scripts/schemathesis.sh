#!/usr/bin/env bash
# Runs schemathesis (from PyPI) against a live server built from this tree:
# every operation of /api/v2/openapi.json is fuzzed with a token holding every
# scope, and the run fails on any 5xx or any response that does not match the
# document. Rotating and revoking are left out: a fuzzer that found the
# calling token's own id would end its own session.
#
# With SCHEMATHESIS_DATABASE_URL (an empty PostgreSQL database) the server
# runs on it; otherwise on SQLite in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v st >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check schemathesis
BIN=${SITEGPT_SERVER_BIN:-target/debug/sitegpt-server}
[ -x "$BIN" ] || cargo build --locked --quiet --bin sitegpt-server
WORK=$(mktemp -d)
export SITEGPT_DATA_DIR="$WORK/data" SITEGPT_LOG=warn SITEGPT_DATABASE_URL=${SCHEMATHESIS_DATABASE_URL:-}
unset SITEGPT_PUBLIC_URL
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

json() { python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"])"; }
USER=$($BIN admin create-user --create-database --email fuzz@example.com --password fuzz-password --verified)
ACCOUNT=$(echo "$USER" | json accountId)
USER_ID=$(echo "$USER" | json userId)
CHATBOT=$($BIN admin create-chatbot --account-id "$ACCOUNT" --name "Fuzzed bot" | json chatbotId)
SCOPES=$(python3 -c 'print(" ".join("--scope " + s for s in """account:read account:write billing:read billing:write tokens:read tokens:write chatbots:read chatbots:write chatbots:delete knowledge:read knowledge:write knowledge:delete personas:read personas:write personas:delete instructions:read instructions:write instructions:delete settings:read settings:write starters:read starters:write starters:delete followups:read followups:write followups:delete conversations:read conversations:write conversations:delete leads:read leads:write leads:delete members:read members:write members:delete integrations:read integrations:write""".split()))')
# shellcheck disable=SC2086
TOKEN=$($BIN admin create-token --email fuzz@example.com --name fuzz $SCOPES | json plaintextToken)
# The same person as a whitelabel customer, for the deprecated v0 API.
$BIN admin set-whitelabel --account-id "$ACCOUNT" >/dev/null
BRAND=$($BIN admin create-brand --account-id "$ACCOUNT" --name "Fuzzed brand" | json brandId)
V0_KEY=$($BIN admin create-v0-key --email fuzz@example.com | json apiKey)

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SITEGPT_LISTEN="127.0.0.1:$PORT" $BIN serve 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 100); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz')" 2>/dev/null && break
    sleep 0.1
done

# Real records for the path parameters, so the fuzzer reaches past 404.
api() { # METHOD PATH BODY KEY [CREDENTIAL] → `data.<KEY>.id` (v2), or `data.<KEY>` (v0)
    python3 - "$1" "http://127.0.0.1:$PORT$2" "$3" "$4" "${5:-$TOKEN}" <<'PY'
import json, sys, urllib.request
method, url, body, key, token = sys.argv[1:]
request = urllib.request.Request(url, data=body.encode(), method=method,
    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
data = json.load(urllib.request.urlopen(request))["data"]
print(data[key] if isinstance(data[key], str) else data[key]["id"])
PY
}
ITEM=$(api POST "/api/v2/chatbots/$CHATBOT/knowledge" '{"type":"text","content":"Opening hours"}' knowledgeSource)
INTEGRATION=$(api POST /api/v2/integrations '{"type":"webhook","config":{"url":"https://hooks.example.com"}}' integration)
BRAND_USER=$(api POST "/api/v0/w/brands/$BRAND/users" '{"email":"brand-user@example.com"}' userId "$V0_KEY")
cat >"$WORK/v0.toml" <<TOML
[parameters]
"path.brandId" = "$BRAND"
"path.userId" = "$BRAND_USER"
TOML
cat >"$WORK/schemathesis.toml" <<TOML
[parameters]
"path.chatbotId" = "$CHATBOT"
"path.itemId" = "$ITEM"
"path.integrationId" = "$INTEGRATION"
"path.userId" = "$USER_ID"
TOML

st --config-file "$WORK/schemathesis.toml" run "http://127.0.0.1:$PORT/api/v2/openapi.json" \
    -H "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --exclude-path-regex '(/(rotate|revoke)$|^/api/v0/)' \
    --phases examples,fuzzing,stateful \
    --max-examples "${MAX_EXAMPLES:-25}" \
    --seed "${SEED:-7}" \
    --workers 2

echo "== schemathesis: the deprecated v0 API, with a whitelabel customer's v0 key"
st --config-file "$WORK/v0.toml" run "http://127.0.0.1:$PORT/api/v2/openapi.json" \
    -H "Authorization: Bearer $V0_KEY" \
    --include-path-regex '^/api/v0/' \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --phases examples,fuzzing \
    --max-examples "${MAX_EXAMPLES:-25}" \
    --seed "${SEED:-7}" \
    --workers 2
