#!/bin/sh
# A CUDA executable under the fake driver (tests/gpu/fake/fake_cuda.c): it starts, takes its arena
# as device memory (cuMemAlloc) beside its host side, initialises its weights on the host side,
# copies them to the device and reaches its first kernel launch, where the fake (which cannot run
# kernels) refuses the module: the banner must name the device, and the run must stop there with
# the driver call, file, line and error named. A GPU too small for the arena stops the run with one
# line giving the arena's size and the GPU's free and total memory.
#   check_start.sh PERFTC EXAMPLES OUT FAKE_DIR
set -u
perftc=$1 examples=$2 out=$3 fake=$4
mkdir -p "$out"
"$perftc" "$examples/moe_perft_r.perft" --target=cuda -o "$out/moe_cuda" || { echo "FAIL: perftc"; exit 1; }
LD_LIBRARY_PATH=$fake "$out/moe_cuda" --init --steps 1 --seed 1 >"$out/run.log" 2>&1
rc=$?
# a GPU without room for the arena: one line, the sizes in it
LD_LIBRARY_PATH=$fake FAKE_CUDA_MEMORY=4096 "$out/moe_cuda" --init --steps 1 --seed 1 >"$out/small_gpu.log" 2>&1
rc_small=$?
if ! { [ $rc_small -eq 1 ] &&
       grep -q "^perft: error: cannot allocate the [0-9]* B ([0-9.]* [KM]iB) arena on CUDA device 0: fake device (sm_90): CUDA_ERROR_OUT_OF_MEMORY, 4096 B free of 4096 B (hint: fewer tokens a step, --frozen-dtype=bf16, or a GPU with more memory)$" "$out/small_gpu.log"; }; then
  echo "FAIL: a GPU too small for the arena (exit $rc_small):"; cat "$out/small_gpu.log"; exit 1
fi
if [ $rc -eq 1 ] && grep -q "^  compute       CUDA device 0: fake device (sm_90), one stream; GEMMs on cuBLAS" "$out/run.log" &&
   grep -q "perft: error: cuda.cuModuleLoadData(.*) failed at .*launch_cuda.c:[0-9]*: CUDA_ERROR_NOT_SUPPORTED" "$out/run.log" &&
   [ "$(grep -c "perft: error" "$out/run.log")" -eq 1 ] && ! grep -q "note:" "$out/run.log"; then
  echo "PASS: started on the fake driver, its arena on the device, stopped at the first module load: $(cat "$out/run.log")"
  exit 0
fi
echo "FAIL: exit $rc, expected the module load to be refused:"
cat "$out/run.log"
exit 1
