// The verifier reaches perft ops at any depth, here inside an scf.execute_region.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<4x3xf32>, %w: tensor<5xf32>) -> tensor<4x3xf32> {
    %r = scf.execute_region -> tensor<4x3xf32> {
      // CHECK: {{.*}}nested_region.mlir:[[@LINE+1]]:12: error: 'perft.rmsnorm' op w dimension 0 must be the columns of x (3), found 5
      %y = "perft.rmsnorm"(%x, %w) {eps = 1.0e-6 : f64} : (tensor<4x3xf32>, tensor<5xf32>) -> tensor<4x3xf32>
      scf.yield %y : tensor<4x3xf32>
    }
    return %r : tensor<4x3xf32>
  }
}
