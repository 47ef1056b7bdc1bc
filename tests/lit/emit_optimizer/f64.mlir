// perft-emit-optimizer leaves an f64 program alone (perftc --dtype=f64 makes objects for gradient
// checks, which no executable trains): no entry points, no manifest record.
// RUN: %perft_opt %s -p perft-emit-optimizer,perft-manifest | FileCheck %s

// CHECK-NOT: optimizer device
// CHECK-NOT: func.func @adamw
// CHECK-NOT: func.func @grad_norm
// CHECK: func.func @train_step(
module {
  func.func @train_step(%w: memref<3xf64> {perft.param = "w", perft.trainable = true, perft.init = "zeros"},
                        %loss: memref<f64> {perft.result = "loss"}, %dw: memref<3xf64> {perft.result = "grad w"},
                        %ws: memref<64xi8> {perft.workspace}) attributes {perft.workspace_bytes = 64} {
    return
  }
  func.func @forward(%w: memref<3xf64> {perft.param = "w", perft.trainable = true, perft.init = "zeros"},
                     %loss: memref<f64> {perft.result = "loss"}, %ws: memref<64xi8> {perft.workspace})
      attributes {perft.workspace_bytes = 64} {
    return
  }
}
