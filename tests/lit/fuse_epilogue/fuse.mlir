// perft-fuse-epilogue: a dot-form GEMM whose output (through a scale, a LoRA's alpha / r) only an
// add reads takes the scale and the add into its epilogue; the GEMM's fill, the scale and the add go.
// RUN: %perft_opt %s -p perft-fuse-epilogue | FileCheck %s

// PERFT-S: y + 2 * (z @ B^T).
// CHECK-LABEL: func.func @dense(
// CHECK-NEXT: %[[Y:.*]] = "perft.matmul_scale_add"(%arg0, %arg1, %arg2) {scale = 2.000000e+00 : f64} : (tensor<5x3xf32>, tensor<6x3xf32>, tensor<5x6xf32>) -> tensor<5x6xf32>
// CHECK-NEXT: return %[[Y]]

// No scale, the GEMM the first operand of the add: scale 1, the other operand the addend.
// CHECK-LABEL: func.func @unscaled_first(
// CHECK-NEXT: %[[Y:.*]] = "perft.matmul_scale_add"(%arg0, %arg1, %arg2) {scale = 1.000000e+00 : f64}
// CHECK-NEXT: return %[[Y]]

// PERFT-E: W2's output plus the adapter's up-projection; both are GEMMs only the add reads, the
// one with the shorter K (the adapter's, K = r = 3 against F = 8) takes the other as its addend.
// CHECK-LABEL: func.func @grouped(
// CHECK-NEXT: %[[U:.*]] = "perft.grouped_matmul"(%arg0, %arg1, %arg4) {transpose_w = true} : (tensor<10x8xf32>, tensor<4x6x8xf32>, tensor<5xi32>) -> tensor<10x6xf32>
// CHECK-NEXT: %[[Y:.*]] = "perft.grouped_matmul_scale_add"(%arg2, %arg3, %arg4, %[[U]]) {scale = 2.000000e+00 : f64} : (tensor<10x3xf32>, tensor<4x6x3xf32>, tensor<5xi32>, tensor<10x6xf32>) -> tensor<10x6xf32>
// CHECK-NEXT: return %[[Y]]

// The scaled output is read twice; the GEMM's init is not zero; K = 1025; the axpy form
// (transpose_w = false): nothing fuses.
// CHECK-LABEL: func.func @not_fused(
// CHECK-NOT: scale_add
// CHECK: return
module {
  func.func @dense(%z: tensor<5x3xf32>, %B: tensor<6x3xf32>, %y: tensor<5x6xf32>) -> tensor<5x6xf32> {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x6xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %u = linalg.matmul_transpose_b ins(%z, %B : tensor<5x3xf32>, tensor<6x3xf32>) outs(%z0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %s = "perft.scale"(%u) {factor = 2.0 : f64} : (tensor<5x6xf32>) -> tensor<5x6xf32>
    %e1 = tensor.empty() : tensor<5x6xf32>
    %out = linalg.add ins(%y, %s : tensor<5x6xf32>, tensor<5x6xf32>) outs(%e1 : tensor<5x6xf32>) -> tensor<5x6xf32>
    return %out : tensor<5x6xf32>
  }
  func.func @unscaled_first(%z: tensor<5x3xf32>, %B: tensor<6x3xf32>, %y: tensor<5x6xf32>) -> tensor<5x6xf32> {
    %c0 = arith.constant 0.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x6xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %u = linalg.matmul_transpose_b ins(%z, %B : tensor<5x3xf32>, tensor<6x3xf32>) outs(%z0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %e1 = tensor.empty() : tensor<5x6xf32>
    %out = linalg.add ins(%u, %y : tensor<5x6xf32>, tensor<5x6xf32>) outs(%e1 : tensor<5x6xf32>) -> tensor<5x6xf32>
    return %out : tensor<5x6xf32>
  }
  func.func @grouped(%a: tensor<10x8xf32>, %W2: tensor<4x6x8xf32>, %z: tensor<10x3xf32>, %B: tensor<4x6x3xf32>,
                     %offsets: tensor<5xi32>) -> tensor<10x6xf32> {
    %u = "perft.grouped_matmul"(%a, %W2, %offsets) {transpose_w = true} : (tensor<10x8xf32>, tensor<4x6x8xf32>, tensor<5xi32>) -> tensor<10x6xf32>
    %v = "perft.grouped_matmul"(%z, %B, %offsets) {transpose_w = true} : (tensor<10x3xf32>, tensor<4x6x3xf32>, tensor<5xi32>) -> tensor<10x6xf32>
    %s = "perft.scale"(%v) {factor = 2.0 : f64} : (tensor<10x6xf32>) -> tensor<10x6xf32>
    %e = tensor.empty() : tensor<10x6xf32>
    %out = linalg.add ins(%u, %s : tensor<10x6xf32>, tensor<10x6xf32>) outs(%e : tensor<10x6xf32>) -> tensor<10x6xf32>
    return %out : tensor<10x6xf32>
  }
  func.func @not_fused(%z: tensor<5x3xf32>, %B: tensor<6x3xf32>, %y: tensor<5x6xf32>, %x: tensor<5x1025xf32>,
                       %W: tensor<6x1025xf32>, %rows: tensor<10x3xf32>, %bank: tensor<4x3x6xf32>, %offsets: tensor<5xi32>,
                       %y2: tensor<10x6xf32>)
      -> (tensor<5x6xf32>, tensor<5x6xf32>, tensor<5x6xf32>, tensor<5x6xf32>, tensor<10x6xf32>) {
    %c0 = arith.constant 0.000000e+00 : f32
    %c1 = arith.constant 1.000000e+00 : f32
    %e0 = tensor.empty() : tensor<5x6xf32>
    %z0 = linalg.fill ins(%c0 : f32) outs(%e0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %z1 = linalg.fill ins(%c1 : f32) outs(%e0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    // read twice
    %u = linalg.matmul_transpose_b ins(%z, %B : tensor<5x3xf32>, tensor<6x3xf32>) outs(%z0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %s = "perft.scale"(%u) {factor = 2.0 : f64} : (tensor<5x6xf32>) -> tensor<5x6xf32>
    %a = linalg.add ins(%y, %s : tensor<5x6xf32>, tensor<5x6xf32>) outs(%e0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    // init of ones
    %v = linalg.matmul_transpose_b ins(%z, %B : tensor<5x3xf32>, tensor<6x3xf32>) outs(%z1 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %b = linalg.add ins(%y, %v : tensor<5x6xf32>, tensor<5x6xf32>) outs(%e0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    // K = 1025
    %w = linalg.matmul_transpose_b ins(%x, %W : tensor<5x1025xf32>, tensor<6x1025xf32>) outs(%z0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    %c = linalg.add ins(%y, %w : tensor<5x6xf32>, tensor<5x6xf32>) outs(%e0 : tensor<5x6xf32>) -> tensor<5x6xf32>
    // axpy form
    %g = "perft.grouped_matmul"(%rows, %bank, %offsets) {transpose_w = false} : (tensor<10x3xf32>, tensor<4x3x6xf32>, tensor<5xi32>) -> tensor<10x6xf32>
    %d = linalg.add ins(%y2, %g : tensor<10x6xf32>, tensor<10x6xf32>) outs(%y2 : tensor<10x6xf32>) -> tensor<10x6xf32>
    return %a, %s, %b, %c, %d : tensor<5x6xf32>, tensor<5x6xf32>, tensor<5x6xf32>, tensor<5x6xf32>, tensor<10x6xf32>
  }
}
