// perft-emit-kernels{target=cuda} then perft-gpu-launch on cross_entropy over 3 rows of 300 logits
// (scratch: terms[3], then 3 · 2 · 256 partial maxima and sums): a block a row whose 256 threads
// each take every 256th logit — their maxima, a barrier, each lane's Σ exp(l − row max), a barrier,
// then the row's term on its first thread. Then one block (lanes: min(3 rows, 256), 32 threads) sums
// the terms and counts the labels in the loss, each lane every lanes-th row into the scratch after
// the terms, a barrier, and its first thread divides the one by the other — no thread walks all rows.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @loss(
// CHECK: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c256
// CHECK: scf.for %{{.*}} = %{{.*}} to %c300{{.*}} step %c256
// CHECK: arith.maximumf
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: gpu.barrier
// CHECK: arith.maximumf
// CHECK: scf.for %{{.*}} = %{{.*}} to %c300{{.*}} step %c256
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: gpu.barrier
// CHECK: math.log
// CHECK: memref.store %{{.*}}, %arg3
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// CHECK: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c32
// CHECK: scf.for %{{.*}} = %{{.*}} to %c3{{.*}} step %c3
// CHECK: memref.load %arg3
// CHECK: memref.load %arg1
// CHECK: arith.cmpi sge
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: gpu.barrier
// CHECK: arith.maximumf
// CHECK: arith.divf
// CHECK: memref.store %{{.*}}, %arg2[] : memref<f32>
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
module {
  func.func @loss(%logits: memref<3x300xf32>, %labels: memref<3xi32>, %out: memref<f32>, %terms: memref<1539xf32>) {
    "perft_buffer.cross_entropy"(%logits, %labels, %out, %terms) : (memref<3x300xf32>, memref<3xi32>, memref<f32>, memref<1539xf32>) -> ()
    return
  }
}
