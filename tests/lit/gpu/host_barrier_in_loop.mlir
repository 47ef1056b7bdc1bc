// perft-gpu-host splits a kernel only at barriers of its top level: one inside a loop is an error.
// RUN: not %perft_opt %s -p 'perft-gpu-host' 2>&1 | FileCheck %s
// CHECK: error: perft-gpu-host: a gpu.barrier inside a loop or a branch
module {
  func.func @barrier_in_loop(%a: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      scf.for %i = %c0 to %c4 step %c1 {
        gpu.barrier
      }
      gpu.terminator
    }
    return
  }
}
