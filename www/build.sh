#!/usr/bin/env bash
# Builds the playground into www/dist, a self-contained static folder: the pages (index.html,
# shared.html = the same page with its broker in a SharedWorker, guide.html), the style, the
# app bundled with skiff-wasm and @nats-io/nats-core by esbuild (from wasm/tests/node_modules),
# the SharedWorker's broker script, and the .wasm beside them. Needs wasm/pkg (wasm/build.sh).
# Then serve it statically: `python3 -m http.server -d www/dist 8000`.
set -euo pipefail
cd "$(dirname "$0")"
mods=../wasm/tests/node_modules
rm -rf dist
mkdir -p dist
bundle() {
  NODE_PATH="$mods" "$mods/.bin/esbuild" "$1" --bundle --format=esm --outfile="dist/$2" \
    --alias:skiff-wasm=../wasm/pkg --minify --log-level=warning
}
bundle app.js app.js
bundle ../wasm/pkg/worker.js worker.js
cp ../wasm/pkg/skiff_wasm_bg.wasm index.html style.css dist/
[ -f guide.html ] && cp guide.html dist/
sed -e 's|<html lang="en">|<html lang="en" data-shared="true">|' \
  -e 's|<title>[^<]*</title>|<title>Skiff playground: one broker in a SharedWorker for every tab</title>|' \
  index.html > dist/shared.html
