// A bare top-level op with a wrongly shaped perft op: the error still points into the file.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

func.func @f(%x: tensor<4x3xf32>, %w: tensor<5xf32>) -> tensor<4x3xf32> {
  // CHECK: {{.*}}bare_function_bad.mlir:[[@LINE+1]]:8: error: 'perft.rmsnorm' op w dimension 0 must be the columns of x (3), found 5
  %y = "perft.rmsnorm"(%x, %w) {eps = 1.0e-6 : f64} : (tensor<4x3xf32>, tensor<5xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}
