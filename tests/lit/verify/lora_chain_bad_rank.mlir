// perft.lora_chain: B's columns are A's rows (the rank r).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<5x6xf32>, %seed: tensor<1xi32>, %A: tensor<3x6xf32>, %B: tensor<6x4xf32>, %y: tensor<5x6xf32>) {
    // CHECK: {{.*}}lora_chain_bad_rank.mlir:[[@LINE+1]]:12: error: 'perft.lora_chain' op B dimension 1 must be the rows of A (3), found 4
    %c:3 = "perft.lora_chain"(%x, %seed, %A, %B, %y) {p = 0.05 : f64, scale = 2.0 : f64} : (tensor<5x6xf32>, tensor<1xi32>, tensor<3x6xf32>, tensor<6x4xf32>, tensor<5x6xf32>) -> (tensor<5x6xf32>, tensor<5x3xf32>, tensor<5x6xf32>)
    // CHECK-NOT: error:
    return
  }
}
