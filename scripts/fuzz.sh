#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time (default 60 s each):
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
# libFuzzer needs nightly compiler flags (-Z sanitizer, -C passes=sancov); on a stable toolchain
# RUSTC_BOOTSTRAP=1 unlocks them. A crash leaves its input in fuzz/artifacts/<target>/: copy it
# into fuzz/corpus/<target>/ (the normal test suite replays that corpus) and fix the bug.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${1:-60}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=(decode_cases decode_screening decode_plans decode_contracting decode_alerts decode_audit icf_code rule_engine)
fi

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi

cd fuzz
for target in "${TARGETS[@]}"; do
  echo "==> fuzzing $target for ${SECONDS_EACH}s"
  # A scratch copy of the corpus: new interesting inputs stay out of the checked-in one.
  work="$(mktemp -d)"
  cp -r "corpus/$target/." "$work/"
  cargo fuzz run "$target" "$work" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048
  rm -rf "$work"
done
echo "==> no crash in ${#TARGETS[@]} targets"
