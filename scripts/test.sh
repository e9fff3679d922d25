#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the fuzz targets for a short bounded
# time each, then the whole ctest suite (whose summary is the last thing printed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

if [ "${REACH_SKIP_FUZZ:-0}" != "1" ]; then
  FUZZ_SECONDS=${FUZZ_SECONDS:-20}
  if [ ! -f build-fuzz/build.ninja ]; then
    CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DREACH_FUZZ=ON -DREACH_TESTS=OFF -DREACH_BENCH=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
  fi
  cmake --build build-fuzz -j"$(nproc)" --target el_fuzz expression_fuzz flow_file_fuzz
  for target in el expression flow_file; do
    mkdir -p "build-fuzz/corpus/$target"
    echo "fuzz: $target for ${FUZZ_SECONDS}s"
    "build-fuzz/fuzz/${target}_fuzz" -max_total_time="$FUZZ_SECONDS" -timeout=5 -rss_limit_mb=2048 \
      -print_final_stats=1 "build-fuzz/corpus/$target" "fuzz/corpus/$target" 2>&1 | tail -n 4
  done
fi

cd build
ctest --output-on-failure -j"$(nproc)" --timeout 600
