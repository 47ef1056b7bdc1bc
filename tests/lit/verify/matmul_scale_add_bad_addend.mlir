// perft.matmul_scale_add: y = addend + scale * x.w^T; the addend is [rows of x, rows of w].
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<5x3xf32>, %w: tensor<6x3xf32>, %y: tensor<5x7xf32>) {
    // CHECK: {{.*}}matmul_scale_add_bad_addend.mlir:[[@LINE+1]]:10: error: 'perft.matmul_scale_add' op addend dimension 1 must be the rows of w (6), found 7
    %o = "perft.matmul_scale_add"(%x, %w, %y) {scale = 2.0 : f64} : (tensor<5x3xf32>, tensor<6x3xf32>, tensor<5x7xf32>) -> tensor<5x7xf32>
    // CHECK-NOT: error:
    return
  }
}
