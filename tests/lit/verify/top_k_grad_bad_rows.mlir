// verify_top_k_grad: idx has one row per row of p (p has 4, idx 5).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%p: tensor<4x3xf32>, %i: tensor<5x2xi32>, %w: tensor<4x2xf32>, %dw: tensor<4x2xf32>) {
    // CHECK: {{.*}}top_k_grad_bad_rows.mlir:[[@LINE+1]]:11: error: 'perft.top_k_grad' op idx dimension 0 must be the rows of p (4), found 5
    %dp = "perft.top_k_grad"(%p, %i, %w, %dw) {renormalize = false} : (tensor<4x3xf32>, tensor<5x2xi32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x3xf32>
    // CHECK-NOT: error:
    return
  }
}
