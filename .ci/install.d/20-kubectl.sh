# kube-sim's fidelity tests drive the real kubectl ($KUBECTL, else the one on
# PATH). Machines of this kind ship one at /usr/bin/kubectl (a dispatcher that
# runs the version matching the server, 1.33 here). Debian's kubernetes-client
# is the only other package source, and it is kubectl 1.20: too old for exec
# over websockets and OpenAPI v3, so the kubectl tests fail with it -- said
# here so the cause is plain.
if [ -z "${KUBECTL:-}" ] && ! command -v kubectl >/dev/null 2>&1; then
  log "kubectl missing: installing Debian's kubernetes-client (1.20; kube-sim's kubectl tests need >= 1.29)"
  apt_install kubernetes-client
fi
"${KUBECTL:-kubectl}" version --client 2>/dev/null | head -1 >&2 || true
