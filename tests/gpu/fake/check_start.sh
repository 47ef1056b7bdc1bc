#!/bin/sh
# A CUDA executable under the fake driver (tests/gpu/fake/fake_cuda.c): it starts, takes its arena
# as managed memory, initialises its weights there and reaches its first kernel launch, where the
# fake (which cannot run kernels) refuses the module: the banner must name the device, and the run
# must stop there with the driver call, file, line and error named. A driver that refuses to
# prefetch the arena to the GPU gets one note and the same stop.
#   check_start.sh PERFTC EXAMPLES OUT FAKE_DIR
set -u
perftc=$1 examples=$2 out=$3 fake=$4
mkdir -p "$out"
"$perftc" "$examples/moe_perft_r.perft" --target=cuda -o "$out/moe_cuda" || { echo "FAIL: perftc"; exit 1; }
LD_LIBRARY_PATH=$fake "$out/moe_cuda" --init --steps 1 --seed 1 >"$out/run.log" 2>&1
rc=$?
# and where prefetching managed memory is refused, one note and on to the same stop
LD_LIBRARY_PATH=$fake FAKE_CUDA_NO_PREFETCH=1 "$out/moe_cuda" --init --steps 1 --seed 1 >"$out/no_prefetch.log" 2>&1
rc2=$?
if [ $rc -eq 1 ] && grep -q "^  compute       CUDA device 0: fake device (sm_90), one stream; GEMMs on cuBLAS" "$out/run.log" &&
   grep -q "perft: error: cuda.cuModuleLoadData(.*) failed at .*launch_cuda.c:[0-9]*: CUDA_ERROR_NOT_SUPPORTED" "$out/run.log" &&
   ! grep -q "not prefetched" "$out/run.log" && [ $rc2 -eq 1 ] &&
   [ "$(grep -c "perft: note: managed memory not prefetched to the GPU (CUDA_ERROR_NOT_SUPPORTED); its pages move on first touch" "$out/no_prefetch.log")" -eq 1 ] &&
   grep -q "perft: error: cuda.cuModuleLoadData" "$out/no_prefetch.log"; then
  echo "PASS: started on the fake driver, its arena prefetched, stopped at the first module load: $(cat "$out/run.log")"
  exit 0
fi
echo "FAIL: exit $rc (refused prefetch: $rc2), expected the module load to be refused:"
cat "$out/run.log" "$out/no_prefetch.log"
exit 1
