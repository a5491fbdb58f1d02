# tests/it/health.rs queries a real redis-server (PING, INFO) through the
# port-forward; tests/it/backup.rs runs one too (its RDB goes out through exec
# with `redis-cli --rdb -`, which needs redis-cli >= 7) and reads the store's
# parts back with the zstd command-line tool.
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  log "installing redis-server and redis-tools"
  apt_install redis-server redis-tools
fi
if ! command -v zstd >/dev/null 2>&1; then
  log "installing zstd"
  apt_install zstd
fi
