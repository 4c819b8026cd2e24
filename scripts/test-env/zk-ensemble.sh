# A 3-member ZooKeeper ensemble (beside the single ZooKeeper of test-env.sh), for tests that kill and
# restart members. Each member has its own start.sh (which the tests run to restart it) and zk.pid.
# Publishes "zkEnsemble": { "connect": "ip:p1,ip:p2,ip:p3", "members": [{ "id", "port", "dir" }] }.
SERVICES+=(zkens)

zkens_start() {
  local base=$RUN/zk-ensemble i ports=() peers=() elects=() used="${REDIS_PORT:-}"
  for i in 1 2 3; do
    ports[i]=$(free_port "$used"); used=${ports[i]}
    peers[i]=$(free_port "$used"); used=${peers[i]}
    elects[i]=$(free_port "$used"); used=${elects[i]}
  done
  for i in 1 2 3; do
    local dir=$base/m$i
    mkdir -p "$dir/data"
    echo "$i" >"$dir/data/myid"
    {
      echo "tickTime=1000"
      echo "minSessionTimeout=4000"
      echo "maxSessionTimeout=60000"
      echo "initLimit=10"
      echo "syncLimit=5"
      echo "dataDir=$dir/data"
      echo "clientPort=${ports[i]}"
      echo "clientPortAddress=$BRIDGE_IP"
      echo "maxClientCnxns=0"
      echo "forceSync=no"
      echo "admin.enableServer=false"
      echo "4lw.commands.whitelist=ruok,stat,mntr,srvr"
      local j
      for j in 1 2 3; do echo "server.$j=$BRIDGE_IP:${peers[j]}:${elects[j]}"; done
    } >"$dir/zoo.cfg"
    cat >"$dir/start.sh" <<EOS
#!/usr/bin/env bash
setsid bash -c 'echo \$\$ >"\$0"; exec "\$@"' "$dir/zk.pid" \\
  java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dzookeeper.log.dir="$dir" \\
  -cp "$ZK_CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" \\
  9<&- </dev/null >>"$dir/zk.log" 2>&1 &
EOS
    chmod +x "$dir/start.sh"
    echo "${ports[i]}" >"$dir/port"
    bash "$dir/start.sh"
  done
}

zkens_member_ok() {
  local port
  port=$(cat "$RUN/zk-ensemble/m$1/port" 2>/dev/null) || return 1
  timeout --foreground 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"; printf srvr >&3; exec cat <&3' "$BRIDGE_IP" "$port" \
    2>/dev/null | grep -Eq '^Mode: (leader|follower)'
}

zkens_ok() {
  local i
  for i in 1 2 3; do zkens_member_ok "$i" || return 1; done
}

zkens_wait() {
  local deadline=$(($(now_ms) + 60000))
  until zkens_ok; do
    if [ "$(now_ms)" -gt $deadline ]; then
      tail -n 20 "$RUN"/zk-ensemble/m*/zk.log >&2 || true
      die "the ZooKeeper ensemble did not form a quorum (logs: $RUN/zk-ensemble/m*/zk.log)"
    fi
    sleep 0.2
  done
}

zkens_connect() {
  local i out=()
  for i in 1 2 3; do out+=("$BRIDGE_IP:$(cat "$RUN/zk-ensemble/m$i/port")"); done
  (IFS=,; echo "${out[*]}")
}

zkens_state_sh() {
  echo "export HBT_ZKENS_CONNECT='$(zkens_connect)'"
}

zkens_state_json() {
  local i members=() dir
  for i in 1 2 3; do
    dir=$RUN/zk-ensemble/m$i
    members+=("{ \"id\": $i, \"port\": $(cat "$dir/port"), \"dir\": \"$dir\" }")
  done
  local joined
  joined=$(IFS=,; echo "${members[*]}")
  echo "\"zkEnsemble\": { \"connect\": \"$(zkens_connect)\", \"members\": [$joined] }"
}

zkens_status() {
  local i
  for i in 1 2 3; do
    if zkens_member_ok "$i"; then echo "zk-ens m$i  $BRIDGE_IP:$(cat "$RUN/zk-ensemble/m$i/port") ok"
    else echo "zk-ens m$i  DOWN"; fi
  done
}
