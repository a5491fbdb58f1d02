# tests/it/alerts.rs runs a real Prometheus (Debian's 2.42; its build lacks
# kubernetes_sd_configs, so the tests use a static scrape config) with the
# rendered alert rules, scraping a test exporter.
if ! command -v prometheus >/dev/null 2>&1; then
  log "installing prometheus"
  apt_install prometheus
fi
prometheus --version 2>&1 | head -1 >&2 || true
