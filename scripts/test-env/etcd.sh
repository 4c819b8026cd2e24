# etcd v3 (Debian's etcd-server), for the etcd discovery backend: one member on the bridge.
# Publishes "etcd": { "endpoint": "<bridgeIp>:<port>" } in env.json.
SERVICES+=(etcd)
PACKAGES+=(etcd-server)

etcd_start() {
  ETCD_PORT=$(free_port "${REDIS_PORT:-}")
  ETCD_PEER_PORT=$(free_port "$ETCD_PORT")
  local dir=$RUN/etcd
  mkdir -p "$dir"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$dir/etcd.pid" \
    etcd --name "$NAME-etcd" --data-dir "$dir/data" \
    --listen-client-urls "http://$BRIDGE_IP:$ETCD_PORT" --advertise-client-urls "http://$BRIDGE_IP:$ETCD_PORT" \
    --listen-peer-urls "http://$BRIDGE_IP:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://$BRIDGE_IP:$ETCD_PEER_PORT" \
    --initial-cluster "$NAME-etcd=http://$BRIDGE_IP:$ETCD_PEER_PORT" \
    9<&- </dev/null >>"$dir/etcd.log" 2>&1 &
}

etcd_port() { echo "${ETCD_PORT:-${HBT_ETCD_PORT:-}}"; }

etcd_ok() {
  local port
  port=$(etcd_port)
  [ -n "$port" ] || return 1
  timeout --foreground 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"; printf "GET /health HTTP/1.0\r\n\r\n" >&3; exec cat <&3' \
    "$BRIDGE_IP" "$port" 2>/dev/null | grep -q '"health":"true"'
}

etcd_wait() {
  local deadline=$(($(now_ms) + 30000))
  until etcd_ok; do
    if [ "$(now_ms)" -gt $deadline ]; then
      tail -n 30 "$RUN/etcd/etcd.log" >&2 || true
      die "etcd did not answer on $BRIDGE_IP:$(etcd_port) (log: $RUN/etcd/etcd.log)"
    fi
    sleep 0.1
  done
}

etcd_state_sh() {
  echo "export HBT_ETCD_PORT='$(etcd_port)'"
  echo "export HBT_ETCD_ENDPOINT='$BRIDGE_IP:$(etcd_port)'"
}

etcd_state_json() {
  echo "\"etcd\": { \"endpoint\": \"$BRIDGE_IP:$(etcd_port)\" }"
}

etcd_status() {
  if etcd_ok; then echo "etcd       $BRIDGE_IP:$(etcd_port) ok"; else echo "etcd       $BRIDGE_IP:$(etcd_port) DOWN"; fi
}
