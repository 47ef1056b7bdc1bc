// perft.reduce_sum / perft.broadcast: the reduced value has x's dims without the axis (or it as 1);
// a broadcast source's dims are 1 or those of the result, aligned from the right.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<5x6xf32>, %v: tensor<4xf32>) {
    // CHECK: {{.*}}reduce_bad_axis.mlir:[[@LINE+1]]:10: error: 'perft.reduce_sum' op y dimension 0 must be that of x (6), found 5
    %y = "perft.reduce_sum"(%x) {axis = 0 : i64} : (tensor<5x6xf32>) -> tensor<5xf32>
    // CHECK: {{.*}}reduce_bad_axis.mlir:[[@LINE+1]]:10: error: 'perft.broadcast' op x dimension 0 (4) must be 1 or that of y (6)
    %b = "perft.broadcast"(%v) : (tensor<4xf32>) -> tensor<5x6xf32>
    // CHECK-NOT: error:
    return
  }
}
