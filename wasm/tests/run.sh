#!/usr/bin/env bash
# Builds the wasm package and runs the browser tests in headless Chromium (node's test
# runner: its "# pass N" / "# fail N" lines are counted by scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")"
bash ../build.sh
bash ../../www/build.sh
node --test --test-reporter=tap --test-concurrency=1 ./*.test.mjs
