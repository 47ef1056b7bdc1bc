// perft-fuse-route moves a combine into the epilogue of the expert GEMM that feeds it when
// that GEMM (dot form: transpose_w) has no other reader: the R x N expert output goes; a scale
// between them (a LoRA's alpha / r) moves into the epilogue too.
// RUN: %perft_opt %s -p perft-fuse-route | FileCheck %s

// CHECK-LABEL: func.func @fused(
// CHECK-NEXT: %[[Y:.*]] = "perft.grouped_matmul_combine"(%arg0, %arg1, %arg2, %arg3, %arg4) {scale = 1.000000e+00 : f64} : (tensor<10x6xf32>, tensor<3x4x6xf32>, tensor<4xi32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x4xf32>
// CHECK-NEXT: return %[[Y]]
// CHECK-NOT: perft.combine"

// CHECK-LABEL: func.func @scaled(
// CHECK-NEXT: %[[Y:.*]] = "perft.grouped_matmul_combine"(%arg0, %arg1, %arg2, %arg3, %arg4) {scale = 2.000000e+00 : f64}
// CHECK-NEXT: return %[[Y]]

// The scaled output is also read elsewhere: nothing fuses.
// CHECK-LABEL: func.func @scaled_read_twice(
// CHECK: "perft.grouped_matmul"
// CHECK: "perft.scale"
// CHECK: "perft.combine"
// CHECK-NOT: grouped_matmul_combine

// The expert output is also read by combine's weight gradient: it must exist, nothing fuses.
// CHECK-LABEL: func.func @read_twice(
// CHECK: "perft.grouped_matmul"
// CHECK: "perft.combine"
// CHECK-NOT: grouped_matmul_combine

// K = 1025, past the 1024 up to which a combined block's weights stay in L1: nothing fuses.
// CHECK-LABEL: func.func @long_k(
// CHECK: "perft.grouped_matmul"
// CHECK: "perft.combine"
// CHECK-NOT: grouped_matmul_combine

// The axpy form (bank [E, K, N]) has no combining epilogue: nothing fuses.
// CHECK-LABEL: func.func @axpy_form(
// CHECK: "perft.grouped_matmul"
// CHECK: "perft.combine"
// CHECK-NOT: grouped_matmul_combine
module {
  func.func @fused(%rows: tensor<10x6xf32>, %bank: tensor<3x4x6xf32>, %offsets: tensor<4xi32>, %perm: tensor<10xi32>,
                   %w: tensor<5x2xf32>) -> tensor<5x4xf32> {
    %y = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x4x6xf32>, tensor<4xi32>) -> tensor<10x4xf32>
    %out = "perft.combine"(%y, %perm, %w) : (tensor<10x4xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x4xf32>
    return %out : tensor<5x4xf32>
  }
  func.func @scaled(%rows: tensor<10x6xf32>, %bank: tensor<3x4x6xf32>, %offsets: tensor<4xi32>, %perm: tensor<10xi32>,
                    %w: tensor<5x2xf32>) -> tensor<5x4xf32> {
    %y = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x4x6xf32>, tensor<4xi32>) -> tensor<10x4xf32>
    %z = "perft.scale"(%y) {factor = 2.0 : f64} : (tensor<10x4xf32>) -> tensor<10x4xf32>
    %out = "perft.combine"(%z, %perm, %w) : (tensor<10x4xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x4xf32>
    return %out : tensor<5x4xf32>
  }
  func.func @scaled_read_twice(%rows: tensor<10x6xf32>, %bank: tensor<3x4x6xf32>, %offsets: tensor<4xi32>, %perm: tensor<10xi32>,
                               %w: tensor<5x2xf32>) -> (tensor<5x4xf32>, tensor<10x4xf32>) {
    %y = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x4x6xf32>, tensor<4xi32>) -> tensor<10x4xf32>
    %z = "perft.scale"(%y) {factor = 2.0 : f64} : (tensor<10x4xf32>) -> tensor<10x4xf32>
    %out = "perft.combine"(%z, %perm, %w) : (tensor<10x4xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x4xf32>
    return %out, %z : tensor<5x4xf32>, tensor<10x4xf32>
  }
  func.func @read_twice(%rows: tensor<10x6xf32>, %bank: tensor<3x4x6xf32>, %offsets: tensor<4xi32>, %perm: tensor<10xi32>,
                        %w: tensor<5x2xf32>, %dy: tensor<5x4xf32>) -> (tensor<5x4xf32>, tensor<5x2xf32>) {
    %y = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x4x6xf32>, tensor<4xi32>) -> tensor<10x4xf32>
    %out = "perft.combine"(%y, %perm, %w) : (tensor<10x4xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x4xf32>
    %dw = "perft.combine_grad_weights"(%dy, %y, %perm) : (tensor<5x4xf32>, tensor<10x4xf32>, tensor<10xi32>) -> tensor<5x2xf32>
    return %out, %dw : tensor<5x4xf32>, tensor<5x2xf32>
  }
  func.func @long_k(%rows: tensor<10x1025xf32>, %bank: tensor<3x4x1025xf32>, %offsets: tensor<4xi32>,
                    %perm: tensor<10xi32>, %w: tensor<5x2xf32>) -> tensor<5x4xf32> {
    %y = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = true} : (tensor<10x1025xf32>, tensor<3x4x1025xf32>, tensor<4xi32>) -> tensor<10x4xf32>
    %out = "perft.combine"(%y, %perm, %w) : (tensor<10x4xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x4xf32>
    return %out : tensor<5x4xf32>
  }
  func.func @axpy_form(%rows: tensor<10x6xf32>, %bank: tensor<3x6x4xf32>, %offsets: tensor<4xi32>, %perm: tensor<10xi32>,
                       %w: tensor<5x2xf32>) -> tensor<5x4xf32> {
    %y = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = false} : (tensor<10x6xf32>, tensor<3x6x4xf32>, tensor<4xi32>) -> tensor<10x4xf32>
    %out = "perft.combine"(%y, %perm, %w) : (tensor<10x4xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x4xf32>
    return %out : tensor<5x4xf32>
  }
}
