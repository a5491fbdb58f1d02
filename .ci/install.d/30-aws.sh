# tests/it/cloud.rs runs the AWS CLI's `eks update-kubeconfig` against moto's
# EKS API (`moto_server`); AWS_ENDPOINT_URL needs AWS CLI v1 >= 1.29 or v2 >= 2.13.
if ! python3 -c 'import moto.server' >/dev/null 2>&1; then
  log "installing moto[server]"
  pip install --quiet 'moto[server]'
fi
if ! command -v aws >/dev/null 2>&1; then
  log "installing the AWS CLI (awscli)"
  pip install --quiet awscli
fi
aws --version 2>&1 | head -1 >&2 || true
