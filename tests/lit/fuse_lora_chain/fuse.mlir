// perft-fuse-lora-chain: dropout -> down-projection -> up-projection (with its epilogue) as one op;
// the dropped-out rows and the r-wide intermediate stay results for the weight gradients.
// RUN: %perft_opt %s -p perft-fuse-lora-chain | FileCheck %s

// PERFT-S after perft-fuse-epilogue; dB reads z after the chain: it reads the chain's z.
// CHECK-LABEL: func.func @dense(
// CHECK-NOT: perft.dropout"
// CHECK: %[[C:.*]]:3 = "perft.lora_chain"(%arg0, %arg1, %arg2, %arg3, %arg4) {p = 5.000000e-02 : f64, scale = 2.000000e+00 : f64} : (tensor<5x6xf32>, tensor<1xi32>, tensor<3x6xf32>, tensor<6x3xf32>, tensor<5x6xf32>) -> (tensor<5x6xf32>, tensor<5x3xf32>, tensor<5x6xf32>)
// CHECK-NOT: linalg.matmul_transpose_b ins(
// CHECK-NOT: perft.dropout"
// CHECK: linalg.matmul_transpose_a ins(%{{.*}}, %[[C]]#1
// CHECK: return %[[C]]#2

// PERFT-R's training step after perft-fuse-route: grouped down- and up-projection of the routed
// rows, read from their tokens.
// CHECK-LABEL: func.func @grouped(
// CHECK-NEXT: %[[C:.*]]:3 = "perft.grouped_lora_chain"(%arg0, %arg1, %arg2, %arg3, %arg4, %arg5) {p = 5.000000e-02 : f64} : (tensor<5x6xf32>, tensor<10xi32>, tensor<1xi32>, tensor<4x3x6xf32>, tensor<4x6x3xf32>, tensor<5xi32>) -> (tensor<10x6xf32>, tensor<10x3xf32>, tensor<10x6xf32>)
// CHECK-NEXT: return %[[C]]#2, %[[C]]#0

// No dropout before the down-projection; a rank of 65; z read before the up-projection:
// nothing fuses.
// CHECK-LABEL: func.func @not_fused(
// CHECK-NOT: lora_chain
// CHECK: return
module {
  func.func @dense(%h: tensor<5x6xf32>, %seed: tensor<1xi32>, %A: tensor<3x6xf32>, %B: tensor<6x3xf32>, %y: tensor<5x6xf32>,
                   %dy: tensor<5x6xf32>) -> (tensor<5x6xf32>, tensor<6x3xf32>) {
    %xd = "perft.dropout"(%h, %seed) {p = 0.05 : f64} : (tensor<5x6xf32>, tensor<1xi32>) -> tensor<5x6xf32>
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x3xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x3xf32>) -> tensor<5x3xf32>
    %z = linalg.matmul_transpose_b ins(%xd, %A : tensor<5x6xf32>, tensor<3x6xf32>) outs(%z0 : tensor<5x3xf32>) -> tensor<5x3xf32>
    %out = "perft.matmul_scale_add"(%z, %B, %y) {scale = 2.0 : f64} : (tensor<5x3xf32>, tensor<6x3xf32>, tensor<5x6xf32>) -> tensor<5x6xf32>
    %e1 = tensor.empty() : tensor<6x3xf32>
    %g0 = linalg.fill ins(%c0 : f32) outs(%e1 : tensor<6x3xf32>) -> tensor<6x3xf32>
    %dB = linalg.matmul_transpose_a ins(%dy, %z : tensor<5x6xf32>, tensor<5x3xf32>) outs(%g0 : tensor<6x3xf32>) -> tensor<6x3xf32>
    return %out, %dB : tensor<5x6xf32>, tensor<6x3xf32>
  }
  func.func @grouped(%x: tensor<5x6xf32>, %perm: tensor<10xi32>, %seed: tensor<1xi32>, %A: tensor<4x3x6xf32>,
                     %B: tensor<4x6x3xf32>, %offsets: tensor<5xi32>) -> (tensor<10x6xf32>, tensor<10x6xf32>) {
    %xd = "perft.gathered_dropout"(%x, %perm, %seed) {p = 0.05 : f64} : (tensor<5x6xf32>, tensor<10xi32>, tensor<1xi32>) -> tensor<10x6xf32>
    %z = "perft.grouped_matmul"(%xd, %A, %offsets) {transpose_w = true} : (tensor<10x6xf32>, tensor<4x3x6xf32>, tensor<5xi32>) -> tensor<10x3xf32>
    %u = "perft.grouped_matmul"(%z, %B, %offsets) {transpose_w = true} : (tensor<10x3xf32>, tensor<4x6x3xf32>, tensor<5xi32>) -> tensor<10x6xf32>
    return %u, %xd : tensor<10x6xf32>, tensor<10x6xf32>
  }
  func.func @not_fused(%h: tensor<5x6xf32>, %seed: tensor<1xi32>, %A: tensor<3x6xf32>, %B: tensor<6x3xf32>, %y: tensor<5x6xf32>,
                       %A65: tensor<65x6xf32>, %B65: tensor<6x65xf32>)
      -> (tensor<5x6xf32>, tensor<5x6xf32>, tensor<5x6xf32>, tensor<5x3xf32>) {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x3xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x3xf32>) -> tensor<5x3xf32>
    // no dropout
    %z = linalg.matmul_transpose_b ins(%h, %A : tensor<5x6xf32>, tensor<3x6xf32>) outs(%z0 : tensor<5x3xf32>) -> tensor<5x3xf32>
    %a = "perft.matmul_scale_add"(%z, %B, %y) {scale = 2.0 : f64} : (tensor<5x3xf32>, tensor<6x3xf32>, tensor<5x6xf32>) -> tensor<5x6xf32>
    // rank 65
    %xd = "perft.dropout"(%h, %seed) {p = 0.05 : f64} : (tensor<5x6xf32>, tensor<1xi32>) -> tensor<5x6xf32>
    %e1 = tensor.empty() : tensor<5x65xf32>
    %z1 = linalg.fill ins(%c0 : f32) outs(%e1 : tensor<5x65xf32>) -> tensor<5x65xf32>
    %w = linalg.matmul_transpose_b ins(%xd, %A65 : tensor<5x6xf32>, tensor<65x6xf32>) outs(%z1 : tensor<5x65xf32>) -> tensor<5x65xf32>
    %b = "perft.matmul_scale_add"(%w, %B65, %y) {scale = 2.0 : f64} : (tensor<5x65xf32>, tensor<6x65xf32>, tensor<5x6xf32>) -> tensor<5x6xf32>
    // z read before the up-projection
    %xd2 = "perft.dropout"(%h, %seed) {p = 0.05 : f64} : (tensor<5x6xf32>, tensor<1xi32>) -> tensor<5x6xf32>
    %v = linalg.matmul_transpose_b ins(%xd2, %A : tensor<5x6xf32>, tensor<3x6xf32>) outs(%z0 : tensor<5x3xf32>) -> tensor<5x3xf32>
    %s = "perft.scale"(%v) {factor = 3.0 : f64} : (tensor<5x3xf32>) -> tensor<5x3xf32>
    %c = "perft.matmul_scale_add"(%v, %B, %y) {scale = 2.0 : f64} : (tensor<5x3xf32>, tensor<6x3xf32>, tensor<5x6xf32>) -> tensor<5x6xf32>
    return %a, %b, %c, %s : tensor<5x6xf32>, tensor<5x6xf32>, tensor<5x6xf32>, tensor<5x3xf32>
  }
}
