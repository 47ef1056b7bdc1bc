// perft-emit-kernels alone: a GEMM of at least parallel-min-work multiply-adds gets its
// panels of weights as scf.parallel (threads on the CPU; at least two panels, here of 4 weights);
// below it, or with parallel=0, it stays serial (one panel of up to 64 weights).
// This one is 4 x 8 x 3 = 96 multiply-adds; the default threshold is 4194304.
// RUN: %perft_opt %s -p 'perft-emit-kernels{parallel-min-work=96}' | FileCheck %s --check-prefix=PAR
// RUN: %perft_opt %s -p 'perft-emit-kernels{parallel-min-work=97}' | FileCheck %s --check-prefix=SERIAL
// RUN: %perft_opt %s -p 'perft-emit-kernels{parallel=0 parallel-min-work=1}' | FileCheck %s --check-prefix=SERIAL
// RUN: %perft_opt %s -p perft-emit-kernels | FileCheck %s --check-prefix=SERIAL

// PAR-LABEL: func.func @gemm
// PAR: scf.parallel ({{.*}}) = ({{.*}}) to (%c8{{.*}}) step (%c4{{.*}}) {
// PAR: scf.for
// PAR-NOT: linalg.matmul

// SERIAL-LABEL: func.func @gemm
// SERIAL-NOT: scf.parallel
// SERIAL: scf.for {{.*}} = {{.*}} to %c8{{.*}} step %c64
// SERIAL-NOT: scf.parallel
// SERIAL-NOT: linalg.matmul
module {
  func.func @gemm(%a: memref<4x3xf32>, %w: memref<8x3xf32>, %out: memref<4x8xf32>) {
    linalg.matmul_transpose_b ins(%a, %w : memref<4x3xf32>, memref<8x3xf32>) outs(%out : memref<4x8xf32>)
    return
  }
}
