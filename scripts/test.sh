#!/usr/bin/env bash
# `npm test`: installs dependencies if missing, brings the private test environment up unless it is
# already up, runs vitest (unit and integration; with no arguments also the browser tests), and tears down on exit
# (normal, failure or Ctrl-C) only what it brought up. Exits with vitest's status.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

if [ ! -d node_modules ]; then
  echo "test: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund
fi

started_env=0
teardown() {
  local status=$?
  trap - EXIT INT TERM
  if [ "$started_env" = 1 ]; then
    bash scripts/test-env.sh down || status=1
  fi
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if bash scripts/test-env.sh status >/dev/null 2>&1; then
  echo "test: reusing the test environment that is already up" >&2
else
  started_env=1
  bash scripts/test-env.sh up
fi

# Not exec: the EXIT trap must run after the tests.
status=0
npx vitest run "$@" || status=$?
# The whole suite (no arguments) includes the browser tests: Chromium, the built UI, a real gateway.
if [ $# -eq 0 ]; then
  bash test/browser/run.sh || status=$?
fi
exit "$status"
