# tests/it/health.rs and tests/it/backup.rs run a real PostgreSQL 15 (initdb /
# pg_ctl in a temporary directory, as the postgres user when root) and its
# client tools (psql for the tests' own setup; pg_dump, pg_restore behind
# kube-sim's exec). Machines of this kind ship the
# server binaries linked into /usr/local/bin; elsewhere Debian's packages.
if ! command -v initdb >/dev/null 2>&1 || ! command -v pg_dump >/dev/null 2>&1; then
  log "installing PostgreSQL 15 (server and client)"
  apt_install postgresql-15 postgresql-client-15
  for bin in initdb pg_ctl postgres; do
    [ -e "/usr/local/bin/$bin" ] || as_root ln -s "/usr/lib/postgresql/15/bin/$bin" "/usr/local/bin/$bin"
  done
fi
if ! id postgres >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  log "creating the postgres user (initdb refuses to run as root)"
  as_root useradd --system --no-create-home postgres
fi
