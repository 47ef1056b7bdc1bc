// RUN: %perftc %s --emit=autodiff | FileCheck %s
// Rules of the token-model ops: embedding (scatter-add into the table), rmsnorm
// (input and weight), dropout (the same seed's mask), cross_entropy.

// CHECK-LABEL: func.func @train_step
// CHECK: "perft.cross_entropy_grad"(%{{.*}}, %arg4, %{{.*}}) : (tensor<6x5xf32>, tensor<6xi32>, tensor<f32>) -> tensor<6x5xf32>
// CHECK: "perft.dropout_grad"(%{{.*}}, %arg5) {p = 1.000000e-01 : f64}
// CHECK-DAG: "perft.rmsnorm_grad_weight"(%{{.*}}) {eps = 9.9999999999999995E-7 : f64} : (tensor<6x4xf32>, tensor<6x4xf32>) -> tensor<4xf32>
// CHECK-DAG: "perft.rmsnorm_grad_input"
// CHECK: "perft.embedding_grad"(%arg3, %{{.*}}) : (tensor<6xi32>, tensor<6x4xf32>) -> tensor<5x4xf32>
// CHECK: return
module {
  func.func @forward(%table: tensor<5x4xf32> {perft.param = "table", perft.trainable = true, perft.init = "normal 0 1"},
                     %norm: tensor<4xf32> {perft.param = "norm", perft.trainable = true, perft.init = "ones"},
                     %head: tensor<5x4xf32> {perft.param = "head", perft.trainable = false, perft.init = "normal 0 1"},
                     %ids: tensor<6xi32> {perft.input = "ids"}, %labels: tensor<6xi32> {perft.input = "labels"},
                     %seed: tensor<1xi32> {perft.input = "dropout.seed", perft.seed})
      -> (tensor<f32> {perft.loss}) {
    %x = "perft.embedding"(%table, %ids) : (tensor<5x4xf32>, tensor<6xi32>) -> tensor<6x4xf32>
    %n = "perft.rmsnorm"(%x, %norm) {eps = 1.0e-6 : f64} : (tensor<6x4xf32>, tensor<4xf32>) -> tensor<6x4xf32>
    %d = "perft.dropout"(%n, %seed) {p = 0.1 : f64} : (tensor<6x4xf32>, tensor<1xi32>) -> tensor<6x4xf32>
    %cst = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<6x5xf32>
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<6x5xf32>) -> tensor<6x5xf32>
    %logits = linalg.matmul_transpose_b ins(%d, %head : tensor<6x4xf32>, tensor<5x4xf32>) outs(%z : tensor<6x5xf32>) -> tensor<6x5xf32>
    %l = "perft.cross_entropy"(%logits, %labels) : (tensor<6x5xf32>, tensor<6xi32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
