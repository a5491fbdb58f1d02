# tests/it/debug.rs drives `fintechctl debug shell` through a real terminal:
# tmux runs it, send-keys types, capture-pane reads the screen, resize-window
# resizes it. The test fails (naming this script) without it.
if ! command -v tmux >/dev/null 2>&1; then
  log "installing tmux (the debug shell test's terminal)"
  apt_install tmux
fi
