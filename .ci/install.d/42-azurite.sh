# tests/it/backup.rs exercises the Azure Blob store against Azurite (the
# Azure Storage emulator, from npm), started with --skipApiVersionCheck.
if ! command -v azurite-blob >/dev/null 2>&1; then
  if ! command -v npm >/dev/null 2>&1; then
    log "installing npm (for Azurite)"
    apt_install npm
  fi
  log "installing azurite (npm)"
  npm install --global --silent azurite >/dev/null 2>&1 || npm install --global azurite
fi
