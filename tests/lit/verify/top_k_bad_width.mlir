// verify_top_k: the weights w have k columns (here k = 2, w has 3).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%p: tensor<4x3xf32>) {
    // CHECK: {{.*}}top_k_bad_width.mlir:[[@LINE+1]]:14: error: 'perft.top_k' op w dimension 1 must be k (2), found 3
    %w, %i = "perft.top_k"(%p) {k = 2 : i64, renormalize = false} : (tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<4x2xi32>)
    // CHECK-NOT: error:
    return
  }
}
