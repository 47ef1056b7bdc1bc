// verify_dispatch: offsets has num_experts + 1 entries (num_experts = 3, offsets 3).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<5x6xf32>, %i: tensor<5x2xi32>) {
    // CHECK: {{.*}}dispatch_bad_offsets.mlir:[[@LINE+1]]:18: error: 'perft.dispatch' op offsets dimension 0 must be num_experts + 1 (4), found 3
    %r, %p, %o = "perft.dispatch"(%x, %i) {num_experts = 3 : i64} : (tensor<5x6xf32>, tensor<5x2xi32>) -> (tensor<10x6xf32>, tensor<10xi32>, tensor<3xi32>)
    // CHECK-NOT: error:
    return
  }
}
