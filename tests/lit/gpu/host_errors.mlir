// perft-gpu-host refuses what it cannot run as loops over threads: a loaded value (not recomputable
// index arithmetic) made before a gpu.barrier and read after it, and per-thread scratch (an alloca)
// in a kernel with barriers (the threads of a stretch would share one buffer).
// RUN: split-file-19 %s %t
// RUN: not %perft_opt %t/value.mlir -p 'perft-gpu-host' 2>&1 | FileCheck %s --check-prefix=VALUE
// RUN: not %perft_opt %t/alloca.mlir -p 'perft-gpu-host' 2>&1 | FileCheck %s --check-prefix=ALLOCA
// VALUE: error: perft-gpu-host: a value made before a gpu.barrier is read after it (keep it in memory)
// ALLOCA: error: perft-gpu-host: a kernel with both barriers and per-thread scratch (allocas)

//--- value.mlir
module {
  func.func @f(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      %v = memref.load %a[%tx] : memref<4xf32>
      gpu.barrier
      memref.store %v, %a[%tx] : memref<4xf32>
      gpu.terminator
    }
    return
  }
}

//--- alloca.mlir
module {
  func.func @f(%a: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      %scratch = memref.alloca() : memref<2xf32>
      %v = memref.load %a[%tx] : memref<4xf32>
      memref.store %v, %scratch[%c0] : memref<2xf32>
      gpu.barrier
      %w = memref.load %scratch[%c0] : memref<2xf32>
      memref.store %w, %a[%tx] : memref<4xf32>
      gpu.terminator
    }
    return
  }
}
