// verify_gathered_matmul: perm routes k rows per token of x, so its 7 rows must be a
// multiple of the 5 rows of x.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<5x6xf32>, %p: tensor<7xi32>, %b: tensor<3x2x6xf32>, %o: tensor<4xi32>) {
    // CHECK: {{.*}}gathered_matmul_bad_perm.mlir:[[@LINE+1]]:10: error: 'perft.gathered_matmul' op the 7 routed rows of perm must be a multiple of the 5 rows of x
    %y = "perft.gathered_matmul"(%x, %p, %b, %o) {transpose_w = true} : (tensor<5x6xf32>, tensor<7xi32>, tensor<3x2x6xf32>, tensor<4xi32>) -> tensor<7x2xf32>
    // CHECK-NOT: error:
    return
  }
}
