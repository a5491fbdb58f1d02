# tests/health.rs runs a real PostgreSQL (initdb + pg_ctl into a temporary
# directory, psql for the test's own setup; as the `postgres` user when run
# as root) and a real redis-server, each on a free loopback port. The rust
# machine image ships PostgreSQL 15; Debian's packages are the fallback.
# Measured on a shared 2-core machine: redis-server ~10 s (apt, after update).
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  log "installing postgresql (initdb, pg_ctl, psql)"
  apt_install postgresql
fi
if ! command -v redis-server >/dev/null 2>&1; then
  log "installing redis-server"
  apt_install redis-server
fi
redis-server --version 2>/dev/null | head -1 >&2 || true
