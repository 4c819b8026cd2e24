#!/usr/bin/env bash
# Browser tests of the web UI: installs Debian's Chromium when missing, builds web/dist, runs
# test/browser/*.spec.ts. The real-gateway spec needs the test environment (npm run test:env up);
# without it, it is skipped with a message and only the mock-gateway spec runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (apt-get)"
  apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
fi
npm run --silent build:web
exec npx vitest run -c test/browser/vitest.config.ts "$@"
