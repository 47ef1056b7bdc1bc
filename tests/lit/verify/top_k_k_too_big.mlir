// verify_top_k: k must lie between 1 and the number of columns of p.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%p: tensor<4x3xf32>) {
    // CHECK: {{.*}}top_k_k_too_big.mlir:[[@LINE+1]]:14: error: 'perft.top_k' op k = 4 must be between 1 and the 3 columns of p
    %w, %i = "perft.top_k"(%p) {k = 4 : i64, renormalize = false} : (tensor<4x3xf32>) -> (tensor<4x4xf32>, tensor<4x4xi32>)
    // CHECK-NOT: error:
    return
  }
}
