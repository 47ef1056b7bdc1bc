// perft-fuse-shared-input leaves a bf16 weight (perftc --frozen-dtype=bf16) out of a stack: the GEMM
// widens it as it reads it, and stacking would copy it into an f32 weight every step. Two f32
// weights on the same input still join.
// RUN: %perft_opt %s -p perft-fuse-shared-input | FileCheck %s

// CHECK-LABEL: func.func @mixed(
// CHECK-NOT: perft.concat
// CHECK: linalg.matmul_transpose_b ins(%arg0, %arg1 : tensor<5x6xf32>, tensor<8x6xbf16>)
// CHECK-NEXT: %[[W:.*]] = "perft.concat"(%arg2, %arg3) {axis = 0 : i64} : (tensor<4x6xf32>, tensor<3x6xf32>) -> tensor<7x6xf32>
// CHECK-NOT: perft.concat
// CHECK: linalg.matmul_transpose_b ins(%arg0, %[[W]] : tensor<5x6xf32>, tensor<7x6xf32>)
// CHECK-NOT: perft.concat
module {
  func.func @mixed(%x: tensor<5x6xf32>, %router: tensor<8x6xbf16>, %peft_router: tensor<4x6xf32>, %A: tensor<3x6xf32>)
      -> (tensor<5x8xf32>, tensor<5x4xf32>, tensor<5x3xf32>) {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x8xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %l = linalg.matmul_transpose_b ins(%x, %router : tensor<5x6xf32>, tensor<8x6xbf16>) outs(%z0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %e1 = tensor.empty() : tensor<5x4xf32>
    %z1 = linalg.fill ins(%c0 : f32) outs(%e1 : tensor<5x4xf32>) -> tensor<5x4xf32>
    %q = linalg.matmul_transpose_b ins(%x, %peft_router : tensor<5x6xf32>, tensor<4x6xf32>) outs(%z1 : tensor<5x4xf32>) -> tensor<5x4xf32>
    %e2 = tensor.empty() : tensor<5x3xf32>
    %z2 = linalg.fill ins(%c0 : f32) outs(%e2 : tensor<5x3xf32>) -> tensor<5x3xf32>
    %a = linalg.matmul_transpose_b ins(%x, %A : tensor<5x6xf32>, tensor<3x6xf32>) outs(%z2 : tensor<5x3xf32>) -> tensor<5x3xf32>
    return %l, %q, %a : tensor<5x8xf32>, tensor<5x4xf32>, tensor<5x3xf32>
  }
}
