// causal_attention's keys must be kv_heads x the head size wide: 4 heads of 3 columns share 2 kv
// heads, so k needs 6 columns, not 9; and rope's heads must split x into even head sizes.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%q: tensor<8x12xf32>, %k: tensor<8x9xf32>, %x: tensor<8x6xf32>) -> (tensor<8x12xf32>, tensor<8x6xf32>) {
    // CHECK: {{.*}}causal_attention_bad_kv.mlir:[[@LINE+1]]:10: error: 'perft.causal_attention' op k dimension 1 must be kv_heads x the head size (6), found 9
    %y = "perft.causal_attention"(%q, %k, %k) {heads = 4 : i64, kv_heads = 2 : i64, seq = 4 : i64} : (tensor<8x12xf32>, tensor<8x9xf32>, tensor<8x9xf32>) -> tensor<8x12xf32>
    // CHECK: {{.*}}causal_attention_bad_kv.mlir:[[@LINE+1]]:10: error: 'perft.rope' op x has 6 columns: not heads (2) times an even head size
    %r = "perft.rope"(%x) {heads = 2 : i64, seq = 4 : i64, theta = 1.0e4 : f64} : (tensor<8x6xf32>) -> tensor<8x6xf32>
    return %y, %r : tensor<8x12xf32>, tensor<8x6xf32>
  }
}
