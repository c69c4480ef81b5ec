#!/usr/bin/env bash
# Source this file, then call `prometheus_ensure`: makes Debian's prometheus package (prometheus
# and promtool) available, installing it when missing (as root, or with passwordless sudo), and
# exports KIA_TEST_PROMETHEUS for the end-to-end scrape test. Returns non-zero (after saying so
# loudly) when Prometheus cannot be had. Never starts the packaged system service.

prometheus_ensure() {
  if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    echo "==> installing Prometheus (Debian package prometheus)"
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null || true
  fi
  if ! command -v prometheus >/dev/null 2>&1; then
    echo "!!! Prometheus (prometheus, promtool) is not available and could not be installed." >&2
    return 1
  fi
  export KIA_TEST_PROMETHEUS
  KIA_TEST_PROMETHEUS=$(command -v prometheus)
  echo "==> $(prometheus --version 2>&1 | head -1)"
}
