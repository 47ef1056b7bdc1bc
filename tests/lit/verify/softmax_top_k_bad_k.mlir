// verify_softmax_top_k: k lies between 1 and the columns of x.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<5x4xf32>) {
    // CHECK: {{.*}}softmax_top_k_bad_k.mlir:[[@LINE+1]]:18: error: 'perft.softmax_top_k' op k = 5 must be between 1 and the 4 columns of x
    %p, %w, %i = "perft.softmax_top_k"(%x) {k = 5 : i64, renormalize = false} : (tensor<5x4xf32>) -> (tensor<5x4xf32>, tensor<5x5xf32>, tensor<5x5xi32>)
    // CHECK-NOT: error:
    return
  }
}
