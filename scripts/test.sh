#!/usr/bin/env bash
# Runs every check and test of the project on a fresh machine: formatting,
# lints, the Rust test suite (unit, property, store, API, OAuth and binary
# tests), schemathesis against the live API document, and the browser tests
# in headless Chromium; the store suite covers both engines, and the API, CLI,
# schemathesis and browser runs are repeated on PostgreSQL. Installs what it needs
# (a C compiler, PostgreSQL, Chromium, Node.js and the npm test tools, tmux
# for the terminal test of the CLI) when it is missing. Starts a throw-away
# PostgreSQL server on 127.0.0.1 for the tests of that engine, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }

if ! need cargo; then
    echo "cargo is required: install Rust from your distribution or rustup" >&2
    exit 1
fi
packages=()
need cc || packages+=(build-essential)
[ -x /usr/bin/chromium ] || packages+=(chromium)
need node || packages+=(nodejs)
need npm || packages+=(npm)
need tmux || packages+=(tmux)
if [ ${#packages[@]} -gt 0 ]; then
    echo "installing ${packages[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy >/dev/null 2>&1 || true

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== import loops in the server, the access core, the store, the CLI and SitePulse"
for crate in server access store cli sitepulse; do python3 scripts/import-loops.py "crates/$crate/src"; done
echo "== PostgreSQL for the tests"
source scripts/postgres.sh
pg_start

# A real SMTP server (aiosmtpd) receives the notice mails in the API tests.
python3 -c 'import aiosmtpd' 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check aiosmtpd
echo "== cargo test"
# The CLI tests run the server binary, so build every binary first.
cargo build --workspace --bins --locked
cargo test --workspace --locked
echo "== the API and CLI tests again, on PostgreSQL"
SITEGPT_TEST_ENGINE=postgres cargo test -p sitegpt-server --test api --locked
SITEGPT_TEST_ENGINE=postgres cargo test -p sitegpt-cli --test cli --locked

echo "== schemathesis against the API document"
bash scripts/schemathesis.sh
echo "== schemathesis again, on PostgreSQL"
psql "$SITEGPT_TEST_POSTGRES_URL" -qc "CREATE DATABASE schemathesis"
SCHEMATHESIS_DATABASE_URL="${SITEGPT_TEST_POSTGRES_URL%/*}/schemathesis" bash scripts/schemathesis.sh
echo "== schemathesis against SitePulse's API document, on SQLite and on PostgreSQL"
bash scripts/schemathesis-sitepulse.sh
psql "$SITEGPT_TEST_POSTGRES_URL" -qc "CREATE DATABASE schemathesis_sitepulse"
SCHEMATHESIS_DATABASE_URL="${SITEGPT_TEST_POSTGRES_URL%/*}/schemathesis_sitepulse" bash scripts/schemathesis-sitepulse.sh

echo "== browser tests (headless Chromium)"
(cd e2e && npm ci --no-audit --no-fund --loglevel=error && npm test)
echo "== browser tests again, on PostgreSQL"
(cd e2e && SITEGPT_E2E_POSTGRES_URL="$SITEGPT_TEST_POSTGRES_URL" npm test)
