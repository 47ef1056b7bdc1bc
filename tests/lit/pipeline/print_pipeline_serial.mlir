// perftc --print-pipeline --serial --no-workspace-reuse: the options reach the passes as
// perft-plan-workspace{reuse=0} and perft-emit-kernels{... parallel=0 ...}.
// RUN: %perftc %s --print-pipeline --serial --no-workspace-reuse | FileCheck %s

// CHECK: {{^}}builtin.module(perft-prune-dead,perft-autodiff,perft-prune-dead,perft-fuse-swiglu,perft-fuse-route,perft-fuse-shared-input,perft-fuse-epilogue,perft-fuse-join,perft-fuse-lora-chain,perft-fuse-softmax-top-k,perft-bufferize,perft-plan-workspace{reuse=0},perft-emit-kernels{target=cpu parallel=0 parallel-min-work=4194304 vector-bytes=64 outline=1 library=0},perft-manifest,
// CHECK-NOT: reuse=1
// CHECK-NOT: parallel=1
module {
  func.func @forward(%x: tensor<4x3xf32> {perft.input = "x"}) -> (tensor<f32> {perft.loss}) {
    %l = "perft.mse"(%x, %x) : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
