// verify_cross_entropy: one label per row of logits (5 rows, 6 labels; labels [B, S] count B·S).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%l: tensor<5x10xf32>, %lab: tensor<6xi32>, %lab2: tensor<2x3xi32>) {
    // CHECK: {{.*}}cross_entropy_bad_labels.mlir:[[@LINE+1]]:13: error: 'perft.cross_entropy' op labels have 6 elements, but logits 5 rows (one label a row)
    %loss = "perft.cross_entropy"(%l, %lab) : (tensor<5x10xf32>, tensor<6xi32>) -> tensor<f32>
    // CHECK: {{.*}}cross_entropy_bad_labels.mlir:[[@LINE+1]]:14: error: 'perft.cross_entropy' op labels have 6 elements, but logits 5 rows (one label a row)
    %loss2 = "perft.cross_entropy"(%l, %lab2) : (tensor<5x10xf32>, tensor<2x3xi32>) -> tensor<f32>
    // CHECK-NOT: error:
    return
  }
}
