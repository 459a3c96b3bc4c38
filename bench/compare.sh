#!/usr/bin/env bash
# Builds the load generator (and Skiff) in release mode, then compares Skiff with nats-server.
# Debian's nats-server 2.9.x (/usr/sbin/nats-server, installed by scripts/setup.sh) runs as a
# third server when it is installed; `--no-debian` leaves it out.
# Other arguments go to `skiff-bench compare` (see bench/README.md), e.g.
#   bench/compare.sh                  # full run, 3 rounds -> bench/results/<date>.md + latest.md
#   bench/compare.sh --quick --rounds 1 --no-latest --out /tmp/bench     # smoke test
#   SKIFF_BIN=/path/to/skiff bench/compare.sh    # a prebuilt Skiff; Skiff is not built then
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .tools/nats-server ]; then
  echo "compare.sh: .tools/nats-server missing; run scripts/setup.sh first" >&2
  exit 1
fi
cargo build --release -q -p skiff-bench
args=()
debian=auto
passed=()
for arg in "$@"; do
  case "$arg" in
    --no-debian) debian=no ;;
    --debian) debian=yes; passed+=("$arg") ;;
    *) passed+=("$arg") ;;
  esac
done
if [ "$debian" = auto ] && [ -x /usr/sbin/nats-server ]; then
  args+=(--debian)
fi
if [ -n "${SKIFF_BIN:-}" ]; then
  args+=(--skiff "$SKIFF_BIN")
else
  cargo build --release -q -p skiff   # provides target/release/skiff
fi
exec target/release/skiff-bench compare "${args[@]}" "${passed[@]}"
