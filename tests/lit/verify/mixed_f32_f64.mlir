// verify.c: the float values of one op share one element type; an f32 rmsnorm
// with an f64 weight is rejected.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<4x3xf32>, %w: tensor<3xf64>) {
    // CHECK: {{.*}}mixed_f32_f64.mlir:[[@LINE+1]]:10: error: 'perft.rmsnorm' op operand 1 (w) must have the element type of the op's other float values, found tensor<3xf64>
    %y = "perft.rmsnorm"(%x, %w) {eps = 1.0e-5 : f64} : (tensor<4x3xf32>, tensor<3xf64>) -> tensor<4x3xf32>
    // CHECK-NOT: error:
    return
  }
}
