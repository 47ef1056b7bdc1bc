// perft-emit-kernels{target=cuda} then perft-gpu-launch on expert-choice routing's GPU forms.
// ec_combine, 2 experts taking 3 of 5 tokens each, 40 wide (scratch: slot, i32[2·5]): slot[e, t] = −1,
// then slot[e, tok[e, c]] = c, then a thread an element of the [5, 40] result adds its token's rows
// in expert order, a row the expert did not take adding 0 (select), so no thread walks the 6 rows.
// top_k over rows of 600 (> 512, scratch: a partial count a lane, 2·600·32): a block of 32 lanes an
// entry, each lane counting every 32nd rival, a barrier, then the first thread adds the lanes' counts
// and places the entry if its rank is below k.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @ec_combine(
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %arg4[%{{.*}}] : memref<10xi32>
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: memref.load %arg1[%{{.*}}, %{{.*}}] : memref<2x3xi32>
// CHECK: memref.store %{{.*}}, %arg4[%{{.*}}] : memref<10xi32>
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: scf.for %{{.*}} = %{{.*}} to %c2 step
// CHECK: memref.load %arg4[%{{.*}}] : memref<10xi32>
// CHECK: %[[TAKEN:.*]] = arith.cmpi sge
// CHECK: memref.load %arg0[%{{.*}}, %{{.*}}] : memref<6x40xf32>
// CHECK: memref.load %arg2[%{{.*}}, %{{.*}}] : memref<2x3xf32>
// CHECK: arith.select %[[TAKEN]]
// CHECK: memref.store %{{.*}}, %arg3[%{{.*}}, %{{.*}}] : memref<5x40xf32>
// CHECK-NOT: gpu.launch
// CHECK: return

// CHECK-LABEL: func.func @top_k_long(
// CHECK: gpu.launch {{.*}} threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c32,
// CHECK: scf.for %{{.*}} = %{{.*}} to %c600 step %c32
// CHECK: memref.store %{{.*}}, %arg3[%{{.*}}] : memref<38400xf32>
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %{{.*}} to %c32{{.*}} step
// CHECK: memref.load %arg3
// CHECK: arith.fptosi
// CHECK: memref.store %{{.*}}, %arg1[%{{.*}}, %{{.*}}] : memref<2x3xf32>
// CHECK: memref.store %{{.*}}, %arg2[%{{.*}}, %{{.*}}] : memref<2x3xi32>
// CHECK-NOT: gpu.launch
// CHECK: return
module {
  func.func @ec_combine(%rows: memref<6x40xf32>, %tok: memref<2x3xi32>, %w: memref<2x3xf32>, %y: memref<5x40xf32>, %slot: memref<10xi32>) {
    "perft_buffer.ec_combine"(%rows, %tok, %w, %y, %slot) : (memref<6x40xf32>, memref<2x3xi32>, memref<2x3xf32>, memref<5x40xf32>, memref<10xi32>) -> ()
    return
  }
  func.func @top_k_long(%p: memref<2x600xf32>, %w: memref<2x3xf32>, %idx: memref<2x3xi32>, %partial: memref<38400xf32>) {
    "perft_buffer.top_k"(%p, %w, %idx, %partial) {k = 3 : i64, renormalize = false} : (memref<2x600xf32>, memref<2x3xf32>, memref<2x3xi32>, memref<38400xf32>) -> ()
    return
  }
}
