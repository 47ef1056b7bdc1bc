// verify_embedding_grad: dtable is as wide as dy (4 columns, dtable has 3).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%ids: tensor<5xi32>, %dy: tensor<5x4xf32>) {
    // CHECK: {{.*}}embedding_grad_bad_width.mlir:[[@LINE+1]]:11: error: 'perft.embedding_grad' op dtable dimension 1 must be the columns of dy (4), found 3
    %dt = "perft.embedding_grad"(%ids, %dy) : (tensor<5xi32>, tensor<5x4xf32>) -> tensor<10x3xf32>
    // CHECK-NOT: error:
    return
  }
}
