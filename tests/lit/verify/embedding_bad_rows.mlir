// verify_embedding: y has one row per id (5 ids, y has 6 rows).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%t: tensor<10x4xf32>, %ids: tensor<5xi32>) {
    // CHECK: {{.*}}embedding_bad_rows.mlir:[[@LINE+1]]:10: error: 'perft.embedding' op y dimension 0 must be the ids (5), found 6
    %y = "perft.embedding"(%t, %ids) : (tensor<10x4xf32>, tensor<5xi32>) -> tensor<6x4xf32>
    // CHECK-NOT: error:
    return
  }
}
