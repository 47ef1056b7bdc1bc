// RUN: %perftc %s --emit=autodiff | FileCheck %s
// The backward of y = silu(x @ w), loss = mse(y, t): only w is trainable.

// CHECK-LABEL: func.func @forward
// CHECK-NOT: perft.mse_grad
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: -> (tensor<f32> {perft.loss}, tensor<5x3xf32> {perft.output = "y"}, tensor<4x3xf32> {perft.grad = "w"})
// CHECK: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DY:.*]] = "perft.mse_grad"(%[[Y:.*]], %arg2, %[[ONE]])
// CHECK: %[[DS:.*]] = "perft.silu_grad"(%{{.*}}, %[[DY]])
// CHECK: %[[DW:.*]] = linalg.matmul_transpose_a ins(%arg1, %[[DS]]
// CHECK: return %{{.*}}, %{{.*}}, %[[DW]]
module attributes {perft.tokens = 5 : i64} {
  func.func @forward(%w: tensor<4x3xf32> {perft.param = "w", perft.trainable = true, perft.init = "normal 0 1"},
                     %x: tensor<5x4xf32> {perft.input = "x"}, %t: tensor<5x3xf32> {perft.input = "t"})
      -> (tensor<f32> {perft.loss}, tensor<5x3xf32> {perft.output = "y"}) {
    %cst = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<5x3xf32>
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
    %y = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32>) outs(%z : tensor<5x3xf32>) -> tensor<5x3xf32>
    %s = "perft.silu"(%y) : (tensor<5x3xf32>) -> tensor<5x3xf32>
    %l = "perft.mse"(%s, %t) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<f32>
    return %l, %s : tensor<f32>, tensor<5x3xf32>
  }
}
