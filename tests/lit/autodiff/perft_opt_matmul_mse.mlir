// perft-autodiff alone, via perft-opt: @forward stays as it is and @train_step is added with
// the forward ops, the seed dl = 1, mse_grad, and dW = Xᵀ·dY as linalg.matmul_transpose_a,
// returned after the loss as {perft.grad = "w"}.
// RUN: %perft_opt %s -p perft-autodiff | FileCheck %s

// CHECK-LABEL: func.func @forward(
// CHECK-SAME: -> (tensor<f32> {perft.loss}) {
// CHECK-NOT: perft.mse_grad
// CHECK: return
// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[W:[^:]*]]: tensor<4x3xf32> {perft.init = "normal 0 1", perft.param = "w", perft.trainable = true}, %[[X:[^:]*]]: tensor<5x4xf32> {perft.input = "x"}, %[[T:[^:]*]]: tensor<5x3xf32> {perft.input = "t"})
// CHECK-SAME: -> (tensor<f32> {perft.loss}, tensor<4x3xf32> {perft.grad = "w"}) {
// CHECK: %[[Y:.*]] = linalg.matmul ins(%[[X]], %[[W]] : tensor<5x4xf32>, tensor<4x3xf32>)
// CHECK-NEXT: %[[L:.*]] = "perft.mse"(%[[Y]], %[[T]])
// CHECK-NEXT: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[DY:.*]] = "perft.mse_grad"(%[[Y]], %[[T]], %[[ONE]]) : (tensor<5x3xf32>, tensor<5x3xf32>, tensor<f32>) -> tensor<5x3xf32>
// CHECK: %[[DW:.*]] = linalg.matmul_transpose_a ins(%[[X]], %[[DY]] : tensor<5x4xf32>, tensor<5x3xf32>) outs(%{{.*}} : tensor<4x3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT: return %[[L]], %[[DW]] : tensor<f32>, tensor<4x3xf32>
module {
  func.func @forward(%w: tensor<4x3xf32> {perft.param = "w", perft.trainable = true, perft.init = "normal 0 1"},
                     %x: tensor<5x4xf32> {perft.input = "x"}, %t: tensor<5x3xf32> {perft.input = "t"})
      -> (tensor<f32> {perft.loss}) {
    %cst = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<5x3xf32>
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
    %y = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32>) outs(%z : tensor<5x3xf32>) -> tensor<5x3xf32>
    %l = "perft.mse"(%y, %t) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
