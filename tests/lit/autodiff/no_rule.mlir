// RUN: not %perftc %s --emit=autodiff 2>&1 | FileCheck %s
// CHECK: error: autodiff: no backward rule for 'linalg.transpose'
module {
  func.func @forward(%w: tensor<2x3xf32> {perft.param = "w", perft.trainable = true, perft.init = "zeros"},
                     %t: tensor<3x2xf32> {perft.input = "t"}) -> (tensor<f32> {perft.loss}) {
    %e = tensor.empty() : tensor<3x2xf32>
    %wt = linalg.transpose ins(%w : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>) permutation = [1, 0]
    %l = "perft.mse"(%wt, %t) : (tensor<3x2xf32>, tensor<3x2xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
