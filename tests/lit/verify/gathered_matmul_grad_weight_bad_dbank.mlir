// verify_gathered_matmul_grad_weight: with transpose_w dbank is [E, N, K]: its last
// dimension must be the 6 columns of x (it is 4).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%dy: tensor<10x2xf32>, %x: tensor<5x6xf32>, %p: tensor<10xi32>, %o: tensor<4xi32>) {
    // CHECK: {{.*}}gathered_matmul_grad_weight_bad_dbank.mlir:[[@LINE+1]]:11: error: 'perft.gathered_matmul_grad_weight' op dbank dimension 2 must be the columns of x (6), found 4
    %db = "perft.gathered_matmul_grad_weight"(%dy, %x, %p, %o) {transpose_w = true} : (tensor<10x2xf32>, tensor<5x6xf32>, tensor<10xi32>, tensor<4xi32>) -> tensor<3x2x4xf32>
    // CHECK-NOT: error:
    return
  }
}
