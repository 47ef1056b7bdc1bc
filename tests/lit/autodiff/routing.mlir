// RUN: %perftc %s --emit=autodiff | FileCheck %s
// Routed LoRA-style experts: trainable router r and bank a; the rules of
// softmax, top_k (renormalised), dispatch, grouped_matmul, combine, load_balance.

// CHECK-LABEL: func.func @train_step
// CHECK-DAG: "perft.load_balance_grad"
// CHECK-DAG: "perft.combine_grad_rows"
// CHECK-DAG: "perft.combine_grad_weights"
// CHECK-DAG: "perft.grouped_matmul_grad_weight"(%{{.*}}) {transpose_w = true}
// CHECK-DAG: "perft.top_k_grad"(%{{.*}}) {renormalize = true}
// CHECK-DAG: "perft.softmax_grad"
// The routed input x is not active: no dispatch gradient is built.
// CHECK-NOT: "perft.dispatch_grad"
// CHECK: return
module {
  func.func @forward(%r: tensor<3x6xf32> {perft.param = "r", perft.trainable = true, perft.init = "normal 0 1"},
                     %a: tensor<3x2x6xf32> {perft.param = "a", perft.trainable = true, perft.init = "normal 0 1"},
                     %x: tensor<5x6xf32> {perft.input = "x"}, %t: tensor<5x2xf32> {perft.input = "t"})
      -> (tensor<f32> {perft.loss}) {
    %cst = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<5x3xf32>
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
    %logits = linalg.matmul_transpose_b ins(%x, %r : tensor<5x6xf32>, tensor<3x6xf32>) outs(%z : tensor<5x3xf32>) -> tensor<5x3xf32>
    %p = "perft.softmax"(%logits) : (tensor<5x3xf32>) -> tensor<5x3xf32>
    %w, %i = "perft.top_k"(%p) {k = 2 : i64, renormalize = true} : (tensor<5x3xf32>) -> (tensor<5x2xf32>, tensor<5x2xi32>)
    %rows, %perm, %offsets = "perft.dispatch"(%x, %i) {num_experts = 3 : i64} : (tensor<5x6xf32>, tensor<5x2xi32>) -> (tensor<10x6xf32>, tensor<10xi32>, tensor<4xi32>)
    %ys = "perft.grouped_matmul"(%rows, %a, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<3x2x6xf32>, tensor<4xi32>) -> tensor<10x2xf32>
    %y = "perft.combine"(%ys, %perm, %w) : (tensor<10x2xf32>, tensor<10xi32>, tensor<5x2xf32>) -> tensor<5x2xf32>
    %mse = "perft.mse"(%y, %t) : (tensor<5x2xf32>, tensor<5x2xf32>) -> tensor<f32>
    %lb = "perft.load_balance"(%p, %i) {num_experts = 3 : i64} : (tensor<5x3xf32>, tensor<5x2xi32>) -> tensor<f32>
    %e2 = tensor.empty() : tensor<f32>
    %l = linalg.add ins(%mse, %lb : tensor<f32>, tensor<f32>) outs(%e2 : tensor<f32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
