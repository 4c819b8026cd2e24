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
# Build web/dist unless it is newer than everything it is built from (a re-run after a build skips it).
sources=(web/src web/index.html web/codegen.ts web/vite.config.ts web/tsconfig.json schema/schema.graphql package-lock.json)
if [ -f web/dist/index.html ] && [ -z "$(find "${sources[@]}" -newer web/dist/index.html -print -quit 2>/dev/null)" ]; then
  echo "web/dist is up to date: not rebuilt"
else
  npm run --silent build:web
fi
exec npx vitest run -c test/browser/vitest.config.ts "$@"
