// verify_combine_grad_rows: drows has tokens x slots of w rows (5 x 2 = 10, not 8).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%dy: tensor<5x2xf32>, %p: tensor<8xi32>, %w: tensor<5x2xf32>) {
    // CHECK: {{.*}}combine_grad_rows_bad_rows.mlir:[[@LINE+1]]:11: error: 'perft.combine_grad_rows' op drows dimension 0 must be tokens x slots of w (10), found 8
    %dr = "perft.combine_grad_rows"(%dy, %p, %w) : (tensor<5x2xf32>, tensor<8xi32>, tensor<5x2xf32>) -> tensor<8x2xf32>
    // CHECK-NOT: error:
    return
  }
}
