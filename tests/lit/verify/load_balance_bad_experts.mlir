// verify_load_balance: p has num_experts columns (num_experts = 4, p has 3).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%p: tensor<5x3xf32>, %i: tensor<5x2xi32>) {
    // CHECK: {{.*}}load_balance_bad_experts.mlir:[[@LINE+1]]:10: error: 'perft.load_balance' op p dimension 1 must be num_experts (4), found 3
    %l = "perft.load_balance"(%p, %i) {num_experts = 4 : i64} : (tensor<5x3xf32>, tensor<5x2xi32>) -> tensor<f32>
    // CHECK-NOT: error:
    return
  }
}
