// RUN: %perftc %s --emit=lowered --no-outline | FileCheck %s
// A dot-form GEMM (x·wᵀ) runs in 4×4 register blocks: panels of up to 64 weights, their blocks of
// 4 weights, the rows 4 at a time, then the K loop: 16 vector sums over K's multiples of the
// lanes (16, or fewer for a short K: here K = 5, so 4), then the same 16 sums carried as scalars
// over the rest (one step). Rows (7 = 4 + 3) and
// weights (6 = 4 + 2) left over go through the same block, clamped and guarded.

// CHECK-LABEL: func.func @forward
// CHECK: scf.for %[[P:.*]] = %{{.*}} to %c4{{.*}} step %c64
// CHECK: scf.for %[[N0:.*]] = %[[P]] to %{{.*}} step %c4
// CHECK: scf.for %[[ROW0:.*]] = %{{.*}} to %{{.*}} step %c4
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4{{.*}} iter_args({{.*}}) -> (vector<4xf32>,
// CHECK: scf.for %{{.*}} = %{{.*}} to %c5{{.*}} step %c1{{.*}} iter_args(%{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}, %{{[^)]*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK-NOT: linalg.matmul
module {
  func.func @forward(%w: tensor<6x5xf32> {perft.param = "w", perft.trainable = true, perft.init = "normal 0 1"},
                     %x: tensor<7x5xf32> {perft.input = "x"}, %t: tensor<7x6xf32> {perft.input = "t"})
      -> (tensor<f32> {perft.loss}) {
    %cst = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<7x6xf32>
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<7x6xf32>) -> tensor<7x6xf32>
    %y = linalg.matmul_transpose_b ins(%x, %w : tensor<7x5xf32>, tensor<6x5xf32>) outs(%z : tensor<7x6xf32>) -> tensor<7x6xf32>
    %l = "perft.mse"(%y, %t) : (tensor<7x6xf32>, tensor<7x6xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
