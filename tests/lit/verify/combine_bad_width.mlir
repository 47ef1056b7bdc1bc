// verify_combine: y has the width of the dispatched rows (rows are 2 wide, y 3).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%r: tensor<10x2xf32>, %p: tensor<10xi32>, %w: tensor<5x2xf32>) {
    // CHECK: {{.*}}combine_bad_width.mlir:[[@LINE+1]]:10: error: 'perft.combine' op y dimension 1 must be the width of the rows (2), found 3
    %y = "perft.combine"(%r, %p, %w) : (tensor<10x2xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x3xf32>
    // CHECK-NOT: error:
    return
  }
}
