#!/usr/bin/env bash
# Proves that `scripts/test-env.sh down` returns only when every process it started has exited: brings
# the environment up (or reuses it), runs down, then looks with pgrep itself (independently of down's own
# check) for a dockerd, containerd, containerd-shim, redis-server or java of that environment.
# Exits 1 naming what is left. Run: bash scripts/test-env-down-check.sh (tears the environment down).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

bash scripts/test-env.sh up
# shellcheck disable=SC1091
source .test-env/env.sh
run=$HBT_RUN_DIR
bridge_ip=$HBT_BRIDGE_IP
bash scripts/test-env.sh down

status=0
for prog in dockerd containerd containerd-shim-runc-v2 java; do
  if pids=$(pgrep -f -- "^[^ ]*$prog .*$run/"); then
    echo "test-env-down-check: $prog still running after down: $pids" >&2
    status=1
  fi
done
if pids=$(pgrep -f -- "^redis-server $bridge_ip:"); then
  echo "test-env-down-check: redis-server still running after down: $pids" >&2
  status=1
fi
[ -e "$run" ] && { echo "test-env-down-check: run dir $run still exists" >&2; status=1; }
[ $status -eq 0 ] && echo "test-env-down-check: nothing of $run left running"
exit $status
