// verify_cross_entropy: one label per row of logits (5 rows, 6 labels).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%l: tensor<5x10xf32>, %lab: tensor<6xi32>) {
    // CHECK: {{.*}}cross_entropy_bad_labels.mlir:[[@LINE+1]]:13: error: 'perft.cross_entropy' op labels dimension 0 must be the rows of logits (5), found 6
    %loss = "perft.cross_entropy"(%l, %lab) : (tensor<5x10xf32>, tensor<6xi32>) -> tensor<f32>
    // CHECK-NOT: error:
    return
  }
}
