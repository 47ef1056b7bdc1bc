// perft-fuse-route: when only GEMMs read the dispatched rows, dispatch becomes route (the sort
// alone) and each GEMM reads its rows straight from x; perm and offsets keep their readers.
// RUN: %perft_opt %s -p perft-fuse-route | FileCheck %s

// CHECK-LABEL: func.func @fused(
// CHECK-NEXT: %[[R:.*]]:2 = "perft.route"(%arg1) {num_experts = 3 : i64} : (tensor<5x2xi32>) -> (tensor<10xi32>, tensor<4xi32>)
// CHECK-NEXT: %[[A:.*]] = "perft.gathered_matmul"(%arg0, %[[R]]#0, %arg2, %[[R]]#1) {transpose_w = true}
// CHECK-NEXT: %[[G:.*]] = "perft.gathered_matmul_grad_weight"(%arg3, %arg0, %[[R]]#0, %[[R]]#1) {transpose_w = true}
// CHECK-NEXT: %[[D:.*]] = "perft.dispatch_grad"(%arg3, %[[R]]#0)
// CHECK-NEXT: return %[[A]], %[[G]], %[[D]]
// CHECK-NOT: perft.dispatch"

// An adapter's dropout of the routed rows (PERFT-E) reads them from their tokens too.
// CHECK-LABEL: func.func @dropout(
// CHECK-NEXT: %[[R:.*]]:2 = "perft.route"(%arg1)
// CHECK-NEXT: %[[A:.*]] = "perft.gathered_matmul"(%arg0, %[[R]]#0, %arg2, %[[R]]#1)
// CHECK-NEXT: %[[X:.*]] = "perft.gathered_dropout"(%arg0, %[[R]]#0, %arg3) {p = 5.000000e-02 : f64} : (tensor<5x6xf32>, tensor<10xi32>, tensor<1xi32>) -> tensor<10x6xf32>
// CHECK-NEXT: return %[[A]], %[[X]]

// The rows are also returned: they must exist, nothing fuses.
// CHECK-LABEL: func.func @rows_read_elsewhere(
// CHECK: "perft.dispatch"
// CHECK: "perft.grouped_matmul"
// CHECK-NOT: perft.route
module {
  func.func @fused(%x: tensor<5x6xf32>, %idx: tensor<5x2xi32>, %bank: tensor<3x4x6xf32>, %dy: tensor<10x4xf32>)
      -> (tensor<10x4xf32>, tensor<3x4x6xf32>, tensor<5x4xf32>) {
    %rows, %perm, %offsets = "perft.dispatch"(%x, %idx) {num_experts = 3 : i64} : (tensor<5x6xf32>, tensor<5x2xi32>) -> (tensor<10x6xf32>, tensor<10xi32>, tensor<4xi32>)
    %a = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x4x6xf32>, tensor<4xi32>) -> tensor<10x4xf32>
    %g = "perft.grouped_matmul_grad_weight"(%dy, %rows, %offsets) {transpose_w = true} : (tensor<10x4xf32>, tensor<10x6xf32>, tensor<4xi32>) -> tensor<3x4x6xf32>
    %d = "perft.dispatch_grad"(%dy, %perm) : (tensor<10x4xf32>, tensor<10xi32>) -> tensor<5x4xf32>
    return %a, %g, %d : tensor<10x4xf32>, tensor<3x4x6xf32>, tensor<5x4xf32>
  }
  func.func @dropout(%x: tensor<5x6xf32>, %idx: tensor<5x2xi32>, %bank: tensor<3x4x6xf32>, %seed: tensor<1xi32>)
      -> (tensor<10x4xf32>, tensor<10x6xf32>) {
    %rows, %perm, %offsets = "perft.dispatch"(%x, %idx) {num_experts = 3 : i64} : (tensor<5x6xf32>, tensor<5x2xi32>) -> (tensor<10x6xf32>, tensor<10xi32>, tensor<4xi32>)
    %a = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x4x6xf32>, tensor<4xi32>) -> tensor<10x4xf32>
    %xd = "perft.dropout"(%rows, %seed) {p = 0.05 : f64} : (tensor<10x6xf32>, tensor<1xi32>) -> tensor<10x6xf32>
    return %a, %xd : tensor<10x4xf32>, tensor<10x6xf32>
  }
  func.func @rows_read_elsewhere(%x: tensor<5x6xf32>, %idx: tensor<5x2xi32>, %bank: tensor<3x4x6xf32>)
      -> (tensor<10x4xf32>, tensor<10x6xf32>) {
    %rows, %perm, %offsets = "perft.dispatch"(%x, %idx) {num_experts = 3 : i64} : (tensor<5x6xf32>, tensor<5x2xi32>) -> (tensor<10x6xf32>, tensor<10xi32>, tensor<4xi32>)
    %a = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x4x6xf32>, tensor<4xi32>) -> tensor<10x4xf32>
    return %a, %rows : tensor<10x4xf32>, tensor<10x6xf32>
  }
}
