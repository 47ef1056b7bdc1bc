// perft-fuse-shared-input: products of one x with several weights become one product with the
// weights stacked (perft.concat); each old output is its slice of the joined one (perft.slice).
// RUN: %perft_opt %s -p perft-fuse-shared-input | FileCheck %s

// Two routers and a down-projection read %x: one concat chain, one fill, one GEMM, three slices,
// at the place of the first GEMM (its output is read before the others run).
// CHECK-LABEL: func.func @routers(
// CHECK-NEXT: %[[W01:.*]] = "perft.concat"(%arg1, %arg2) {axis = 0 : i64} : (tensor<8x6xf32>, tensor<4x6xf32>) -> tensor<12x6xf32>
// CHECK-NEXT: %[[W:.*]] = "perft.concat"(%[[W01]], %arg3) {axis = 0 : i64} : (tensor<12x6xf32>, tensor<3x6xf32>) -> tensor<15x6xf32>
// CHECK-NEXT: %[[C:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT: %[[E:.*]] = tensor.empty() : tensor<5x15xf32>
// CHECK-NEXT: %[[Z:.*]] = linalg.fill ins(%[[C]] : f32) outs(%[[E]] : tensor<5x15xf32>)
// CHECK-NEXT: %[[Y:.*]] = linalg.matmul_transpose_b ins(%arg0, %[[W]] : tensor<5x6xf32>, tensor<15x6xf32>) outs(%[[Z]] : tensor<5x15xf32>)
// CHECK-NEXT: %[[L:.*]] = "perft.slice"(%[[Y]]) {axis = 1 : i64, start = 0 : i64} : (tensor<5x15xf32>) -> tensor<5x8xf32>
// CHECK-NEXT: %[[Q:.*]] = "perft.slice"(%[[Y]]) {axis = 1 : i64, start = 8 : i64} : (tensor<5x15xf32>) -> tensor<5x4xf32>
// CHECK-NEXT: %[[A:.*]] = "perft.slice"(%[[Y]]) {axis = 1 : i64, start = 12 : i64} : (tensor<5x15xf32>) -> tensor<5x3xf32>
// CHECK-NEXT: %[[P:.*]] = "perft.softmax"(%[[L]])
// CHECK-NOT: linalg.matmul_transpose_b
// CHECK: return %[[P]], %[[Q]], %[[A]]

// x·W with W [K, N]: stacked along axis 1.
// CHECK-LABEL: func.func @axpy_form(
// CHECK-NEXT: %[[W:.*]] = "perft.concat"(%arg1, %arg2) {axis = 1 : i64} : (tensor<6x8xf32>, tensor<6x2xf32>) -> tensor<6x10xf32>
// CHECK: %[[Y:.*]] = linalg.matmul ins(%arg0, %[[W]] : tensor<5x6xf32>, tensor<6x10xf32>)
// CHECK-NEXT: "perft.slice"(%[[Y]]) {axis = 1 : i64, start = 0 : i64}
// CHECK-NEXT: "perft.slice"(%[[Y]]) {axis = 1 : i64, start = 8 : i64}

// Different inputs, or an init that is not a fill of one constant: nothing joins.
// CHECK-LABEL: func.func @not_shared(
// CHECK-NOT: perft.concat
// CHECK: linalg.matmul_transpose_b
// CHECK: linalg.matmul_transpose_b
// CHECK: linalg.matmul_transpose_b
// CHECK-NOT: perft.concat
module {
  func.func @routers(%x: tensor<5x6xf32>, %router: tensor<8x6xf32>, %peft_router: tensor<4x6xf32>, %A: tensor<3x6xf32>)
      -> (tensor<5x8xf32>, tensor<5x4xf32>, tensor<5x3xf32>) {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x8xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %l = linalg.matmul_transpose_b ins(%x, %router : tensor<5x6xf32>, tensor<8x6xf32>) outs(%z0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %p = "perft.softmax"(%l) : (tensor<5x8xf32>) -> tensor<5x8xf32>
    %c1 = arith.constant 0.000000e+00 : f32
    %e1 = tensor.empty() : tensor<5x4xf32>
    %z1 = linalg.fill ins(%c1 : f32) outs(%e1 : tensor<5x4xf32>) -> tensor<5x4xf32>
    %q = linalg.matmul_transpose_b ins(%x, %peft_router : tensor<5x6xf32>, tensor<4x6xf32>) outs(%z1 : tensor<5x4xf32>) -> tensor<5x4xf32>
    %c2 = arith.constant 0.000000e+00 : f32
    %e2 = tensor.empty() : tensor<5x3xf32>
    %z2 = linalg.fill ins(%c2 : f32) outs(%e2 : tensor<5x3xf32>) -> tensor<5x3xf32>
    %a = linalg.matmul_transpose_b ins(%x, %A : tensor<5x6xf32>, tensor<3x6xf32>) outs(%z2 : tensor<5x3xf32>) -> tensor<5x3xf32>
    return %p, %q, %a : tensor<5x8xf32>, tensor<5x4xf32>, tensor<5x3xf32>
  }
  func.func @axpy_form(%x: tensor<5x6xf32>, %w0: tensor<6x8xf32>, %w1: tensor<6x2xf32>) -> (tensor<5x8xf32>, tensor<5x2xf32>) {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x8xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %y0 = linalg.matmul ins(%x, %w0 : tensor<5x6xf32>, tensor<6x8xf32>) outs(%z0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %e1 = tensor.empty() : tensor<5x2xf32>
    %z1 = linalg.fill ins(%c0 : f32) outs(%e1 : tensor<5x2xf32>) -> tensor<5x2xf32>
    %y1 = linalg.matmul ins(%x, %w1 : tensor<5x6xf32>, tensor<6x2xf32>) outs(%z1 : tensor<5x2xf32>) -> tensor<5x2xf32>
    return %y0, %y1 : tensor<5x8xf32>, tensor<5x2xf32>
  }
  func.func @not_shared(%x: tensor<5x6xf32>, %h: tensor<5x6xf32>, %w0: tensor<8x6xf32>, %w1: tensor<4x6xf32>, %init: tensor<5x4xf32>)
      -> (tensor<5x8xf32>, tensor<5x4xf32>, tensor<5x4xf32>) {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x8xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %y0 = linalg.matmul_transpose_b ins(%x, %w0 : tensor<5x6xf32>, tensor<8x6xf32>) outs(%z0 : tensor<5x8xf32>) -> tensor<5x8xf32>
    %e1 = tensor.empty() : tensor<5x4xf32>
    %z1 = linalg.fill ins(%c0 : f32) outs(%e1 : tensor<5x4xf32>) -> tensor<5x4xf32>
    %y1 = linalg.matmul_transpose_b ins(%h, %w1 : tensor<5x6xf32>, tensor<4x6xf32>) outs(%z1 : tensor<5x4xf32>) -> tensor<5x4xf32>
    %y2 = linalg.matmul_transpose_b ins(%x, %w1 : tensor<5x6xf32>, tensor<4x6xf32>) outs(%init : tensor<5x4xf32>) -> tensor<5x4xf32>
    return %y0, %y1, %y2 : tensor<5x8xf32>, tensor<5x4xf32>, tensor<5x4xf32>
  }
}
