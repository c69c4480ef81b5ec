#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster in a temporary directory on a free loopback port.
# Source this file, then call `throwaway_postgres_start`; it exports KIA_TEST_POSTGRES_URL and
# registers its own stop on exit. Installs Debian's postgresql package when the server binaries
# are missing. Returns non-zero (after saying so loudly) when PostgreSQL cannot be had.

throwaway_postgres_bindir() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 \
    && { dirname "$(command -v initdb)"; return 0; }
  return 1
}

throwaway_postgres_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  echo "==> installing PostgreSQL server binaries (Debian package postgresql)"
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
}

throwaway_postgres_start() {
  local bindir
  if ! bindir=$(throwaway_postgres_bindir); then
    throwaway_postgres_install || true
    bindir=$(throwaway_postgres_bindir) || {
      echo "!!! PostgreSQL server binaries (initdb, pg_ctl) are not available and could not be installed." >&2
      return 1
    }
  fi

  # PostgreSQL refuses to run as root: run the cluster as the postgres user when we are root.
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    run=(runuser -u postgres --)
  fi

  PG_THROWAWAY_DIR=$(mktemp -d /tmp/kia-pg.XXXXXX)
  chmod 755 "$PG_THROWAWAY_DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres "$PG_THROWAWAY_DIR"
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

  "${run[@]}" "$bindir/initdb" -D "$PG_THROWAWAY_DIR/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$PG_THROWAWAY_DIR/initdb.log" 2>&1 || {
    cat "$PG_THROWAWAY_DIR/initdb.log" >&2
    return 1
  }
  # fsync=off: a test cluster need not survive power loss (kill -9 of a server process is
  # still safe: the OS keeps written pages). max_connections covers parallel test binaries.
  "${run[@]}" "$bindir/pg_ctl" -D "$PG_THROWAWAY_DIR/data" -l "$PG_THROWAWAY_DIR/server.log" -w \
    -o "-p $port -k $PG_THROWAWAY_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" \
    start >/dev/null || {
    cat "$PG_THROWAWAY_DIR/server.log" >&2
    return 1
  }
  PG_THROWAWAY_STOP=("${run[@]}" "$bindir/pg_ctl" -D "$PG_THROWAWAY_DIR/data" -m immediate stop)
  trap throwaway_postgres_stop EXIT
  export KIA_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "==> throwaway PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

throwaway_postgres_stop() {
  if [ -n "${PG_THROWAWAY_DIR:-}" ]; then
    "${PG_THROWAWAY_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_THROWAWAY_DIR"
    PG_THROWAWAY_DIR=""
  fi
}
