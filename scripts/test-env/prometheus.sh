# shellcheck shell=bash
# A Prometheus server (Debian's prometheus) on the bridge that scrapes whatever targets the tests put
# in its file_sd directory ($RUN/prometheus/targets/*.json, re-read every second), every 2 s. A test
# writes one file naming its gateway's host:port and removes it at the end. Sourced by
# scripts/test-env.sh.
SERVICES+=(prometheus)
PACKAGES+=(prometheus)

prometheus_start() {
  local dir=$RUN/prometheus
  mkdir -p "$dir/data" "$dir/targets"
  PROMETHEUS_PORT=$(free_port "${REDIS_PORT:-}")
  cat >"$dir/prometheus.yml" <<YML
global: { scrape_interval: 2s, evaluation_interval: 2s }
scrape_configs:
  - job_name: humpback
    metrics_path: /metrics
    file_sd_configs:
      - files: ['$dir/targets/*.json']
        refresh_interval: 1s
YML
  setsid prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="$BRIDGE_IP:$PROMETHEUS_PORT" --log.level=warn \
    >"$dir/prometheus.log" 2>&1 </dev/null 9<&- &
}

# After a reload (status, repair) the values come back from env.sh.
prometheus_vars() {
  PROMETHEUS_PORT=${PROMETHEUS_PORT:-${HBT_PROMETHEUS_PORT:-}}
}

prometheus_ok() {
  prometheus_vars
  [ -n "$PROMETHEUS_PORT" ] || return 1
  curl -sf -o /dev/null "http://$BRIDGE_IP:$PROMETHEUS_PORT/-/ready" 2>/dev/null
}

prometheus_wait() {
  local deadline=$(($(now_ms) + 30000))
  until prometheus_ok; do
    [ "$(now_ms)" -lt $deadline ] || die "Prometheus did not answer on $BRIDGE_IP:$PROMETHEUS_PORT (see $RUN/prometheus/prometheus.log)"
    sleep 0.2
  done
}

prometheus_state_sh() {
  prometheus_vars
  echo "export HBT_PROMETHEUS_PORT='$PROMETHEUS_PORT'"
}

prometheus_state_json() {
  prometheus_vars
  echo "\"prometheus\": { \"url\": \"http://$BRIDGE_IP:$PROMETHEUS_PORT\", \"targetsDir\": \"$RUN/prometheus/targets\" }"
}

prometheus_status() {
  if prometheus_ok; then echo "prometheus http://$BRIDGE_IP:$PROMETHEUS_PORT ok"; else
    echo "prometheus http://$BRIDGE_IP:${PROMETHEUS_PORT:-?} DOWN"
  fi
}
