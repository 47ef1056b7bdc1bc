// verify_dispatch_grad: the rows of drows are tokens x slots, so a multiple of
// the tokens of dx (10 rows, 3 tokens).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%d: tensor<10x6xf32>, %p: tensor<10xi32>) {
    // CHECK: {{.*}}dispatch_grad_bad_tokens.mlir:[[@LINE+1]]:11: error: 'perft.dispatch_grad' op the 10 rows of drows must be a multiple of the 3 tokens of dx
    %dx = "perft.dispatch_grad"(%d, %p) : (tensor<10x6xf32>, tensor<10xi32>) -> tensor<3x6xf32>
    // CHECK-NOT: error:
    return
  }
}
