// RUN: %perftc %s --emit=autodiff | FileCheck %s
// A frozen weight w0 feeds a trainable one: gradient flows through w0's matmul
// toward w1 but no gradient is built for w0 itself, and nothing for the input.

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: tensor<3x2xf32> {perft.grad = "w1"})
// CHECK-NOT: perft.grad = "w0"
// CHECK: linalg.matmul_transpose_a ins(%[[H:.*]], %{{.*}} : tensor<5x3xf32>, tensor<5x2xf32>)
// CHECK-NOT: linalg.matmul_transpose_a ins(%arg2
// CHECK: return
module {
  func.func @forward(%w0: tensor<4x3xf32> {perft.param = "w0", perft.trainable = false, perft.init = "normal 0 1"},
                     %w1: tensor<3x2xf32> {perft.param = "w1", perft.trainable = true, perft.init = "normal 0 1"},
                     %x: tensor<5x4xf32> {perft.input = "x"}, %t: tensor<5x2xf32> {perft.input = "t"})
      -> (tensor<f32> {perft.loss}) {
    %cst = arith.constant 0.0 : f32
    %e0 = tensor.empty() : tensor<5x3xf32>
    %z0 = linalg.fill ins(%cst : f32) outs(%e0 : tensor<5x3xf32>) -> tensor<5x3xf32>
    %h = linalg.matmul ins(%x, %w0 : tensor<5x4xf32>, tensor<4x3xf32>) outs(%z0 : tensor<5x3xf32>) -> tensor<5x3xf32>
    %e1 = tensor.empty() : tensor<5x2xf32>
    %z1 = linalg.fill ins(%cst : f32) outs(%e1 : tensor<5x2xf32>) -> tensor<5x2xf32>
    %y = linalg.matmul ins(%h, %w1 : tensor<5x3xf32>, tensor<3x2xf32>) outs(%z1 : tensor<5x2xf32>) -> tensor<5x2xf32>
    %l = "perft.mse"(%y, %t) : (tensor<5x2xf32>, tensor<5x2xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
