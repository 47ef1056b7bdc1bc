// perft-emit-kernels{target=cuda} then perft-gpu-launch on mse over 2 × 300 elements (scratch: 3
// chunks · 256 lanes + 256): no walk of the elements on one thread — a block a chunk of 200 whose
// 256 lanes each sum every 256th squared difference of it; then a thread a lane adds its 3 chunk
// sums; then one thread adds the 256 lane sums and divides by 600.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @loss(
// CHECK: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c256
// CHECK: arith.minsi
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c256
// CHECK: arith.subf
// CHECK: memref.store %{{.*}}, %arg3
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: scf.for %{{.*}} = %{{.*}} to %c3{{.*}} step
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: scf.for %{{.*}} = %{{.*}} to %c256{{.*}} step
// CHECK: arith.divf
// CHECK: memref.store %{{.*}}, %arg2[]
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
module {
  func.func @loss(%y: memref<2x300xf32>, %t: memref<2x300xf32>, %out: memref<f32>, %partial: memref<1024xf32>) {
    "perft_buffer.mse"(%y, %t, %out, %partial) : (memref<2x300xf32>, memref<2x300xf32>, memref<f32>, memref<1024xf32>) -> ()
    return
  }
}
