// RUN: not %perftc %s --emit=autodiff 2>&1 | FileCheck %s
// CHECK: error: the loss does not depend on any trainable parameter: nothing to train
module {
  func.func @forward(%w: tensor<2x2xf32> {perft.param = "w", perft.trainable = false, perft.init = "zeros"},
                     %t: tensor<2x2xf32> {perft.input = "t"}) -> (tensor<f32> {perft.loss}) {
    %l = "perft.mse"(%w, %t) : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
