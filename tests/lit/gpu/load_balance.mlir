// perft-emit-kernels{target=cuda} then perft-gpu-launch on the load-balance loss (6 tokens, 2 slots,
// 4 experts; scratch: counts[4], then 4 · 2 · 12 partials): no walk of the pairs on one thread, nor
// of a column of p — a block an expert whose 12 lanes (one warp) each count every 12th pair and sum
// every 12th row of the expert's column of p into the scratch, a barrier, then its first thread
// adds them in order and multiplies count by column sum; one thread adds the four products into
// the loss.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @loss(
// CHECK: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c32
// the lane's pairs
// CHECK: scf.for %{{.*}} = %{{.*}} to %c12{{.*}} step %c12
// CHECK: memref.load %arg1
// CHECK: arith.cmpi eq
// CHECK: memref.store %{{.*}}, %arg3
// the lane's rows of p
// CHECK: scf.for %{{.*}} = %{{.*}} to %c6{{.*}} step %c12
// CHECK: memref.load %arg0
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %{{.*}} to %c12{{.*}} step %c1
// CHECK: scf.for %{{.*}} = %{{.*}} to %c12{{.*}} step %c1
// CHECK: arith.mulf
// CHECK: memref.store %{{.*}}, %arg3
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// the sum: one thread
// CHECK: gpu.launch
// CHECK: scf.for %{{.*}} = %{{.*}} to %c4{{.*}} step
// CHECK: memref.store %{{.*}}, %arg2[]
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
module {
  func.func @loss(%p: memref<6x4xf32>, %idx: memref<6x2xi32>, %out: memref<f32>, %scratch: memref<100xf32>) {
    "perft_buffer.load_balance"(%p, %idx, %out, %scratch) {num_experts = 4 : i64}
        : (memref<6x4xf32>, memref<6x2xi32>, memref<f32>, memref<100xf32>) -> ()
    return
  }
}
