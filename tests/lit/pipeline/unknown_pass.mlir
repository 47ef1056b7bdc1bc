// An unknown perft-* pass name is an error that lists the perft passes and their options.
// RUN: not %perft_opt %s -p 'perft-bufferize,perft-bufferise' 2>&1 | FileCheck %s

// CHECK: perft: error: no pass named 'perft-bufferise'; the perft passes are:
// CHECK-NEXT: perft-verify
// CHECK-NEXT: perft-prune-dead
// CHECK-NEXT: perft-autodiff
// CHECK-NEXT: options: wrong-rule=OP
// CHECK-NEXT: perft-fuse-swiglu
// CHECK-NEXT: perft-fuse-route
// CHECK-NEXT: perft-fuse-shared-input
// CHECK-NEXT: perft-fuse-epilogue
// CHECK-NEXT: perft-fuse-join
// CHECK-NEXT: perft-fuse-lora-chain
// CHECK-NEXT: perft-fuse-softmax-top-k
// CHECK-NEXT: perft-attention-gemms
// CHECK-NEXT: perft-bf16-gemm-inputs
// CHECK-NEXT: perft-bufferize
// CHECK-NEXT: options: target=cpu|cuda (default cpu: whose kernels the scratch buffers are sized for)
// CHECK-NEXT: perft-plan-workspace
// CHECK-NEXT: options: reuse=0|1 (default 1)
// CHECK-NEXT: perft-emit-kernels
// CHECK-NEXT: options: target=cpu|cuda parallel=0|1 (default 1) parallel-min-work=N (default 4194304) vector-bytes=N (default 0)
// CHECK-NEXT: perft-emit-optimizer
// CHECK-NEXT: perft-manifest
// CHECK-NEXT: perft-gpu-launch
// CHECK-NEXT: perft-gpu-host
// CHECK-NEXT: options: reverse=0|1
// CHECK-NEXT: perft-gpu-one-module
// CHECK-NOT: {{^}}module
module {
  func.func @f() {
    return
  }
}
