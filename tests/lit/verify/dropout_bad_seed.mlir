// verify_dropout: the seed is one i32 (tensor<1xi32>), not two.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<4x3xf32>, %s: tensor<2xi32>) {
    // CHECK: {{.*}}dropout_bad_seed.mlir:[[@LINE+1]]:10: error: 'perft.dropout' op seed dimension 0 must be one seed (1), found 2
    %y = "perft.dropout"(%x, %s) {p = 0.5 : f64} : (tensor<4x3xf32>, tensor<2xi32>) -> tensor<4x3xf32>
    // CHECK-NOT: error:
    return
  }
}
