// verify_grouped_matmul_combine: y has one row per token of w (5; it has 4).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%r: tensor<10x6xf32>, %b: tensor<3x2x6xf32>, %o: tensor<4xi32>, %p: tensor<10xi32>, %w: tensor<5x2xf32>) {
    // CHECK: {{.*}}grouped_matmul_combine_bad_tokens.mlir:[[@LINE+1]]:10: error: 'perft.grouped_matmul_combine' op y dimension 0 must be the tokens of w (5), found 4
    %y = "perft.grouped_matmul_combine"(%r, %b, %o, %p, %w) {scale = 1.0 : f64} : (tensor<10x6xf32>, tensor<3x2x6xf32>, tensor<4xi32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<4x2xf32>
    // CHECK-NOT: error:
    return
  }
}
