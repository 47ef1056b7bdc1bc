#!/usr/bin/env bash
# perft's two commands (see README.md):
#   ./do demo   install what is missing, build, run the miniature of the paper (tools/miniature.sh):
#               pretrain a tiny MoE model, fine-tune it with every strategy, table + loss-curve plot
#   ./do test   install what is missing, build (also with sanitizers), run every test in both builds;
#               ends with "N passed, N failed"
set -euo pipefail
cd "$(dirname "$0")"
BUILD=${PERFT_BUILD:-build}
PACKAGES=(cmake make gcc g++ flex bison python3 python3-venv python3-torch libmlir-19-dev mlir-19-tools llvm-19-dev llvm-19-tools clang-19 libclang-rt-19-dev libomp-19-dev)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}

build() {
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPERFT_WERROR=ON >/dev/null
  cmake --build "$BUILD" -j"$(nproc)"
}

# The same tree with AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer (tests/run_all.sh
# runs the suite in both).
build_sanitized() {
  cmake -S . -B "$BUILD-sanitize" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPERFT_WERROR=ON -DPERFT_SANITIZE=ON >/dev/null
  cmake --build "$BUILD-sanitize" -j"$(nproc)"
}

case "${1:-}" in
  demo)
    install_missing
    build
    tools/miniature.sh "$BUILD" out/miniature
    ;;
  example)  # the single MoE block + PERFT-R, trained toward a teacher
    install_missing
    build
    mkdir -p out
    "$BUILD/compiler/perftc" examples/moe_perft_r.perft -o out/moe_perft_r
    out/moe_perft_r --steps 300 --lr 0.03 --metrics out/moe_perft_r.jsonl --save out/moe_perft_r.adapters.safetensors
    ;;
  test)
    install_missing
    build
    build_sanitized
    tests/run_all.sh "$BUILD" "$BUILD-sanitize"
    ;;
  *)
    echo "usage: ./do demo | ./do test | ./do example" >&2
    exit 2
    ;;
esac
