// The driver runs the same verifier right after parsing: perftc on a .mlir file with a
// bad perft.rmsnorm (weight of 5 elements for 3 columns) stops with the op's error,
// exactly as perft-opt reports it.
// RUN: not %perftc %s --emit=autodiff 2>&1 | FileCheck %s
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @forward(%x: tensor<4x3xf32> {perft.input = "x"},
                     %w: tensor<5xf32> {perft.param = "w", perft.trainable = true, perft.init = "ones"},
                     %t: tensor<4x3xf32> {perft.input = "t"}) -> (tensor<f32> {perft.loss}) {
    // CHECK: {{.*}}driver_rmsnorm_bad_weight.mlir:[[@LINE+1]]:10: error: 'perft.rmsnorm' op w dimension 0 must be the columns of x (3), found 5
    %y = "perft.rmsnorm"(%x, %w) {eps = 1.0e-5 : f64} : (tensor<4x3xf32>, tensor<5xf32>) -> tensor<4x3xf32>
    // CHECK-NOT: error:
    %l = "perft.mse"(%y, %t) : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
