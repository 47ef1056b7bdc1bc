// perft-emit-kernels{library=1} folds a zero fill into the library GEMM right after it: the fill of
// +0.0 into %y goes and the call leaves out accumulate (flags 2, transpose_b: c = a·bᵀ, cuBLAS's
// β = 0), so %y is neither zeroed in a kernel of its own nor read by the GEMM. Left alone: a fill of
// another value, or of -0.0 (an overwriting GEMM's sums count as added onto +0.0: runtime/gemm_host.c), a fill of
// another buffer, a fill not right before the GEMM, and everything without the library
// (library=0: the generated kernels add into the fill).
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda library=1 outline=0}' | FileCheck %s
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda library=0 outline=0}' | FileCheck %s --check-prefix=LOOPS

// CHECK-LABEL: func.func @folded(
// CHECK-NOT: linalg.fill
// CHECK: %[[F2:.*]] = arith.constant 2 : i64
// CHECK: call @perft_gemm(%[[F2]],
// CHECK-LABEL: func.func @kept(
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg2
// CHECK: %[[F6:.*]] = arith.constant 6 : i64
// CHECK: call @perft_gemm(%[[F6]],
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg2
// CHECK: call @perft_gemm(%[[F6b:.*]],
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg3
// CHECK: call @perft_gemm(
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg2
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%arg3
// CHECK: call @perft_gemm(
// CHECK-NOT: arith.constant 2 : i64

// LOOPS-LABEL: func.func @folded(
// LOOPS: linalg.fill
// LOOPS-NOT: call @perft_gemm
module {
  func.func @folded(%x: memref<4x3xf32>, %w: memref<8x3xf32>, %y: memref<4x8xf32>) {
    %zero = arith.constant 0.0 : f32
    linalg.fill ins(%zero : f32) outs(%y : memref<4x8xf32>)
    linalg.matmul_transpose_b ins(%x, %w : memref<4x3xf32>, memref<8x3xf32>) outs(%y : memref<4x8xf32>)
    return
  }
  func.func @kept(%x: memref<4x3xf32>, %w: memref<8x3xf32>, %y: memref<4x8xf32>, %z: memref<4x8xf32>) {
    %one = arith.constant 1.0 : f32
    %negative_zero = arith.constant -0.0 : f32
    %zero = arith.constant 0.0 : f32
    linalg.fill ins(%one : f32) outs(%y : memref<4x8xf32>)
    linalg.matmul_transpose_b ins(%x, %w : memref<4x3xf32>, memref<8x3xf32>) outs(%y : memref<4x8xf32>)
    linalg.fill ins(%negative_zero : f32) outs(%y : memref<4x8xf32>)
    linalg.matmul_transpose_b ins(%x, %w : memref<4x3xf32>, memref<8x3xf32>) outs(%y : memref<4x8xf32>)
    linalg.fill ins(%zero : f32) outs(%z : memref<4x8xf32>)
    linalg.matmul_transpose_b ins(%x, %w : memref<4x3xf32>, memref<8x3xf32>) outs(%y : memref<4x8xf32>)
    linalg.fill ins(%zero : f32) outs(%y : memref<4x8xf32>)
    linalg.fill ins(%zero : f32) outs(%z : memref<4x8xf32>)
    linalg.matmul_transpose_b ins(%x, %w : memref<4x3xf32>, memref<8x3xf32>) outs(%y : memref<4x8xf32>)
    return
  }
}
