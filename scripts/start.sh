#!/usr/bin/env bash
# Starts Humpback on this machine (all-in-one: gateway + local agent, embedded store):
#   bash scripts/start.sh [humpback up options]
# Installs npm dependencies if missing and builds. If no Docker Engine answers at DOCKER_ENDPOINT
# (default unix:///var/run/docker.sock), installs docker.io from Debian's packages when dockerd is
# missing and starts it (needs root), logging to .humpback/dockerd.log; Ctrl-C then stops that engine
# too (an engine that was already running is left running). Installs busybox-static when missing, so
# that `humpback up` can offer a first image without any registry. Checks the engine (`humpback
# engine-check`: which network modes work) before it calls it ready, then runs `humpback up`.
# Beside another engine and Humpback: DOCKER_ENDPOINT=unix:///<own>.sock (its state then goes next to
# the socket, in engine/), HUMPBACK_LISTEN, DOCKER_NODE_HTTPADDR and HUMPBACK_DATA_DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

log() { printf 'start: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

export DOCKER_ENDPOINT=${DOCKER_ENDPOINT:-unix:///var/run/docker.sock}

# Asks the engine's /_ping with Node (always present here; the docker CLI may not be).
engine_answers() {
  node -e '
    const http = require("node:http");
    const endpoint = process.argv[1];
    let target;
    if (endpoint.startsWith("unix://")) target = { socketPath: endpoint.slice("unix://".length) };
    else {
      const url = new URL(endpoint.replace(/^tcp:/, "http:"));
      target = { host: url.hostname, port: url.port || 2375 };
    }
    const req = http.get({ ...target, path: "/_ping", timeout: 2000 }, (res) => process.exit(res.statusCode === 200 ? 0 : 1));
    req.on("error", () => process.exit(1));
    req.on("timeout", () => { req.destroy(); process.exit(1); });
  ' "$DOCKER_ENDPOINT"
}

# Waits up to 30 s for the engine; fails early if dockerd ($1) exits.
wait_for_engine() {
  local pid=$1 i
  for i in $(seq 1 300); do
    engine_answers && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start_engine() {
  case "$DOCKER_ENDPOINT" in
    unix://*) ;;
    *) die "no Docker Engine answers at DOCKER_ENDPOINT=$DOCKER_ENDPOINT; start it, or unset DOCKER_ENDPOINT to let this script run one on the default socket" ;;
  esac
  [ "$(id -u)" -eq 0 ] || die "no Docker Engine answers at $DOCKER_ENDPOINT, and starting one needs root"
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing Docker Engine (docker.io) from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq install -y docker.io >/dev/null
  fi
  mkdir -p .humpback
  local logfile=.humpback/dockerd.log socket=${DOCKER_ENDPOINT#unix://} args=(-H "$DOCKER_ENDPOINT")
  if [ "$DOCKER_ENDPOINT" != unix:///var/run/docker.sock ]; then
    # Another socket than the default: keep this engine's state apart, next to its socket.
    mkdir -p "$(dirname "$socket")"
    ENGINE_STATE="$(cd "$(dirname "$socket")" && pwd)/engine"
    mkdir -p "$ENGINE_STATE"
    args+=(--data-root "$ENGINE_STATE/data" --exec-root "$ENGINE_STATE/exec" --pidfile "$ENGINE_STATE/docker.pid")
  fi
  log "no Docker Engine answers at $DOCKER_ENDPOINT: starting dockerd (logs in $logfile)"
  setsid dockerd "${args[@]}" </dev/null >>"$logfile" 2>&1 &
  DOCKERD_PID=$!
  if wait_for_engine $!; then return 0; fi
  kill $! 2>/dev/null || true
  wait $! 2>/dev/null || true
  # Machines without working iptables (containers, sandboxes) cannot have the default bridge network.
  log "dockerd did not come up with default networking; retrying without iptables and the bridge" \
    "(containers then use host or none networking)"
  setsid dockerd "${args[@]}" --iptables=false --bridge=none </dev/null >>"$logfile" 2>&1 &
  DOCKERD_PID=$!
  wait_for_engine $! || {
    tail -n 20 "$logfile" >&2
    die "dockerd did not start; see $logfile"
  }
}

if [ ! -d node_modules ]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
# HUMPBACK_FROM_SOURCE=1: no build, run bin/humpback.ts with tsx (the UI is served only if web/dist exists).
if [ "${HUMPBACK_FROM_SOURCE:-0}" = 1 ]; then
  HUMPBACK=(node --import tsx bin/humpback.ts)
else
  npm run build
  HUMPBACK=(node dist/bin/humpback.js)
fi

if ! command -v busybox >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  log "installing busybox-static from Debian's packages (for an offline first image)"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq install -y busybox-static >/dev/null ||
    log "could not install busybox-static; humpback up cannot offer a first image"
fi

# The engine is ours: stop it when Humpback stops (Ctrl-C, SIGTERM or an exit). dockerd gives its
# containers up to 15 s (its --shutdown-timeout) before it kills them: wait a little longer.
stop_engine() {
  kill -0 "$DOCKERD_PID" 2>/dev/null || return 0
  log "stopping the Docker Engine this script started (pid $DOCKERD_PID; its containers stop with it)"
  kill "$DOCKERD_PID" 2>/dev/null || true
  for _ in $(seq 1 250); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$DOCKERD_PID" 2>/dev/null || true
  # dockerd leaves its netns mount under its own exec root: unmount what it left there.
  [ -n "$ENGINE_STATE" ] || return 0
  local m
  for m in $(awk -v root="$ENGINE_STATE/exec/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# Before the engine is called ready: that it answers and which network modes work (bridge is tried
# with a throwaway container), one implementation with humpback up's banner.
engine_check() {
  "${HUMPBACK[@]}" engine-check | sed 's/^/start: /' >&2
}

DOCKERD_PID= ENGINE_STATE=
if engine_answers; then
  engine_check
  log "Docker Engine ready at $DOCKER_ENDPOINT (already running: Ctrl-C leaves it running)"
  exec "${HUMPBACK[@]}" up "$@"
fi
# The engine is ours from here: stop it on any exit (also Ctrl-C or a failed check).
trap stop_engine EXIT
start_engine
engine_check || die "the Docker Engine at $DOCKER_ENDPOINT failed its check; see .humpback/dockerd.log"
log "Docker Engine ready at $DOCKER_ENDPOINT (started by this script, pid $DOCKERD_PID): Ctrl-C stops Humpback and this engine"

interrupted=0
trap 'interrupted=1; kill -INT "$HUMPBACK_PID" 2>/dev/null || true' INT TERM
"${HUMPBACK[@]}" up --stops-engine "$@" 0<&0 &
HUMPBACK_PID=$!
status=0
wait "$HUMPBACK_PID" || status=$?
# A signal interrupts the wait (status 128+n): wait again for humpback's own exit status.
while [ "$interrupted" = 1 ]; do
  interrupted=0 status=0
  wait "$HUMPBACK_PID" || status=$?
done
exit "$status"
