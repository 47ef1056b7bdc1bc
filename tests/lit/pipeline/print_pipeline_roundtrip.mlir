// The pipeline perftc prints is one perft-opt accepts: running perftc's whole pipeline
// through perft-opt lowers @forward to the LLVM dialect, with the manifest recorded.
// RUN: %perft_opt %s -p "$(%perftc %s --print-pipeline)" | FileCheck %s

// CHECK: module attributes {perft.manifest = "perft-manifest 1\0Aparam w 4x3 trainable zeros\0Ainput x 5x4\0Ainput t 5x3\0Agrad w 4x3\0Adtype f32\0Aworkspace {{[0-9]+}}\0A"}
// CHECK-DAG: llvm.func @forward(
// CHECK-DAG: llvm.func @train_step(
// CHECK-NOT: perft.mse
// CHECK-NOT: func.func
module {
  func.func @forward(%w: tensor<4x3xf32> {perft.param = "w", perft.trainable = true, perft.init = "zeros"},
                     %x: tensor<5x4xf32> {perft.input = "x"}, %t: tensor<5x3xf32> {perft.input = "t"})
      -> (tensor<f32> {perft.loss}) {
    %cst = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<5x3xf32>
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<5x3xf32>) -> tensor<5x3xf32>
    %y = linalg.matmul ins(%x, %w : tensor<5x4xf32>, tensor<4x3xf32>) outs(%z : tensor<5x3xf32>) -> tensor<5x3xf32>
    %l = "perft.mse"(%y, %t) : (tensor<5x3xf32>, tensor<5x3xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
