// perft.softmax keeps its input's type (one IRDL type variable for x and y):
// a softmax declared to turn tensor<4x3xf32> into tensor<7xf32> is rejected by IRDL,
// and the diagnostic names the op.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<4x3xf32>) {
    // CHECK: {{.*}}softmax_bad_result.mlir:[[@LINE+1]]:10: error: 'perft.softmax' op expected 'tensor<4x3xf32>' but got 'tensor<7xf32>'
    %y = "perft.softmax"(%x) : (tensor<4x3xf32>) -> tensor<7xf32>
    // CHECK-NOT: error:
    return
  }
}
