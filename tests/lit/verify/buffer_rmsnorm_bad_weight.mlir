// The buffer form is verified too: perft_buffer.rmsnorm(x, w, y, partial) on memrefs
// (inputs, then outputs, then scratch) with a weight of 5 elements for 3 columns.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: memref<4x3xf32>, %w: memref<5xf32>, %y: memref<4x3xf32>, %partial: memref<1024xf32>) {
    // CHECK: {{.*}}buffer_rmsnorm_bad_weight.mlir:[[@LINE+1]]:5: error: 'perft_buffer.rmsnorm' op w dimension 0 must be the columns of x (3), found 5
    "perft_buffer.rmsnorm"(%x, %w, %y, %partial) {eps = 1.0e-5 : f64} : (memref<4x3xf32>, memref<5xf32>, memref<4x3xf32>, memref<1024xf32>) -> ()
    // CHECK-NOT: error:
    return
  }
}
