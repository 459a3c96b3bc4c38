#!/usr/bin/env bash
# Runs every check and test on a fresh machine: installs what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }

step "setup (apt, rustup target, pip, reference servers)"
bash scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo doc -D warnings"
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps --quiet

step "skiff-core builds for wasm32-unknown-unknown without browser crates"
cargo build -p skiff-core --target wasm32-unknown-unknown --quiet
if cargo tree -p skiff-core --target wasm32-unknown-unknown -e normal | grep -E 'wasm-bindgen|web-sys|js-sys'; then
  echo "skiff-core must not depend on browser crates" >&2
  exit 1
fi

step "skiff-wasm for wasm32-unknown-unknown: clippy -D warnings"
cargo clippy -p skiff-wasm --target wasm32-unknown-unknown --quiet -- -D warnings

if [ -f core/fuzz/Cargo.toml ]; then
  step "fuzz targets build"
  cargo build --manifest-path core/fuzz/Cargo.toml --quiet
  # A short run from the committed seeds, only where nightly and cargo-fuzz exist (not on CI).
  if rustup toolchain list 2>/dev/null | grep -q "^nightly" && cargo fuzz --version >/dev/null 2>&1; then
    step "fuzz: each target for ${FUZZ_SECONDS:-10} s from its seeds"
    for target in parse connect conf leaf jwt; do
      corpus=$(mktemp -d)
      if ! (cd core && cargo +nightly fuzz run "$target" "$corpus" "fuzz/seeds/$target" -- \
        -max_total_time="${FUZZ_SECONDS:-10}" -rss_limit_mb=2048 >"$corpus.log" 2>&1); then
        tail -n 40 "$corpus.log"
        echo "fuzz target $target crashed: see core/fuzz/artifacts/$target" >&2
        exit 1
      fi
      echo "fuzz $target: $(tail -n 1 "$corpus.log")"
      rm -rf "$corpus" "$corpus.log"
    done
  else
    echo "fuzz: short run skipped (needs a nightly toolchain and cargo-fuzz; see core/fuzz/README.md)"
  fi
fi

step "the wasm package (wasm/build.sh; the conformance suite also runs it in Node)"
bash wasm/build.sh

step "cargo test (unit, property, harness, conformance, real clients)"
cargo test --workspace 2>&1 | tee target/test-output.txt

step "browser tests (the wasm package in headless Chromium, node's test runner)"
bash wasm/tests/run.sh 2>&1 | tee target/browser-test-output.txt

step "summary"
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' target/test-output.txt | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/test-output.txt | awk '{s+=$1} END {print s+0}')
# node's TAP summary: "# pass N" / "# fail N".
passed=$((passed + $(awk '/^# pass [0-9]+$/ {s+=$3} END {print s+0}' target/browser-test-output.txt)))
failed=$((failed + $(awk '/^# fail [0-9]+$/ {s+=$3} END {print s+0}' target/browser-test-output.txt)))
echo "tests: ${passed} passed, ${failed} failed"
