#!/usr/bin/env bash
# Builds the npm package directory wasm/pkg: the optimized .wasm, wasm-bindgen's ES module
# (--target web), the hand-written wrapper (js/skiff.js), the worker script, their .d.ts and
# package.json. Usable from <script type="module"> and from bundlers (esbuild).
# Needs: rustup target wasm32-unknown-unknown, wasm-bindgen (the crate's exact version);
# scripts/setup.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
out=wasm/pkg
profile=wasm-release

# Panic locations name source files: keep build-machine paths out of the shipped module.
remap="--remap-path-prefix=$PWD/=skiff/"
for src in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
  [ -d "$src" ] && remap="$remap --remap-path-prefix=$src=deps/"
done
RUSTFLAGS="${RUSTFLAGS:-} $remap" \
  cargo build -p skiff-wasm --lib --target wasm32-unknown-unknown --profile "$profile" --quiet
rm -rf "$out"
mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --out-name skiff_wasm \
  "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/$profile/skiff_wasm.wasm"
# No wasm-opt: Debian's binaryen (108) rewrites the externref table that wasm-bindgen 0.2.130
# emits into a funcref table, and the module then fails at init ("function-typed object must
# be null"); wasm-bindgen no longer supports builds without reference types. The size below
# is rustc's opt-level "z" + fat LTO, after wasm-bindgen's own dead-code removal.
# Function names are for debugging only; the release package goes without them.
node wasm/strip-names.mjs "$out/skiff_wasm_bg.wasm"
cp wasm/js/skiff.js wasm/js/skiff.d.ts wasm/js/worker.js "$out/"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
cat > "$out/package.json" <<JSON
{
  "name": "skiff-wasm",
  "version": "$version",
  "description": "A NATS broker inside the web page: unmodified NATS JS clients connect to it by URL.",
  "license": "Apache-2.0",
  "type": "module",
  "main": "./skiff.js",
  "types": "./skiff.d.ts",
  "exports": {
    ".": { "types": "./skiff.d.ts", "default": "./skiff.js" },
    "./worker.js": "./worker.js",
    "./skiff_wasm_bg.wasm": "./skiff_wasm_bg.wasm",
    "./package.json": "./package.json"
  },
  "files": ["skiff.js", "skiff.d.ts", "worker.js", "skiff_wasm.js", "skiff_wasm.d.ts", "skiff_wasm_bg.wasm", "skiff_wasm_bg.wasm.d.ts"],
  "sideEffects": false
}
JSON
raw=$(stat -c %s "$out/skiff_wasm_bg.wasm")
gz=$(gzip -9 -c "$out/skiff_wasm_bg.wasm" | wc -c)
echo "wasm/build.sh: $out/skiff_wasm_bg.wasm is $raw bytes ($gz gzipped)"
