#!/usr/bin/env bash
# The private test environment: one Redis, one ZooKeeper and three Docker engines, each engine in its
# own network namespace with its own IP on a bridge that exists only inside this machine. Nothing here
# touches services already running on the machine: own ports, sockets, data directories, cgroups.
#
#   bash scripts/test-env.sh up | down | status
#   bash scripts/test-env.sh engine-stop <n1|n2|n3> | engine-start <n1|n2|n3>
#   bash scripts/test-env.sh zk-stop | zk-start
#
# `up` publishes the addresses in .test-env/env.json and .test-env/env.sh (repo-relative).
# Needs root and a Debian-like machine; installs missing Debian packages once.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.test-env"
SELF="$ROOT/scripts/test-env.sh"

# Names chosen not to collide with anything a machine usually has. A second, independent environment
# can run beside the first with other names and addresses: HBT_NAME (2-4 letters, default hbt) and
# HBT_NET (a /24 prefix, default 10.77.0), e.g. HBT_NAME=hbc HBT_NET=10.78.0 in another checkout.
# An environment that is up keeps the names it was made with (recorded in .test-env/names).
if [ -f "$STATE/names" ]; then
  read -r REC_NAME REC_NET <"$STATE/names" || true
  HBT_NAME=${HBT_NAME:-$REC_NAME}
  HBT_NET=${HBT_NET:-$REC_NET}
fi
NAME=${HBT_NAME:-hbt}
NET=${HBT_NET:-10.77.0}
[[ $NAME =~ ^[a-z]{2,4}$ ]] || { echo "test-env: HBT_NAME must be 2-4 lowercase letters" >&2; exit 2; }
[[ $NET =~ ^10\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || { echo "test-env: HBT_NET must look like 10.77.0" >&2; exit 2; }
BRIDGE=${NAME}0
BRIDGE_IP=$NET.1
NS_PREFIX=$NAME-
VETH_PREFIX=${NAME}v-
NODES=(n1 n2 n3)
RUN_TEMPLATE=$NAME-env.XXXXXX
IMAGE=humpback-test/busybox
PACKAGES=(docker.io busybox-static zookeeper redis-server iproute2)
ZK_CLASSPATH="/etc/zookeeper/conf:/usr/share/java/zookeeper.jar"

# Further services (a registry, etcd, ...) live in one file each under scripts/test-env/. A module
# named X appends X to SERVICES (and its Debian packages to PACKAGES) when sourced and defines any of
# these hooks, each called with RUN, NET, BRIDGE_IP, NAME and NODES set:
#   X_start        after Redis and ZooKeeper, before the engines (choose ports with free_port here)
#   X_wait         after the engines are up; fails (die) if the service never came up
#   X_ok           succeeds when the service answers (used by status, healthy and repair)
#   X_daemon_json  prints members for every engine's daemon.json, e.g. "insecure-registries": [...]
#   X_state_sh     prints `export HBT_X_...='...'` lines for env.sh (they are sourced back on reload)
#   X_state_json   prints one member for env.json, e.g. "registry": { "url": "..." }
#   X_status       prints one status line per process
#   X_teardown     stops anything whose command line does not name the run dir (those are killed anyway)
SERVICES=()
TORN_RUNS=()
for module in "$ROOT"/scripts/test-env/*.sh; do
  # shellcheck disable=SC1090
  [ -e "$module" ] && source "$module"
done

log() { printf 'test-env: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  sed -n '2,11p' "$SELF" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

node_index() {
  local i
  for i in "${!NODES[@]}"; do
    if [ "${NODES[$i]}" = "$1" ]; then
      echo $((i + 1))
      return 0
    fi
  done
  die "unknown engine '$1' (expected one of: ${NODES[*]})"
}

now_ms() { date +%s%3N; }

# Calls hook $1 of every service module that defines it, with the remaining arguments.
svc_each() {
  local hook=$1 svc
  shift
  for svc in "${SERVICES[@]}"; do
    if declare -F "${svc}_$hook" >/dev/null; then "${svc}_$hook" "$@" || return 1; fi
  done
}

# Joins the lines a hook prints with commas (for JSON members).
svc_json_members() {
  local out
  out=$(svc_each "$1") || return 1
  [ -n "$out" ] || return 0
  printf '%s\n' "$out" | grep -v '^$' | paste -sd, -
}

# ---------------------------------------------------------------------------------------------------
# Packages

ensure_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}) and not root"
  log "installing ${missing[*]} from Debian's packages"
  # The dpkg lock timeout lets concurrent installs on the same machine queue instead of failing.
  # Services are not started by the packages: there is no init system here and policy-rc.d denies it.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -qq install -y \
    --no-install-recommends "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------------------------------------------
# Processes

# PIDs whose command line contains $1 (a fixed string), never this script's own processes. The glob is
# expanded here, before grep starts, so grep never reads its own command line.
pids_with_cmdline() {
  local me=$BASHPID files=(/proc/[0-9]*/cmdline)
  grep -l -a -F -- "$1" "${files[@]}" 2>/dev/null | awk -F/ -v a=$$ -v b="$me" '$3 != a && $3 != b { print $3 }' || true
}

