// verify_dropout: the rate p lies in [0, 1); p = 1.0 is rejected.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<4x3xf32>, %s: tensor<1xi32>) {
    // CHECK: {{.*}}dropout_bad_rate.mlir:[[@LINE+1]]:10: error: 'perft.dropout' op p = 1 must be in [0, 1)
    %y = "perft.dropout"(%x, %s) {p = 1.0 : f64} : (tensor<4x3xf32>, tensor<1xi32>) -> tensor<4x3xf32>
    // CHECK-NOT: error:
    return
  }
}
