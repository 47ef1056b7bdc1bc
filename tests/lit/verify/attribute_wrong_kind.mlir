// IRDL: an attribute has the kind the table gives; top_k's k is an integer,
// k = 2.0 is rejected.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%p: tensor<4x3xf32>) {
    // CHECK: {{.*}}attribute_wrong_kind.mlir:[[@LINE+1]]:14: error: 'perft.top_k' op expected base attribute 'builtin.integer' but got 'builtin.float'
    %w, %i = "perft.top_k"(%p) {k = 2.0 : f64, renormalize = false} : (tensor<4x3xf32>) -> (tensor<4x2xf32>, tensor<4x2xi32>)
    // CHECK-NOT: error:
    return
  }
}
