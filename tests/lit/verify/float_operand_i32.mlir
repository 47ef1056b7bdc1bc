// verify.c: a float operand must hold f32 or f64; softmax on i32 is rejected.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<4x3xi32>) {
    // CHECK: {{.*}}float_operand_i32.mlir:[[@LINE+1]]:10: error: 'perft.softmax' op operand 0 (x) must hold f32 or f64, found tensor<4x3xi32>
    %y = "perft.softmax"(%x) : (tensor<4x3xi32>) -> tensor<4x3xi32>
    // CHECK-NOT: error:
    return
  }
}
