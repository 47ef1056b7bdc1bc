#!/bin/sh
# A CUDA executable under the fake driver (tests/gpu/fake/fake_cuda.c): it starts, takes its arena
# as device memory (cuMemAlloc) beside its host side, initialises its weights on the host side,
# copies them to the device and reaches its first kernel launch, where the fake (which cannot run
# kernels) refuses the module: the banner must name the device, and the run must stop there with
# the driver call, file, line and error named.
#   check_start.sh PERFTC EXAMPLES OUT FAKE_DIR
set -u
perftc=$1 examples=$2 out=$3 fake=$4
mkdir -p "$out"
"$perftc" "$examples/moe_perft_r.perft" --target=cuda -o "$out/moe_cuda" || { echo "FAIL: perftc"; exit 1; }
LD_LIBRARY_PATH=$fake "$out/moe_cuda" --init --steps 1 --seed 1 >"$out/run.log" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "^  compute       CUDA device 0: fake device (sm_90), one stream; GEMMs on cuBLAS" "$out/run.log" &&
   grep -q "perft: error: cuda.cuModuleLoadData(.*) failed at .*launch_cuda.c:[0-9]*: CUDA_ERROR_NOT_SUPPORTED" "$out/run.log" &&
   [ "$(grep -c "perft: error" "$out/run.log")" -eq 1 ] && ! grep -q "note:" "$out/run.log"; then
  echo "PASS: started on the fake driver, its arena on the device, stopped at the first module load: $(cat "$out/run.log")"
  exit 0
fi
echo "FAIL: exit $rc, expected the module load to be refused:"
cat "$out/run.log"
exit 1
