// perft-emit-kernels{target=cuda} then perft-gpu-launch on reductions: the mean over 300 rows of a
// [300, 3] value (scratch: 3 · 256 lane partials) is a block an element of y, whose 256 lanes each
// sum every 256th element down the column (x flattened: row a of column o at a · 3 + o), a barrier,
// then the block's first thread adds the 256 partials in order and divides by 300 — not 3 threads
// each walking 300 rows. A sum along an axis of 5 (under REDUCE_MIN_LANES: no scratch) stays a
// thread an element of y.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @mean0(
// CHECK: %[[FLAT:.*]] = memref.collapse_shape %arg0
// CHECK: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c256
// CHECK: scf.for %{{.*}} = %{{.*}} to %c300{{.*}} step %c256
// CHECK: memref.load %[[FLAT]]
// CHECK: memref.store %{{.*}}, %arg2
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %{{.*}} to %c256{{.*}} step
// CHECK: memref.load %arg2
// CHECK: arith.divf
// CHECK: memref.store %{{.*}}, %arg1
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return

// CHECK-LABEL: func.func @sum_short(
// CHECK: gpu.launch
// CHECK-NOT: gpu.barrier
// CHECK: scf.for %{{.*}} = %{{.*}} to %c5 step
// CHECK: memref.store %{{.*}}, %arg1
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
module {
  func.func @mean0(%x: memref<300x3xf32>, %y: memref<3xf32>, %partial: memref<768xf32>) {
    "perft_buffer.reduce_mean"(%x, %y, %partial) {axis = 0 : i64} : (memref<300x3xf32>, memref<3xf32>, memref<768xf32>) -> ()
    return
  }
  func.func @sum_short(%x: memref<4x5xf32>, %y: memref<4xf32>, %partial: memref<0xf32>) {
    "perft_buffer.reduce_sum"(%x, %y, %partial) {axis = 1 : i64} : (memref<4x5xf32>, memref<4xf32>, memref<0xf32>) -> ()
    return
  }
}
