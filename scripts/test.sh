#!/usr/bin/env bash
# Runs every check and test of the project on a fresh machine:
# formatting, lints, and the whole test suite (unit, property, store, API and
# binary tests). Installs what it needs when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }

if ! need cargo; then
    echo "cargo is required: install Rust from your distribution or rustup" >&2
    exit 1
fi
if ! need cc; then
    echo "installing a C compiler (for the bundled SQLite)" >&2
    apt-get update -qq && apt-get install -y -qq build-essential >/dev/null
fi
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy >/dev/null 2>&1 || true

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
