#!/usr/bin/env bash
# Bundles the live page (app.js + skiff-wasm + @nats-io/nats-core) into www/dist with esbuild
# (from wasm/tests/node_modules) and copies the .wasm beside it. Needs wasm/pkg (wasm/build.sh).
# Then serve the folder statically, e.g. `python3 -m http.server -d www 8000`.
set -euo pipefail
cd "$(dirname "$0")"
mods=../wasm/tests/node_modules
mkdir -p dist
NODE_PATH="$mods" "$mods/.bin/esbuild" app.js --bundle --format=esm --outfile=dist/app.js \
  --alias:skiff-wasm=../wasm/pkg --minify --log-level=warning
cp ../wasm/pkg/skiff_wasm_bg.wasm dist/
