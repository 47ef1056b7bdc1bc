// verify_route: perm holds one entry per (token, slot) of idx: 5 x 2 = 10 (it has 8).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%i: tensor<5x2xi32>) {
    // CHECK: {{.*}}route_bad_perm.mlir:[[@LINE+1]]:14: error: 'perft.route' op perm dimension 0 must be tokens x slots of idx (10), found 8
    %p, %o = "perft.route"(%i) {num_experts = 3 : i64} : (tensor<5x2xi32>) -> (tensor<8xi32>, tensor<4xi32>)
    // CHECK-NOT: error:
    return
  }
}
