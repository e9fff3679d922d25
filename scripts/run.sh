#!/usr/bin/env bash
# Installs what is missing, builds, and starts the daemon on its embedded defaults:
# 127.0.0.1:8080, ./var/reach.db, the flows in ./flows, every channel in sandbox mode (sends
# are fully built and recorded in the log, never delivered). Ctrl-C stops it cleanly.
# Extra arguments go to `reach serve` (e.g. --listen 127.0.0.1:9090, --config reach.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
mkdir -p var
exec build/src/app/reach serve "$@"