# PIDs in a cgroup whose path starts with /$1 (the engines' --cgroup-parent: their containers).
pids_in_cgroup() {
  local files=(/proc/[0-9]*/cgroup)
  grep -l -F -- ":/$1" "${files[@]}" 2>/dev/null | awk -F/ '{ print $3 }' || true
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# SIGKILL the given pids and wait until they are gone (zombies of other parents count as gone).
kill_and_wait() {
  local pids=("$@") pid i
  [ ${#pids[@]} -eq 0 ] && return 0
  kill -9 "${pids[@]}" 2>/dev/null || true
  for i in $(seq 1 100); do
    local left=0
    for pid in "${pids[@]}"; do
      if [ -e "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
        left=1
      fi
    done
    [ $left -eq 0 ] && return 0
    sleep 0.05
  done
  log "warning: some processes did not exit: ${pids[*]}"
}

# Repeat until nothing matches: a dying dockerd may still start a process in between.
kill_matching() {
  local round pids
  for round in 1 2 3 4 5; do
    mapfile -t pids < <("$@" | sort -u)
    [ ${#pids[@]} -eq 0 ] && return 0
    kill_and_wait "${pids[@]}"
  done
}

unmount_under() {
  local dir=$1 m
  # Deepest first; lazy so a busy mount cannot block the teardown.
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

# ---------------------------------------------------------------------------------------------------
# State

load_state() {
  [ -f "$STATE/env.sh" ] || return 1
  # shellcheck disable=SC1091
  source "$STATE/env.sh"
  RUN=$HBT_RUN_DIR
  REDIS_PORT=$HBT_REDIS_PORT
  ZK_PORT=$HBT_ZK_PORT
  [ -d "$RUN" ]
}

cgroup_parent() { echo "$(basename "$RUN")-$1"; }

write_state() {
  local tmp n i ip dir engines="" sep=""
  mkdir -p "$STATE"
  tmp=$(mktemp "$STATE/env.sh.XXXXXX")
  {
    echo "# Written by scripts/test-env.sh up; removed by down."
    echo "export HBT_NAME='$NAME'"
    echo "export HBT_NET='$NET'"
    echo "export HBT_RUN_DIR='$RUN'"
    echo "export HBT_BRIDGE='$BRIDGE'"
    echo "export HBT_BRIDGE_IP='$BRIDGE_IP'"
    echo "export HBT_REDIS_PORT='$REDIS_PORT'"
    echo "export HBT_REDIS_URL='redis://$BRIDGE_IP:$REDIS_PORT'"
    echo "export HBT_ZK_PORT='$ZK_PORT'"
    echo "export HBT_ZK_CONNECT='$BRIDGE_IP:$ZK_PORT'"
    echo "export HBT_IMAGE='$IMAGE:latest'"
    echo "export HBT_IMAGE_V2='$IMAGE:v2'"
    echo "export HBT_ENGINES='${NODES[*]}'"
    for n in "${NODES[@]}"; do
      i=$(node_index "$n")
      ip=$NET.1$i
      dir=$RUN/$n
      local up=${n^^}
      echo "export HBT_${up}_NETNS='$NS_PREFIX$n'"
      echo "export HBT_${up}_NETNS_PATH='/run/netns/$NS_PREFIX$n'"
      echo "export HBT_${up}_IP='$ip'"
      echo "export HBT_${up}_SOCKET='$dir/docker.sock'"
      echo "export HBT_${up}_DOCKER_ENDPOINT='unix://$dir/docker.sock'"
      engines+="$sep"$'\n    '"{ \"name\": \"$n\", \"netns\": \"$NS_PREFIX$n\", \"netnsPath\": \"/run/netns/$NS_PREFIX$n\", \"ip\": \"$ip\", \"dockerEndpoint\": \"unix://$dir/docker.sock\", \"socketPath\": \"$dir/docker.sock\", \"dataRoot\": \"$dir/data\", \"logFile\": \"$dir/dockerd.log\" }"
      sep=","
    done
    svc_each state_sh
  } >"$tmp"
  mv "$tmp" "$STATE/env.sh"
  local members
  members=$(svc_json_members state_json)
  [ -z "$members" ] || members=$'\n  '"${members//,$'\n'/,$'\n'  },"
  tmp=$(mktemp "$STATE/env.json.XXXXXX")
  cat >"$tmp" <<EOF
{
  "runDir": "$RUN",
  "bridge": "$BRIDGE",
  "bridgeIp": "$BRIDGE_IP",
  "redisPort": $REDIS_PORT,
  "redisUrl": "redis://$BRIDGE_IP:$REDIS_PORT",
  "zkPort": $ZK_PORT,
  "zkConnect": "$BRIDGE_IP:$ZK_PORT",
  "image": "$IMAGE:latest",
  "imageV2": "$IMAGE:v2",$members
  "engines": [$engines
  ]
}
EOF
  mv "$tmp" "$STATE/env.json"
}

# ---------------------------------------------------------------------------------------------------
# Network

setup_network() {
  local other n i ns
  other=$(ip -o -4 route show to "$NET.0/24" | grep -v "dev $BRIDGE " || true)
  [ -z "$other" ] || die "$NET.0/24 is already routed on this machine ($other); set HBT_NET to another /24 prefix"
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  for n in "${NODES[@]}"; do
    i=$(node_index "$n")
    ns=$NS_PREFIX$n
    ip netns add "$ns"
    ip link add "$VETH_PREFIX$n" type veth peer name eth0 netns "$ns"
    ip link set "$VETH_PREFIX$n" master "$BRIDGE" up
    ip -n "$ns" addr add "$NET.1$i/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$BRIDGE_IP"
    # Nothing beyond this machine answers: the machine's name servers are unreachable from the engines
    # at once (a pull from Docker Hub then fails in milliseconds, not after a 10-20 s DNS timeout).
    local dns
    for dns in $(awk '$1 == "nameserver" && $2 ~ /^[0-9.]+$/ { print $2 }' /etc/resolv.conf 2>/dev/null); do
      [ "${dns%.*}" = "$NET" ] || ip -n "$ns" route add unreachable "$dns/32" 2>/dev/null || true
    done
  done
}

teardown_network() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NS_PREFIX" || true); do
    kill_matching ip netns pids "$ns"
    ip netns del "$ns" 2>/dev/null || true
  done
  local n
  for n in "${NODES[@]}"; do
    ip link del "$VETH_PREFIX$n" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
}

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    if [ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] && [ "$p" != "${1:-}" ]; then
      echo "$p"
      return 0
    fi
  done
}

# ---------------------------------------------------------------------------------------------------
# Redis

start_redis() {
  mkdir -p "$RUN/redis"
  redis-server --daemonize yes --bind "$BRIDGE_IP" --port "$REDIS_PORT" --protected-mode no \
    --save "" --appendonly no --dir "$RUN/redis" --pidfile "$RUN/redis/redis.pid" \
    --logfile "$RUN/redis/redis.log" 9<&- </dev/null
}

redis_ok() {
  [ "$(timeout --foreground 2 redis-cli -h "$BRIDGE_IP" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
}

redis_pids() {
  [ -f "$RUN/redis/redis.pid" ] && cat "$RUN/redis/redis.pid"
  # redis-server rewrites its command line to "redis-server <bind>:<port>"; the bridge IP is ours.
  pids_with_cmdline "redis-server $BRIDGE_IP:"
}

# ---------------------------------------------------------------------------------------------------
# ZooKeeper

start_zk() {
  local dir=$RUN/zk
  mkdir -p "$dir/data"
  cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
minSessionTimeout=4000
maxSessionTimeout=60000
initLimit=5
syncLimit=2
dataDir=$dir/data
clientPort=$ZK_PORT
clientPortAddress=$BRIDGE_IP
maxClientCnxns=0
forceSync=no
admin.enableServer=false
4lw.commands.whitelist=ruok,stat,mntr,srvr,cons
EOF
  # Java directly (Debian's zkServer.sh is awkward with a custom config). setsid: Ctrl-C in the
  # terminal that ran `up` must not reach it.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$dir/zk.pid" \
    java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dzookeeper.log.dir="$dir" \
    -cp "$ZK_CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \
    9<&- </dev/null >>"$dir/zk.log" 2>&1 &
}

zk_ok() {
  [ "$(timeout --foreground 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"; printf ruok >&3; exec cat <&3' "$BRIDGE_IP" "$ZK_PORT" \
    2>/dev/null)" = imok ]
}

zk_pids() {
  [ -f "$RUN/zk/zk.pid" ] && cat "$RUN/zk/zk.pid"
  pids_with_cmdline "$RUN/zk/zoo.cfg"
}

wait_zk() {
  local deadline=$(($(now_ms) + 30000))
  until zk_ok; do
    if [ "$(now_ms)" -gt $deadline ] || ! alive "$(cat "$RUN/zk/zk.pid" 2>/dev/null)"; then
      tail -n 30 "$RUN/zk/zk.log" >&2 || true
      die "ZooKeeper did not answer ruok on $BRIDGE_IP:$ZK_PORT (log: $RUN/zk/zk.log)"
    fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------------
# Docker engines

docker_cli() {
  local n=$1
  shift
  docker -H "unix://$RUN/$n/docker.sock" "$@"
}

start_engine() {
  local n=$1 dir=$RUN/$1
  mkdir -p "$dir/data" "$dir/x"
  [ -f "$dir/daemon.json" ] || echo "{ $(svc_json_members daemon_json) }" >"$dir/daemon.json"
  # nsenter, not `ip netns exec`: the latter remounts /sys and hides the cgroup mounts dockerd needs.
  # Each dockerd starts and manages its own containerd under its exec root.
  setsid nsenter --net="/run/netns/$NS_PREFIX$n" \
    dockerd --config-file "$dir/daemon.json" -H "unix://$dir/docker.sock" \
    --data-root "$dir/data" --exec-root "$dir/x" --pidfile "$dir/docker.pid" \
    --storage-driver=vfs --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
    --cgroup-parent "$(cgroup_parent "$n")" --shutdown-timeout 2 \
    9<&- </dev/null >>"$dir/dockerd.log" 2>&1 &
  echo $! >"$dir/launcher.pid"
}

engine_ok() {
  timeout --foreground 5 docker -H "unix://$RUN/$1/docker.sock" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

wait_engine() {
  local n=$1 dir=$RUN/$1 deadline=$(($(now_ms) + 60000))
  until engine_ok "$n"; do
    if [ "$(now_ms)" -gt $deadline ] || ! alive "$(cat "$dir/launcher.pid" 2>/dev/null)"; then
      tail -n 30 "$dir/dockerd.log" >&2 || true
      die "Docker engine $n did not answer on $dir/docker.sock (log: $dir/dockerd.log)"
    fi
    sleep 0.1
  done
}

# The engine's dockerd, its containerd and shims (their command lines name the engine's dir) and its
# containers' processes (found by the engine's cgroup parent).
engine_pids() {
  local n=$1
  pids_with_cmdline "$RUN/$n/"
  pids_in_cgroup "$(cgroup_parent "$n")/"
}

stop_engine_hard() {
  local n=$1
  kill_matching engine_pids "$n"
  # Container /dev/shm and netns mounts stay behind after a hard stop; dockerd would trip over them.
  unmount_under "$RUN/$n"
  # A killed containerd can linger as a zombie for a moment; a restarted dockerd that finds its pid
  # file would take it for alive and wait on its dead socket.
  rm -f "$RUN/$n/docker.sock" "$RUN/$n/docker.pid" "$RUN/$n/x/containerd/containerd.pid"
}

build_image() {
  local img=$RUN/image applet bb
  mkdir -p "$img/root"/{bin,etc,tmp,root,proc,sys,dev,var/www}
  bb=$(command -v busybox) || die "busybox not found (package busybox-static)"
  cp "$bb" "$img/root/bin/busybox"
  for applet in $("$bb" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$img/root/bin/$applet"
  done
  chmod 1777 "$img/root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$img/root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$img/root/etc/group"
  tar -C "$img/root" -c . >"$img/rootfs.tar"
}

import_image() {
  local n=$1 img=$RUN/image
  # :v2 is a distinct image (other ID, HUMPBACK_TEST_VERSION=2) with the same files, for upgrade tests.
  docker_cli "$n" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' -c 'ENV HUMPBACK_TEST_VERSION=1' \
    -c 'LABEL humpback-test.version=1' "$img/rootfs.tar" "$IMAGE:latest" >/dev/null
  docker_cli "$n" import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' -c 'ENV HUMPBACK_TEST_VERSION=2' \
    -c 'LABEL humpback-test.version=2' "$img/rootfs.tar" "$IMAGE:v2" >/dev/null
}

# ---------------------------------------------------------------------------------------------------
# Commands

healthy() {
  load_state || return 1
  local n
  redis_ok || return 1
  zk_ok || return 1
  for n in "${NODES[@]}"; do engine_ok "$n" || return 1; done
  svc_each ok
}

leftovers() {
  [ -e "$STATE" ] || ip link show "$BRIDGE" >/dev/null 2>&1 ||
    ip netns list 2>/dev/null | grep -q "^$NS_PREFIX" || [ -n "$(stale_run_dirs)" ]
}

repair() {
  load_state || return 1
  ip link show "$BRIDGE" >/dev/null 2>&1 || return 1
  local n
  for n in "${NODES[@]}"; do [ -e "/run/netns/$NS_PREFIX$n" ] || return 1; done
  redis_ok || return 1
  svc_each ok || return 1
  if ! zk_ok; then
    log "ZooKeeper is down; starting it again"
    kill_matching zk_pids
    start_zk
    wait_zk
  fi
  for n in "${NODES[@]}"; do
    if ! engine_ok "$n"; then
      log "engine $n is down; starting it again"
      stop_engine_hard "$n"
      start_engine "$n"
      wait_engine "$n"
    fi
  done
}

stale_run_dirs() {
  local tmp_root
  tmp_root=$(dirname "$(mktemp -u -t "$RUN_TEMPLATE")")
  find "$tmp_root" -maxdepth 1 -type d -name "${RUN_TEMPLATE%.*}.*" 2>/dev/null || true
}

cmd_up() {
  [ "$(id -u)" -eq 0 ] || die "the test environment needs root (network namespaces, dockerd)"
  if healthy; then
    log "already up and healthy (run dir $RUN); reusing it"
    return 0
  fi
  # An engine or ZooKeeper left stopped (e.g. by an interrupted test) is restarted in place, so
  # everyone using this environment keeps its addresses.
  if [ -f "$STATE/env.sh" ] && (repair) && healthy; then
    log "repaired and reusing the environment (run dir $RUN)"
    return 0
  fi
  if leftovers; then
    log "found an unhealthy or half-made environment; tearing it down first"
    teardown
  fi
  ensure_packages
  local t0 n
  t0=$(now_ms)
  RUN=$(mktemp -d -t "$RUN_TEMPLATE")
  chmod 755 "$RUN"
  mkdir -p "$STATE"
  echo "$RUN" >"$STATE/run-dir"
  echo "$NAME $NET" >"$STATE/names"
  # A failed or interrupted `up` leaves nothing behind.
  trap 'log "up did not complete; cleaning up"; teardown' EXIT
  trap 'exit 130' INT TERM

  setup_network
  REDIS_PORT=$(free_port)
  ZK_PORT=$(free_port "$REDIS_PORT")
  start_redis
  start_zk
  svc_each start
  for n in "${NODES[@]}"; do start_engine "$n"; done
  build_image
  for n in "${NODES[@]}"; do wait_engine "$n"; done
  local pids=()
  for n in "${NODES[@]}"; do
    import_image "$n" &
    pids+=($!)
  done
  local p
  for p in "${pids[@]}"; do wait "$p" || die "importing the test image failed"; done
  wait_zk
  svc_each wait
  local deadline=$(($(now_ms) + 10000))
  until redis_ok; do
    [ "$(now_ms)" -lt $deadline ] || die "Redis did not answer on $BRIDGE_IP:$REDIS_PORT"
    sleep 0.1
  done
  write_state
  trap - EXIT INT TERM
  log "up in $(($(now_ms) - t0)) ms: redis $BRIDGE_IP:$REDIS_PORT, zookeeper $BRIDGE_IP:$ZK_PORT," \
    "engines ${NODES[*]} on $NET.11-1${#NODES[@]}; see $STATE/env.json"
}

# Stops everything this script may have started, from the recorded state or from what is found.
teardown() {
  local runs=() r n
  if [ -f "$STATE/run-dir" ]; then runs+=("$(cat "$STATE/run-dir")"); fi
  mapfile -t -O ${#runs[@]} runs < <(stale_run_dirs)
  mapfile -t runs < <(printf '%s\n' "${runs[@]}" | grep -v '^$' | sort -u)
  for r in "${runs[@]}"; do
    RUN=$r
    # Engines and their containers, ZooKeeper (command lines name the run dir) and containers left in
    # the engines' cgroups.
    kill_matching pids_with_cmdline "$RUN/"
    kill_matching pids_in_cgroup "$(basename "$RUN")-"
    if [ -f "$RUN/redis/redis.pid" ]; then kill_matching cat "$RUN/redis/redis.pid"; fi
    svc_each teardown || true
  done
  kill_matching pids_with_cmdline "redis-server $BRIDGE_IP:"
  teardown_network
  TORN_RUNS=("${runs[@]}")
  for r in "${runs[@]}"; do
    unmount_under "$r"
    rm -rf --one-file-system "$r"
  done
  # Empty cgroups of hard-killed containers (this and earlier runs; busy ones stay).
  find /sys/fs/cgroup -mindepth 1 -maxdepth 5 -type d -name "${RUN_TEMPLATE%.*}.*" 2>/dev/null |
    while read -r d; do find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true; done
  rm -rf "$STATE"
}

cmd_down() {
  local t0
  t0=$(now_ms)
  if ! leftovers; then
    log "nothing to tear down"
    return 0
  fi
  teardown
  check_nothing_left
  log "down in $(($(now_ms) - t0)) ms"
}

# Fails loudly, naming each one, if a process of the environment outlived the teardown: anything whose
# command line names a run dir (dockerd, containerd, shims, java), the engines' containers (cgroups)
# and our redis-server.
check_nothing_left() {
  local r pids=() pid
  for r in "${TORN_RUNS[@]}"; do
    mapfile -t -O ${#pids[@]} pids < <(pids_with_cmdline "$r/")
    mapfile -t -O ${#pids[@]} pids < <(pids_in_cgroup "$(basename "$r")-")
  done
  mapfile -t -O ${#pids[@]} pids < <(pids_with_cmdline "redis-server $BRIDGE_IP:")
  mapfile -t pids < <(printf '%s\n' "${pids[@]}" | grep -v '^$' | sort -un)
  local left=()
  for pid in "${pids[@]}"; do
    [ -e "/proc/$pid" ] || continue
    grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && continue
    left+=("$pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-160)")
  done
  [ ${#left[@]} -eq 0 ] && return 0
  printf 'test-env: still running after down: %s\n' "${left[@]}" >&2
  die "down left ${#left[@]} process(es) of the environment running"
}

cmd_status() {
  if ! load_state; then
    log "not up"
    return 1
  fi
  local ok=0 n
  if redis_ok; then echo "redis      $HBT_REDIS_URL ok"; else
    echo "redis      $HBT_REDIS_URL DOWN"
    ok=1
  fi
  if zk_ok; then echo "zookeeper  $HBT_ZK_CONNECT ok"; else
    echo "zookeeper  $HBT_ZK_CONNECT DOWN"
    ok=1
  fi
  for n in "${NODES[@]}"; do
    if engine_ok "$n"; then echo "engine $n  $NET.1$(node_index "$n") unix://$RUN/$n/docker.sock ok"; else
      echo "engine $n  $NET.1$(node_index "$n") unix://$RUN/$n/docker.sock DOWN"
      ok=1
    fi
  done
  svc_each status || ok=1
  return $ok
}

require_state() { load_state || die "the test environment is not up (run: npm run test:env up)"; }

main() {
  local cmd=${1:-}
  [ -n "$cmd" ] || usage
  shift
  # One command at a time per machine: `up` and `down` must not interleave.
  exec 9<"$SELF"
  flock -w 900 9 || die "timed out waiting for another test-env command"
  case "$cmd" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    engine-stop)
      require_state
      node_index "${1:-}" >/dev/null
      stop_engine_hard "$1"
      log "engine $1 stopped (state kept in $RUN/$1/data)"
      ;;
    engine-start)
      require_state
      node_index "${1:-}" >/dev/null
      if engine_ok "$1"; then
        log "engine $1 is already running"
        return 0
      fi
      stop_engine_hard "$1"
      start_engine "$1"
      wait_engine "$1"
      log "engine $1 started"
      ;;
    zk-stop)
      require_state
      kill_matching zk_pids
      rm -f "$RUN/zk/zk.pid"
      log "zookeeper stopped (data kept in $RUN/zk/data)"
      ;;
    zk-start)
      require_state
      if zk_ok; then
        log "zookeeper is already running"
        return 0
      fi
      kill_matching zk_pids
      start_zk
      wait_zk
      log "zookeeper started on $BRIDGE_IP:$ZK_PORT"
      ;;
    *) usage ;;
  esac
}

main "$@"
