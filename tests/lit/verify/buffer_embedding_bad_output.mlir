// The buffer form's outputs are operands after the inputs: in
// perft_buffer.embedding(table, ids, y) the output y must have one row per id (5, found 6).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%t: memref<10x4xf32>, %ids: memref<5xi32>, %y: memref<6x4xf32>) {
    // CHECK: {{.*}}buffer_embedding_bad_output.mlir:[[@LINE+1]]:5: error: 'perft_buffer.embedding' op y dimension 0 must be the ids (5), found 6
    "perft_buffer.embedding"(%t, %ids, %y) : (memref<10x4xf32>, memref<5xi32>, memref<6x4xf32>) -> ()
    // CHECK-NOT: error:
    return
  }
}
