// verify.c: every perft value has a static shape; tensor<?x3xf32> is rejected.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<?x3xf32>) {
    // CHECK: {{.*}}dynamic_shape.mlir:[[@LINE+1]]:10: error: 'perft.softmax' op operand 0 (x) must have a static shape, found tensor<?x3xf32>
    %y = "perft.softmax"(%x) : (tensor<?x3xf32>) -> tensor<?x3xf32>
    // CHECK-NOT: error:
    return
  }
}
