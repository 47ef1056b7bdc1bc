// perft-attention-gemms: causal attention and its gradient as GEMMs over one [S, S] square of scores
// per (sequence, head) — here 2 sequences of 3 rows, 4 heads of 2 over 2 kv heads, so squares
// [8, 3, 3] — with the softmax (scale 1/√2) between them; the gradient recomputes the scores and
// probabilities and does not read y.
// RUN: %perft_opt %s -p perft-attention-gemms | FileCheck %s

// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<6x8xf32>, %[[K:[^:]*]]: tensor<6x4xf32>, %[[V:[^:]*]]: tensor<6x4xf32>
// CHECK-NEXT: %[[S:.*]] = "perft.attention_scores"(%[[Q]], %[[K]]) {heads = 4 : i64, kv_heads = 2 : i64, seq = 3 : i64} : (tensor<6x8xf32>, tensor<6x4xf32>) -> tensor<8x3x3xf32>
// CHECK-NEXT: %[[P:.*]] = "perft.causal_softmax"(%[[S]]) {scale = 0.70710678118654{{[0-9]*}} : f64} : (tensor<8x3x3xf32>) -> tensor<8x3x3xf32>
// CHECK-NEXT: %[[Y:.*]] = "perft.attention_apply"(%[[P]], %[[V]]) {heads = 4 : i64, kv_heads = 2 : i64, seq = 3 : i64} : (tensor<8x3x3xf32>, tensor<6x4xf32>) -> tensor<6x8xf32>
// CHECK-NEXT: return %[[Y]]
// CHECK-NOT: causal_attention

// CHECK-LABEL: func.func @backward(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<6x8xf32>, %[[K:[^:]*]]: tensor<6x4xf32>, %[[V:[^:]*]]: tensor<6x4xf32>, %{{[^:]*}}: tensor<6x8xf32>, %[[DY:[^:]*]]: tensor<6x8xf32>
// CHECK-NEXT: %[[S:.*]] = "perft.attention_scores"(%[[Q]], %[[K]])
// CHECK-NEXT: %[[P:.*]] = "perft.causal_softmax"(%[[S]])
// CHECK-NEXT: %[[DP:.*]] = "perft.attention_scores"(%[[DY]], %[[V]])
// CHECK-NEXT: %[[DS:.*]] = "perft.causal_softmax_grad"(%[[P]], %[[DP]]) {scale = 0.70710678118654{{[0-9]*}} : f64}
// CHECK-NEXT: %[[DQ:.*]] = "perft.attention_apply"(%[[DS]], %[[K]]) {{.*}} -> tensor<6x8xf32>
// CHECK-NEXT: %[[DK:.*]] = "perft.attention_apply_t"(%[[DS]], %[[Q]]) {{.*}} : (tensor<8x3x3xf32>, tensor<6x8xf32>) -> tensor<6x4xf32>
// CHECK-NEXT: %[[DV:.*]] = "perft.attention_apply_t"(%[[P]], %[[DY]]) {{.*}} -> tensor<6x4xf32>
// CHECK-NEXT: return %[[DQ]], %[[DK]], %[[DV]]
module {
  func.func @forward(%q: tensor<6x8xf32>, %k: tensor<6x4xf32>, %v: tensor<6x4xf32>) -> tensor<6x8xf32> {
    %y = "perft.causal_attention"(%q, %k, %v) {heads = 4 : i64, kv_heads = 2 : i64, seq = 3 : i64}
        : (tensor<6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>) -> tensor<6x8xf32>
    return %y : tensor<6x8xf32>
  }
  func.func @backward(%q: tensor<6x8xf32>, %k: tensor<6x4xf32>, %v: tensor<6x4xf32>, %y: tensor<6x8xf32>,
                      %dy: tensor<6x8xf32>) -> (tensor<6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>) {
    %dq, %dk, %dv = "perft.causal_attention_grad"(%q, %k, %v, %y, %dy) {heads = 4 : i64, kv_heads = 2 : i64, seq = 3 : i64}
        : (tensor<6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x8xf32>, tensor<6x8xf32>)
        -> (tensor<6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>)
    return %dq, %dk, %dv : tensor<6x8xf32>, tensor<6x4xf32>, tensor<6x4xf32>
  }
}
