// perftc --print-pipeline prints the pass pipeline for the stage and options, then stops:
// perft's passes in order with their options, then the upstream lowering to LLVM.
// RUN: %perftc %s --print-pipeline | FileCheck %s
// RUN: %perftc %s --print-pipeline --emit=autodiff | FileCheck %s --check-prefix=AUTODIFF

// CHECK: {{^}}builtin.module(perft-prune-dead,perft-autodiff,perft-prune-dead,perft-fuse-swiglu,perft-fuse-route,perft-fuse-shared-input,perft-fuse-epilogue,perft-fuse-join,perft-fuse-lora-chain,perft-fuse-softmax-top-k,perft-bufferize,perft-plan-workspace{reuse=1},perft-emit-kernels{target=cpu parallel=1 parallel-min-work=4194304 vector-bytes=64 outline=1 library=0},perft-manifest,func.func(convert-linalg-to-loops),
// CHECK-SAME: convert-scf-to-openmp,
// CHECK-SAME: convert-func-to-llvm{use-bare-ptr-memref-call-conv=1}
// CHECK-SAME: reconcile-unrealized-casts){{$}}

// AUTODIFF: {{^}}builtin.module(perft-prune-dead,perft-autodiff,perft-prune-dead){{$}}
module {
  func.func @forward(%x: tensor<4x3xf32> {perft.input = "x"}) -> (tensor<f32> {perft.loss}) {
    %l = "perft.mse"(%x, %x) : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
