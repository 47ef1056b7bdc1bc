// RUN: %perftc %s --emit=autodiff | FileCheck %s
// A computation whose result nobody reads (here a whole routed block a strategy
// replaced) is erased, chain and all, before autodiff; the live one stays.

// CHECK-LABEL: func.func @forward
// CHECK-NOT: "perft.dispatch"
// CHECK-NOT: "perft.combine"
// CHECK: "perft.silu"
// CHECK-NOT: "perft.top_k"
// CHECK: return
module {
  func.func @forward(%w: tensor<5x6xf32> {perft.param = "w", perft.trainable = true, perft.init = "normal 0 1"},
                     %b: tensor<3x2x6xf32> {perft.param = "b", perft.trainable = false, perft.init = "normal 0 1"},
                     %x: tensor<5x6xf32> {perft.input = "x"}, %t: tensor<5x6xf32> {perft.input = "t"})
      -> (tensor<f32> {perft.loss}) {
    %p = "perft.softmax"(%x) : (tensor<5x6xf32>) -> tensor<5x6xf32>
    %wk, %ik = "perft.top_k"(%p) {k = 2 : i64, renormalize = false} : (tensor<5x6xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
    %rows, %perm, %offsets = "perft.dispatch"(%x, %ik) {num_experts = 3 : i64} : (tensor<5x6xf32>, tensor<5x2xi32>) -> (tensor<10x6xf32>, tensor<10xi32>, tensor<4xi32>)
    %ys = "perft.grouped_matmul"(%rows, %b, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x2x6xf32>, tensor<4xi32>) -> tensor<10x2xf32>
    %dead = "perft.combine"(%ys, %perm, %wk) : (tensor<10x2xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x2xf32>
    %e = tensor.empty() : tensor<5x6xf32>
    %s = linalg.add ins(%x, %w : tensor<5x6xf32>, tensor<5x6xf32>) outs(%e : tensor<5x6xf32>) -> tensor<5x6xf32>
    %y = "perft.silu"(%s) : (tensor<5x6xf32>) -> tensor<5x6xf32>
    %l = "perft.mse"(%y, %t) : (tensor<5x6xf32>, tensor<5x6xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
