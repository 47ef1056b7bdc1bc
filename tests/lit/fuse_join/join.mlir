// perft-fuse-join (PERFT-E folding): an adapter's up-projection (with the add of W2's output in its
// epilogue) and W2's GEMM become one GEMM over both K ranges; a combine that alone reads it goes
// into its epilogue.
// RUN: %perft_opt %s -p perft-fuse-join | FileCheck %s

// CHECK-LABEL: func.func @combined(
// CHECK-NEXT: %[[Y:.*]] = "perft.grouped_matmul_join_combine"(%arg0, %arg1, %arg2, %arg3, %arg4, %arg5, %arg6) {scale = 2.000000e+00 : f64} : (tensor<10x8xf32>, tensor<4x6x8xf32>, tensor<10x3xf32>, tensor<4x6x3xf32>, tensor<5xi32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x6xf32>
// CHECK-NEXT: return %[[Y]]

// The sum is also read by the routing weights' gradient: joined, not combined.
// CHECK-LABEL: func.func @sum_read_twice(
// CHECK-NEXT: %[[J:.*]] = "perft.grouped_matmul_join"(%arg0, %arg1, %arg2, %arg3, %arg4) {scale = 2.000000e+00 : f64}
// CHECK-NEXT: "perft.combine"(%[[J]], %arg5, %arg6)
// CHECK-NEXT: "perft.combine_grad_weights"(%arg7, %[[J]], %arg5)

// W2's output read elsewhere; W2's K = F = 1025: nothing joins.
// CHECK-LABEL: func.func @not_joined(
// CHECK-NOT: join
// CHECK: return
module {
  func.func @combined(%a: tensor<10x8xf32>, %W2: tensor<4x6x8xf32>, %z: tensor<10x3xf32>, %B: tensor<4x6x3xf32>,
                      %offsets: tensor<5xi32>, %perm: tensor<10xi32>, %g: tensor<5x2xf32>) -> tensor<5x6xf32> {
    %y1 = "perft.grouped_matmul"(%a, %W2, %offsets) {transpose_w = true} : (tensor<10x8xf32>, tensor<4x6x8xf32>, tensor<5xi32>) -> tensor<10x6xf32>
    %y = "perft.grouped_matmul_scale_add"(%z, %B, %offsets, %y1) {scale = 2.0 : f64} : (tensor<10x3xf32>, tensor<4x6x3xf32>, tensor<5xi32>, tensor<10x6xf32>) -> tensor<10x6xf32>
    %out = "perft.combine"(%y, %perm, %g) : (tensor<10x6xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x6xf32>
    return %out : tensor<5x6xf32>
  }
  func.func @sum_read_twice(%a: tensor<10x8xf32>, %W2: tensor<4x6x8xf32>, %z: tensor<10x3xf32>, %B: tensor<4x6x3xf32>,
                            %offsets: tensor<5xi32>, %perm: tensor<10xi32>, %g: tensor<5x2xf32>, %dy: tensor<5x6xf32>)
      -> (tensor<5x6xf32>, tensor<5x2xf32>) {
    %y1 = "perft.grouped_matmul"(%a, %W2, %offsets) {transpose_w = true} : (tensor<10x8xf32>, tensor<4x6x8xf32>, tensor<5xi32>) -> tensor<10x6xf32>
    %y = "perft.grouped_matmul_scale_add"(%z, %B, %offsets, %y1) {scale = 2.0 : f64} : (tensor<10x3xf32>, tensor<4x6x3xf32>, tensor<5xi32>, tensor<10x6xf32>) -> tensor<10x6xf32>
    %out = "perft.combine"(%y, %perm, %g) : (tensor<10x6xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x6xf32>
    %dg = "perft.combine_grad_weights"(%dy, %y, %perm) : (tensor<5x6xf32>, tensor<10x6xf32>, tensor<10xi32>) -> tensor<5x2xf32>
    return %out, %dg : tensor<5x6xf32>, tensor<5x2xf32>
  }
  func.func @not_joined(%a: tensor<10x8xf32>, %W2: tensor<4x6x8xf32>, %z: tensor<10x3xf32>, %B: tensor<4x6x3xf32>,
                        %offsets: tensor<5xi32>, %along: tensor<10x1025xf32>, %W2long: tensor<4x6x1025xf32>)
      -> (tensor<10x6xf32>, tensor<10x6xf32>, tensor<10x6xf32>) {
    %y1 = "perft.grouped_matmul"(%a, %W2, %offsets) {transpose_w = true} : (tensor<10x8xf32>, tensor<4x6x8xf32>, tensor<5xi32>) -> tensor<10x6xf32>
    %y = "perft.grouped_matmul_scale_add"(%z, %B, %offsets, %y1) {scale = 2.0 : f64} : (tensor<10x3xf32>, tensor<4x6x3xf32>, tensor<5xi32>, tensor<10x6xf32>) -> tensor<10x6xf32>
    %l1 = "perft.grouped_matmul"(%along, %W2long, %offsets) {transpose_w = true} : (tensor<10x1025xf32>, tensor<4x6x1025xf32>, tensor<5xi32>) -> tensor<10x6xf32>
    %l = "perft.grouped_matmul_scale_add"(%z, %B, %offsets, %l1) {scale = 2.0 : f64} : (tensor<10x3xf32>, tensor<4x6x3xf32>, tensor<5xi32>, tensor<10x6xf32>) -> tensor<10x6xf32>
    return %y, %y1, %l : tensor<10x6xf32>, tensor<10x6xf32>, tensor<10x6xf32>
  }
}
