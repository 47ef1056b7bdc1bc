// verify_load_balance_grad: idx has one row per row of dp (dp has 4, idx 5).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%i: tensor<5x2xi32>, %dl: tensor<f32>) {
    // CHECK: {{.*}}load_balance_grad_bad_rows.mlir:[[@LINE+1]]:11: error: 'perft.load_balance_grad' op idx dimension 0 must be the rows of dp (4), found 5
    %dp = "perft.load_balance_grad"(%i, %dl) : (tensor<5x2xi32>, tensor<f32>) -> tensor<4x3xf32>
    // CHECK-NOT: error:
    return
  }
}
