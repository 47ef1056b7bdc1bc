// perft-emit-kernels{target=cuda} then perft-gpu-launch on the load-balance loss (6 tokens, 2 slots,
// 4 experts; scratch counts[4]): no walk of the pairs on one thread — a thread an expert counts its
// pairs, a thread an expert multiplies its count by its column sum of p, then one thread adds the
// four products in order into the loss.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @loss(
// the counts: 4 threads, each over the 12 pairs
// CHECK: gpu.launch
// CHECK: scf.for %{{.*}} = %{{.*}} to %c12{{.*}} step
// CHECK: memref.load %arg1
// CHECK: arith.cmpi eq
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: gpu.terminator
// the columns of p: 4 threads, each over the 6 rows
// CHECK: gpu.launch
// CHECK: scf.for %{{.*}} = %{{.*}} to %c6{{.*}} step
// CHECK: memref.load %arg0
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: gpu.terminator
// the sum: one thread
// CHECK: gpu.launch
// CHECK: scf.for %{{.*}} = %{{.*}} to %c4{{.*}} step
// CHECK: memref.store %{{.*}}, %arg2[]
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
module {
  func.func @loss(%p: memref<6x4xf32>, %idx: memref<6x2xi32>, %out: memref<f32>, %counts: memref<4xf32>) {
    "perft_buffer.load_balance"(%p, %idx, %out, %counts) {num_experts = 4 : i64}
        : (memref<6x4xf32>, memref<6x2xi32>, memref<f32>, memref<4xf32>) -> ()
    return
  }
}
