// perft-fuse-shared-input on weight gradients: dyᵀ·x for one x, the dy arriving one by one, become
// one GEMM over the dy stacked along their columns, at the place of the last one; the weight
// gradients are its row slices.
// RUN: %perft_opt %s -p perft-fuse-shared-input | FileCheck %s

// CHECK-LABEL: func.func @weight_gradients(
// CHECK: %[[DQ:.*]] = "perft.softmax"(%arg3)
// CHECK-NEXT: %[[DY:.*]] = "perft.concat"(%arg2, %[[DQ]]) {axis = 1 : i64} : (tensor<5x8xf32>, tensor<5x4xf32>) -> tensor<5x12xf32>
// CHECK: %[[G:.*]] = linalg.matmul_transpose_a ins(%[[DY]], %arg0 : tensor<5x12xf32>, tensor<5x6xf32>) outs(%{{.*}} : tensor<12x6xf32>)
// CHECK-NEXT: %[[DR:.*]] = "perft.slice"(%[[G]]) {axis = 0 : i64, start = 0 : i64} : (tensor<12x6xf32>) -> tensor<8x6xf32>
// CHECK-NEXT: %[[DQR:.*]] = "perft.slice"(%[[G]]) {axis = 0 : i64, start = 8 : i64} : (tensor<12x6xf32>) -> tensor<4x6xf32>
// CHECK-NEXT: return %[[DR]], %[[DQR]]

// The first gradient is read before the second dy exists: nothing joins.
// CHECK-LABEL: func.func @read_between(
// CHECK-NOT: perft.concat
// CHECK: return
module {
  func.func @weight_gradients(%x: tensor<5x6xf32>, %unused: tensor<5x6xf32>, %dl: tensor<5x8xf32>, %q: tensor<5x4xf32>)
      -> (tensor<8x6xf32>, tensor<4x6xf32>) {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<8x6xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<8x6xf32>) -> tensor<8x6xf32>
    %dr = linalg.matmul_transpose_a ins(%dl, %x : tensor<5x8xf32>, tensor<5x6xf32>) outs(%z0 : tensor<8x6xf32>) -> tensor<8x6xf32>
    %dq = "perft.softmax"(%q) : (tensor<5x4xf32>) -> tensor<5x4xf32>
    %e1 = tensor.empty() : tensor<4x6xf32>
    %z1 = linalg.fill ins(%c0 : f32) outs(%e1 : tensor<4x6xf32>) -> tensor<4x6xf32>
    %dqr = linalg.matmul_transpose_a ins(%dq, %x : tensor<5x4xf32>, tensor<5x6xf32>) outs(%z1 : tensor<4x6xf32>) -> tensor<4x6xf32>
    return %dr, %dqr : tensor<8x6xf32>, tensor<4x6xf32>
  }
  func.func @read_between(%x: tensor<5x6xf32>, %dl: tensor<5x6xf32>, %q: tensor<5x4xf32>) -> (tensor<6x6xf32>, tensor<4x6xf32>) {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<6x6xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<6x6xf32>) -> tensor<6x6xf32>
    %dr = linalg.matmul_transpose_a ins(%dl, %x : tensor<5x6xf32>, tensor<5x6xf32>) outs(%z0 : tensor<6x6xf32>) -> tensor<6x6xf32>
    %s = "perft.softmax"(%dr) : (tensor<6x6xf32>) -> tensor<6x6xf32>
    %dq = "perft.slice"(%s) {axis = 1 : i64, start = 0 : i64} : (tensor<6x6xf32>) -> tensor<6x4xf32>
    %dqt = "perft.slice"(%dq) {axis = 0 : i64, start = 1 : i64} : (tensor<6x4xf32>) -> tensor<5x4xf32>
    %e1 = tensor.empty() : tensor<4x6xf32>
    %z1 = linalg.fill ins(%c0 : f32) outs(%e1 : tensor<4x6xf32>) -> tensor<4x6xf32>
    %dqr = linalg.matmul_transpose_a ins(%dqt, %x : tensor<5x4xf32>, tensor<5x6xf32>) outs(%z1 : tensor<4x6xf32>) -> tensor<4x6xf32>
    return %s, %dqr : tensor<6x6xf32>, tensor<4x6xf32>
  }
}
