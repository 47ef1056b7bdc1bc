// perft-fuse-epilogue leaves a GEMM with a bf16 weight (a frozen base weight, perftc
// --frozen-dtype=bf16) whole: on the CUDA target it is a cuBLAS call on bf16 inputs, which a fused
// generated kernel would not be. The same GEMM with an f32 weight takes the add.
// RUN: %perft_opt %s -p perft-fuse-epilogue | FileCheck %s

// CHECK-LABEL: func.func @bf16_weight(
// CHECK-NOT: scale_add
// CHECK: linalg.matmul_transpose_b ins(%arg0, %arg1 : tensor<5x3xf32>, tensor<6x3xbf16>)
// CHECK: linalg.add
// CHECK-LABEL: func.func @f32_weight(
// CHECK-NEXT: "perft.matmul_scale_add"(%arg0, %arg1, %arg2) {scale = 1.000000e+00 : f64}
module {
  func.func @bf16_weight(%z: tensor<5x3xf32>, %W: tensor<6x3xbf16>, %y: tensor<5x6xf32>) -> tensor<5x6xf32> {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x6xf32>
    %f0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %u = linalg.matmul_transpose_b ins(%z, %W : tensor<5x3xf32>, tensor<6x3xbf16>) outs(%f0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %e1 = tensor.empty() : tensor<5x6xf32>
    %s = linalg.add ins(%y, %u : tensor<5x6xf32>, tensor<5x6xf32>) outs(%e1 : tensor<5x6xf32>) -> tensor<5x6xf32>
    return %s : tensor<5x6xf32>
  }
  func.func @f32_weight(%z: tensor<5x3xf32>, %W: tensor<6x3xf32>, %y: tensor<5x6xf32>) -> tensor<5x6xf32> {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x6xf32>
    %f0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %u = linalg.matmul_transpose_b ins(%z, %W : tensor<5x3xf32>, tensor<6x3xf32>) outs(%f0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %e1 = tensor.empty() : tensor<5x6xf32>
    %s = linalg.add ins(%y, %u : tensor<5x6xf32>, tensor<5x6xf32>) outs(%e1 : tensor<5x6xf32>) -> tensor<5x6xf32>
    return %s : tensor<5x6xf32>
  }
}
