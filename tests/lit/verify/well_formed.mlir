// A well-formed module with several perft ops (routing, grouped matmul, combine, loss)
// passes perft-verify untouched and is printed back.
// RUN: %perft_opt %s -p perft-verify | FileCheck %s

// CHECK-LABEL: func.func @forward
// CHECK: "perft.softmax"
// CHECK-NEXT: "perft.top_k"
// CHECK-SAME: k = 2 : i64
// CHECK-NEXT: "perft.dispatch"
// CHECK-SAME: num_experts = 3 : i64
// CHECK-NEXT: "perft.grouped_matmul"
// CHECK-SAME: transpose_w = true
// CHECK-NEXT: "perft.combine"
// CHECK-NEXT: "perft.rmsnorm"
// CHECK-NEXT: "perft.mse"
// CHECK-NEXT: return
module {
  func.func @forward(%logits: tensor<5x3xf32>, %h: tensor<5x6xf32>, %bank: tensor<3x6x6xf32>,
                     %norm: tensor<6xf32>, %t: tensor<5x6xf32>) -> tensor<f32> {
    %p = "perft.softmax"(%logits) : (tensor<5x3xf32>) -> tensor<5x3xf32>
    %w, %i = "perft.top_k"(%p) {k = 2 : i64, renormalize = false} : (tensor<5x3xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
    %rows, %perm, %offsets = "perft.dispatch"(%h, %i) {num_experts = 3 : i64} : (tensor<5x6xf32>, tensor<5x2xi32>) -> (tensor<10x6xf32>, tensor<10xi32>, tensor<4xi32>)
    %ys = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x6x6xf32>, tensor<4xi32>) -> tensor<10x6xf32>
    %y = "perft.combine"(%ys, %perm, %w) : (tensor<10x6xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x6xf32>
    %n = "perft.rmsnorm"(%y, %norm) {eps = 1.0e-5 : f64} : (tensor<5x6xf32>, tensor<6xf32>) -> tensor<5x6xf32>
    %l = "perft.mse"(%n, %t) : (tensor<5x6xf32>, tensor<5x6xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
