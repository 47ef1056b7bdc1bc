// perft.slice: the window lies inside x.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<4x6xf32>) {
    // CHECK: {{.*}}slice_out_of_range.mlir:[[@LINE+1]]:10: error: 'perft.slice' op start = 4 with 3 elements of y runs past the 6 of x along axis 1
    %y = "perft.slice"(%x) {axis = 1 : i64, start = 4 : i64} : (tensor<4x6xf32>) -> tensor<4x3xf32>
    // CHECK-NOT: error:
    return
  }
}
