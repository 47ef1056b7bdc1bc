// perft-fuse-softmax-top-k: a top-k of a softmax becomes one perft.softmax_top_k where the softmax
// was; p keeps its other readers (here the load-balance loss, read before the top-k).
// RUN: %perft_opt %s -p perft-fuse-softmax-top-k | FileCheck %s

// CHECK-LABEL: func.func @router(
// CHECK-NEXT: %[[F:.*]]:3 = "perft.softmax_top_k"(%arg0) {k = 2 : i64, renormalize = true} : (tensor<5x4xf32>) -> (tensor<5x4xf32>, tensor<5x2xf32>, tensor<5x2xi32>)
// CHECK-NEXT: %[[L:.*]] = "perft.mse"(%[[F]]#0, %arg1)
// CHECK-NEXT: return %[[F]]#1, %[[F]]#2, %[[L]]
// CHECK-NOT: "perft.softmax"(
// CHECK-NOT: "perft.top_k"

// A top-k of anything else stays.
// CHECK-LABEL: func.func @plain_top_k(
// CHECK-NEXT: "perft.top_k"(%arg0)
module {
  func.func @router(%logits: tensor<5x4xf32>, %t: tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>, tensor<f32>) {
    %p = "perft.softmax"(%logits) : (tensor<5x4xf32>) -> tensor<5x4xf32>
    %l = "perft.mse"(%p, %t) : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<f32>
    %w, %idx = "perft.top_k"(%p) {k = 2 : i64, renormalize = true} : (tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
    return %w, %idx, %l : tensor<5x2xf32>, tensor<5x2xi32>, tensor<f32>
  }
  func.func @plain_top_k(%p: tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>) {
    %w, %idx = "perft.top_k"(%p) {k = 2 : i64, renormalize = false} : (tensor<5x4xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
    return %w, %idx : tensor<5x2xf32>, tensor<5x2xi32>
  }
}
