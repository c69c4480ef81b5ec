#!/usr/bin/env bash
# The crash-safety harness for a long run: many SIGKILL/restart cycles on SQLite and, when a
# PostgreSQL server can be had, on PostgreSQL.
#   bash scripts/crash.sh [CYCLES]        (default 200; the normal suite runs 12)
# KIA_CRASH_SEED=N replays the kill moments of an earlier run (each run prints its seed).
set -euo pipefail
cd "$(dirname "$0")/.."

export KIA_CRASH_CYCLES="${1:-200}"
# shellcheck source=scripts/throwaway-postgres.sh
source scripts/throwaway-postgres.sh
throwaway_postgres_start || echo "!!! PostgreSQL is not available: SQLite only" >&2
cargo test -p kia --test e2e crash -- --nocapture
