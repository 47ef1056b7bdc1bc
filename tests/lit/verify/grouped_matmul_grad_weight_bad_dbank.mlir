// verify_grouped_matmul_grad_weight: without transpose_w dbank is [E, K, N],
// so its last dimension must be the 2 columns of dy (it is 5).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%dy: tensor<10x2xf32>, %r: tensor<10x6xf32>, %o: tensor<4xi32>) {
    // CHECK: {{.*}}grouped_matmul_grad_weight_bad_dbank.mlir:[[@LINE+1]]:11: error: 'perft.grouped_matmul_grad_weight' op dbank dimension 2 must be the columns of dy (2), found 5
    %db = "perft.grouped_matmul_grad_weight"(%dy, %r, %o) {transpose_w = false} : (tensor<10x2xf32>, tensor<10x6xf32>, tensor<4xi32>) -> tensor<3x6x5xf32>
    // CHECK-NOT: error:
    return
  }
}
