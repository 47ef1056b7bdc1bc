// verify_combine_grad_weights: dy has one row per token of the result dw
// (dw has 5 tokens, dy 4 rows).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%dy: tensor<4x2xf32>, %r: tensor<10x2xf32>, %p: tensor<10xi32>) {
    // CHECK: {{.*}}combine_grad_weights_bad_tokens.mlir:[[@LINE+1]]:11: error: 'perft.combine_grad_weights' op dy dimension 0 must be the tokens of w (5), found 4
    %dw = "perft.combine_grad_weights"(%dy, %r, %p) : (tensor<4x2xf32>, tensor<10x2xf32>, tensor<10xi32>) -> tensor<5x2xf32>
    // CHECK-NOT: error:
    return
  }
}
