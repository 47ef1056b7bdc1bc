// IRDL: the perft (tensor) form takes tensors; a memref operand is rejected
// (memrefs belong to the perft_buffer form).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: memref<4x3xf32>) {
    // CHECK: {{.*}}memref_to_tensor_op.mlir:[[@LINE+1]]:10: error: 'perft.softmax' op expected base type 'builtin.tensor' but got 'builtin.memref'
    %y = "perft.softmax"(%x) : (memref<4x3xf32>) -> tensor<4x3xf32>
    // CHECK-NOT: error:
    return
  }
}
