// perft.rmsnorm's weight has one element per column of x (verify_rmsnorm):
// a weight of 5 elements for 3 columns is an error at the op.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<4x3xf32>, %w: tensor<5xf32>) {
    // CHECK: {{.*}}rmsnorm_bad_weight.mlir:[[@LINE+1]]:10: error: 'perft.rmsnorm' op w dimension 0 must be the columns of x (3), found 5
    %y = "perft.rmsnorm"(%x, %w) {eps = 1.0e-5 : f64} : (tensor<4x3xf32>, tensor<5xf32>) -> tensor<4x3xf32>
    // CHECK-NOT: error:
    return
  }
}
