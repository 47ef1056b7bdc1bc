// verify_rmsnorm_grad_weight: dw has one element per column of x (3, not 4).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<4x3xf32>, %dy: tensor<4x3xf32>) {
    // CHECK: {{.*}}rmsnorm_grad_weight_bad_dw.mlir:[[@LINE+1]]:11: error: 'perft.rmsnorm_grad_weight' op dw dimension 0 must be the columns of x (3), found 4
    %dw = "perft.rmsnorm_grad_weight"(%x, %dy) {eps = 1.0e-5 : f64} : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4xf32>
    // CHECK-NOT: error:
    return
  }
}
