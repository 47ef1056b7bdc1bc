// verify_grouped_matmul: with transpose_w the bank is [E, N, K], so its last
// dimension must be the 6 columns of rows (it is 5).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%r: tensor<10x6xf32>, %b: tensor<3x2x5xf32>, %o: tensor<4xi32>) {
    // CHECK: {{.*}}grouped_matmul_bad_bank.mlir:[[@LINE+1]]:10: error: 'perft.grouped_matmul' op bank dimension 2 must be the columns of rows (6), found 5
    %y = "perft.grouped_matmul"(%r, %b, %o) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x2x5xf32>, tensor<4xi32>) -> tensor<10x2xf32>
    // CHECK-NOT: error:
    return
  }
}
