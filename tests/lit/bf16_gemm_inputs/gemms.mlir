// perft-bf16-gemm-inputs: each GEMM with a bf16 weight (perftc --frozen-dtype=bf16) reads a bf16
// copy of its other input, made once before the first GEMM that reads it (x here feeds two); a
// GEMM with an f32 weight keeps its f32 input. Dense (linalg.matmul*) and grouped GEMMs alike.
// Without bf16 weights (@f32_weights) the pass changes nothing.
// RUN: %perft_opt %s -p perft-bf16-gemm-inputs | FileCheck %s

// CHECK-LABEL: func.func @layer(
// CHECK-SAME: %[[X:[^:]*]]: tensor<5x6xf32>, %[[WQ:[^:]*]]: tensor<8x6xbf16>, %[[WK:[^:]*]]: tensor<8x6xbf16>, %[[A:[^:]*]]: tensor<3x6xf32>, %[[ROWS:[^:]*]]: tensor<7x6xf32>, %[[BANK:[^:]*]]: tensor<2x4x6xbf16>, %[[OFF:[^:]*]]: tensor<3xi32>
// CHECK: %[[E:.*]] = tensor.empty() : tensor<5x6xbf16>
// CHECK-NEXT: %[[XB:.*]] = linalg.copy ins(%[[X]] : tensor<5x6xf32>) outs(%[[E]] : tensor<5x6xbf16>)
// CHECK-NEXT: linalg.matmul_transpose_b ins(%[[XB]], %[[WQ]] : tensor<5x6xbf16>, tensor<8x6xbf16>) outs(%{{.*}} : tensor<5x8xf32>)
// CHECK-NOT: linalg.copy
// CHECK: linalg.matmul_transpose_b ins(%[[XB]], %[[WK]] : tensor<5x6xbf16>, tensor<8x6xbf16>)
// CHECK: linalg.matmul_transpose_b ins(%[[X]], %[[A]] : tensor<5x6xf32>, tensor<3x6xf32>)
// CHECK: %[[RB:.*]] = linalg.copy ins(%[[ROWS]] : tensor<7x6xf32>) outs(%{{.*}} : tensor<7x6xbf16>)
// CHECK-NEXT: "perft.grouped_matmul"(%[[RB]], %[[BANK]], %[[OFF]]) {transpose_w = true} : (tensor<7x6xbf16>, tensor<2x4x6xbf16>, tensor<3xi32>) -> tensor<7x4xf32>
// CHECK-LABEL: func.func @f32_weights(
// CHECK-NOT: linalg.copy
// CHECK: return
module {
  func.func @layer(%x: tensor<5x6xf32>, %wq: tensor<8x6xbf16>, %wk: tensor<8x6xbf16>, %A: tensor<3x6xf32>,
                   %rows: tensor<7x6xf32>, %bank: tensor<2x4x6xbf16>, %offsets: tensor<3xi32>)
      -> (tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x3xf32>, tensor<7x4xf32>) {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x8xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %q = linalg.matmul_transpose_b ins(%x, %wq : tensor<5x6xf32>, tensor<8x6xbf16>) outs(%z0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %e1 = tensor.empty() : tensor<5x8xf32>
    %z1 = linalg.fill ins(%c0 : f32) outs(%e1 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %k = linalg.matmul_transpose_b ins(%x, %wk : tensor<5x6xf32>, tensor<8x6xbf16>) outs(%z1 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %e2 = tensor.empty() : tensor<5x3xf32>
    %z2 = linalg.fill ins(%c0 : f32) outs(%e2 : tensor<5x3xf32>) -> tensor<5x3xf32>
    %a = linalg.matmul_transpose_b ins(%x, %A : tensor<5x6xf32>, tensor<3x6xf32>) outs(%z2 : tensor<5x3xf32>) -> tensor<5x3xf32>
    %h = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = true} : (tensor<7x6xf32>, tensor<2x4x6xbf16>, tensor<3xi32>) -> tensor<7x4xf32>
    return %q, %k, %a, %h : tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x3xf32>, tensor<7x4xf32>
  }
  func.func @f32_weights(%x: tensor<5x6xf32>, %w: tensor<6x8xf32>) -> tensor<5x8xf32> {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x8xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %y = linalg.matmul ins(%x, %w : tensor<5x6xf32>, tensor<6x8xf32>) outs(%z0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    return %y : tensor<5x8xf32>
  }
}
