// perft-emit-kernels{target=cuda} then perft-gpu-launch on causal_softmax over 2 squares of 40
// scores a row (scratch: 80 rows · 2 · 32 partials): a block a row (one warp) whose 32 threads each take every
// 32nd of the row's keys (j ≤ i) — their maxima, a barrier, each lane's exps and their sum, a
// barrier, then 1/Σ and each lane's columns of p (zeros past the diagonal); the gradient: each
// lane's Σ p·dp, a barrier, each lane's columns of ds.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @softmax(
// CHECK: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c32
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32
// CHECK: arith.maximumf
// CHECK: memref.store %{{.*}}, %arg2
// CHECK: gpu.barrier
// CHECK: arith.maximumf
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c32
// CHECK: memref.store %{{.*}}, %arg1
// CHECK: memref.store %{{.*}}, %arg2
// CHECK: gpu.barrier
// CHECK: arith.divf
// CHECK: scf.for %{{.*}} = %{{.*}} to %c40{{.*}} step %c32
// CHECK: arith.cmpi ule
// CHECK: arith.select
// CHECK: memref.store %{{.*}}, %arg1
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// CHECK-LABEL: func.func @softmax_grad(
// CHECK: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c32
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %{{.*}} to %c40{{.*}} step %c32
// CHECK: memref.store %{{.*}}, %arg2
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
module {
  func.func @softmax(%s: memref<2x40x40xf32>, %p: memref<2x40x40xf32>, %partial: memref<5120xf32>) {
    "perft_buffer.causal_softmax"(%s, %p, %partial) {scale = 0.25 : f64} : (memref<2x40x40xf32>, memref<2x40x40xf32>, memref<5120xf32>) -> ()
    return
  }
  func.func @softmax_grad(%p: memref<2x40x40xf32>, %dp: memref<2x40x40xf32>, %ds: memref<2x40x40xf32>, %partial: memref<2560xf32>) {
    "perft_buffer.causal_softmax_grad"(%p, %dp, %ds, %partial) {scale = 0.25 : f64}
        : (memref<2x40x40xf32>, memref<2x40x40xf32>, memref<2x40x40xf32>, memref<2560xf32>) -> ()
    return
  }
}
