# shellcheck shell=bash
# A private image registry (Docker Distribution v2, Debian's docker-registry) on the bridge, with
# htpasswd basic auth (bcrypt; user and password generated at set-up) and deletes enabled. The engines
# are told it is insecure (plain HTTP). Sourced by scripts/test-env.sh.
SERVICES+=(registry)
PACKAGES+=(docker-registry apache2-utils)

registry_start() {
  local dir=$RUN/registry
  mkdir -p "$dir/storage"
  REGISTRY_PORT=$(free_port "${REDIS_PORT:-}")
  REGISTRY_USER=hbtest
  REGISTRY_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  htpasswd -nbB "$REGISTRY_USER" "$REGISTRY_PASSWORD" | grep -v '^$' >"$dir/htpasswd"
  cat >"$dir/registry.yml" <<YML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $dir/storage }
  delete: { enabled: true }
http:
  addr: $BRIDGE_IP:$REGISTRY_PORT
  secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
auth:
  htpasswd: { realm: humpback-test, path: $dir/htpasswd }
YML
  setsid docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 </dev/null 9<&- &
}

# After a reload (status, repair) the values come back from env.sh.
registry_vars() {
  REGISTRY_PORT=${REGISTRY_PORT:-${HBT_REGISTRY_PORT:-}}
  REGISTRY_USER=${REGISTRY_USER:-${HBT_REGISTRY_USER:-}}
  REGISTRY_PASSWORD=${REGISTRY_PASSWORD:-${HBT_REGISTRY_PASSWORD:-}}
}

registry_ok() {
  registry_vars
  [ -n "$REGISTRY_PORT" ] || return 1
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$BRIDGE_IP:$REGISTRY_PORT/v2/" 2>/dev/null) || return 1
  [ "$code" = 401 ]
}

registry_wait() {
  local deadline=$(($(now_ms) + 15000))
  until registry_ok; do
    [ "$(now_ms)" -lt $deadline ] || die "the registry did not answer on $BRIDGE_IP:$REGISTRY_PORT (see $RUN/registry/registry.log)"
    sleep 0.1
  done
}

registry_daemon_json() {
  registry_vars
  echo "\"insecure-registries\": [\"$BRIDGE_IP:$REGISTRY_PORT\"]"
}

registry_state_sh() {
  registry_vars
  echo "export HBT_REGISTRY_PORT='$REGISTRY_PORT'"
  echo "export HBT_REGISTRY_USER='$REGISTRY_USER'"
  echo "export HBT_REGISTRY_PASSWORD='$REGISTRY_PASSWORD'"
}

registry_state_json() {
  registry_vars
  echo "\"registry\": { \"address\": \"$BRIDGE_IP:$REGISTRY_PORT\", \"username\": \"$REGISTRY_USER\", \"password\": \"$REGISTRY_PASSWORD\" }"
}

registry_status() {
  if registry_ok; then echo "registry   $BRIDGE_IP:$REGISTRY_PORT ok"; else
    echo "registry   $BRIDGE_IP:${REGISTRY_PORT:-?} DOWN"
  fi
}
