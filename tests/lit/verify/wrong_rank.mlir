// verify.c: ranks come from the op table; softmax takes a rank-2 tensor, not rank 1.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<4xf32>) {
    // CHECK: {{.*}}wrong_rank.mlir:[[@LINE+1]]:10: error: 'perft.softmax' op operand 0 (x) must have rank 2, found tensor<4xf32>
    %y = "perft.softmax"(%x) : (tensor<4xf32>) -> tensor<4xf32>
    // CHECK-NOT: error:
    return
  }
}
