// perft-prune-dead alone, via perft-opt: the routing chain softmax -> top_k -> dispatch ->
// grouped_matmul -> combine whose result nobody reads is erased entirely; the live
// silu -> mse stays. The pass runs on every func.func (@other loses its dead softmax).
// RUN: %perft_opt %s -p perft-prune-dead | FileCheck %s

// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %{{[^:]*}}: tensor<5x3xf32>, %{{[^:]*}}: tensor<5x6xf32>, %{{[^:]*}}: tensor<3x2x6xf32>, %[[Y:[^:]*]]: tensor<5x2xf32>, %[[T:[^:]*]]: tensor<5x2xf32>) -> tensor<f32> {
// CHECK-NEXT: %[[S:.*]] = "perft.silu"(%[[Y]])
// CHECK-NEXT: %[[L:.*]] = "perft.mse"(%[[S]], %[[T]])
// CHECK-NEXT: return %[[L]] : tensor<f32>
// CHECK-NEXT: }
// CHECK-LABEL: func.func @other(
// CHECK-SAME: %[[X:[^:]*]]: tensor<4x3xf32>) -> tensor<4x3xf32> {
// CHECK-NEXT: %[[B:.*]] = "perft.silu"(%[[X]])
// CHECK-NEXT: return %[[B]] : tensor<4x3xf32>
// CHECK-NOT: perft.softmax
module {
  func.func @forward(%logits: tensor<5x3xf32>, %h: tensor<5x6xf32>, %b: tensor<3x2x6xf32>,
                     %y: tensor<5x2xf32>, %t: tensor<5x2xf32>) -> tensor<f32> {
    %p = "perft.softmax"(%logits) : (tensor<5x3xf32>) -> tensor<5x3xf32>
    %w, %i = "perft.top_k"(%p) {k = 2 : i64, renormalize = false} : (tensor<5x3xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
    %rows, %perm, %offsets = "perft.dispatch"(%h, %i) {num_experts = 3 : i64} : (tensor<5x6xf32>, tensor<5x2xi32>) -> (tensor<10x6xf32>, tensor<10xi32>, tensor<4xi32>)
    %ys = "perft.grouped_matmul"(%rows, %b, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x2x6xf32>, tensor<4xi32>) -> tensor<10x2xf32>
    %dead = "perft.combine"(%ys, %perm, %w) : (tensor<10x2xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x2xf32>
    %s = "perft.silu"(%y) : (tensor<5x2xf32>) -> tensor<5x2xf32>
    %l = "perft.mse"(%s, %t) : (tensor<5x2xf32>, tensor<5x2xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
  func.func @other(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
    %a = "perft.softmax"(%x) : (tensor<4x3xf32>) -> tensor<4x3xf32>
    %b = "perft.silu"(%x) : (tensor<4x3xf32>) -> tensor<4x3xf32>
    return %b : tensor<4x3xf32>
  }
}
