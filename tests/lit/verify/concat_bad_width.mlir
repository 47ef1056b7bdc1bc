// perft.concat: the stacked operands agree along the other axis and the result is their sum.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%a: tensor<4x3xf32>, %b: tensor<2x5xf32>) {
    // CHECK: {{.*}}concat_bad_width.mlir:[[@LINE+1]]:10: error: 'perft.concat' op b dimension 1 must be that of a (3), found 5
    %y = "perft.concat"(%a, %b) {axis = 0 : i64} : (tensor<4x3xf32>, tensor<2x5xf32>) -> tensor<6x3xf32>
    // CHECK-NOT: error:
    return
  }
}
