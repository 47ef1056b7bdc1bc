// IRDL: every attribute of the table entry is required; top_k without k is rejected.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%p: tensor<4x3xf32>) {
    // CHECK: {{.*}}missing_attribute.mlir:[[@LINE+1]]:14: error: 'perft.top_k' op attribute "k" is expected but not provided
    %w, %i = "perft.top_k"(%p) {renormalize = false} : (tensor<4x3xf32>) -> (tensor<4x2xf32>, tensor<4x2xi32>)
    // CHECK-NOT: error:
    return
  }
}
