# tests/it/health.rs runs fintechctl's Kafka check against tansu, a
# pure-Rust Kafka-protocol broker (in-memory storage): the healthy platform,
# a stopped broker, a broker requiring SASL, Metadata over TLS. There is no
# Debian package and no JVM here, so it is built from crates.io once per
# machine (about 12-13 minutes on 2 cores); an installed tansu is kept, so
# later runs pay nothing. The tests fail, naming this script, without it.
if ! command -v tansu >/dev/null 2>&1; then
  log "installing tansu 0.6.0 (cargo install; takes ~12-13 minutes, once per machine)"
  cargo install --locked tansu --version 0.6.0 --features dynostore
fi
