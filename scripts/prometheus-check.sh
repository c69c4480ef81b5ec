#!/usr/bin/env bash
# A real Prometheus against a real daemon: checks deploy/prometheus.yml with promtool, then runs
# the end-to-end test in which Prometheus scrapes a daemon that served each service, ingests
# every metric the Grafana dashboards use, and evaluates every dashboard query.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/prometheus.sh
source scripts/prometheus.sh
prometheus_ensure
promtool check config deploy/prometheus.yml
cargo test -p kia --test e2e --locked -- --exact \
  operations::a_real_prometheus_scrapes_the_daemon_and_runs_every_dashboard_query
