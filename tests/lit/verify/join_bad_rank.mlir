// perft.grouped_matmul_join: the second bank's K is z's width (the adapter's rank).
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%a: tensor<10x8xf32>, %W2: tensor<4x6x8xf32>, %z: tensor<10x3xf32>, %B: tensor<4x6x2xf32>, %offsets: tensor<5xi32>) {
    // CHECK: {{.*}}join_bad_rank.mlir:[[@LINE+1]]:10: error: 'perft.grouped_matmul_join' op bank2 dimension 2 must be the columns of z (3), found 2
    %y = "perft.grouped_matmul_join"(%a, %W2, %z, %B, %offsets) {scale = 2.0 : f64} : (tensor<10x8xf32>, tensor<4x6x8xf32>, tensor<10x3xf32>, tensor<4x6x2xf32>, tensor<5xi32>) -> tensor<10x6xf32>
    // CHECK-NOT: error:
    return
  }
}
