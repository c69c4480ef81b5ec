#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test on SQLite and on a throwaway
# PostgreSQL cluster. This is the command README.md gives and CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

# shellcheck source=scripts/throwaway-postgres.sh
source scripts/throwaway-postgres.sh
if ! throwaway_postgres_start; then
  if [ "${CI:-}" = "true" ]; then
    echo "!!! CI needs PostgreSQL for the conformance and end-to-end suites: failing." >&2
    exit 1
  fi
  echo "!!! ================================================================== !!!" >&2
  echo "!!! PostgreSQL is not available: the PostgreSQL half of the suite is   !!!" >&2
  echo "!!! SKIPPED on this machine. Only SQLite was tested.                   !!!" >&2
  echo "!!! ================================================================== !!!" >&2
fi

echo "==> cargo test"
cargo test --workspace --locked
