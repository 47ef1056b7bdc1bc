// perft-gpu-launch: a kernel function's top-level scf.parallel becomes one gpu.launch, a thread an
// iteration (guarded: 300 iterations, 2 blocks of 256 threads); the serial work before it (a
// loop over a scratch row) becomes a launch of one thread; constants and views stay on the
// host, hoisted; an scf.parallel nested in the thread's serial loop becomes scf.for (one that
// nests parallel loops directly maps onto blocks and threads: launch_two_level.mlir); the seed
// loaded before the parallel loop moves into it (each thread reads it); return stays.
// RUN: %perft_opt %s -p 'perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func private @kernel(
// CHECK-DAG: %[[C300:.*]] = arith.constant 300 : index
// CHECK-DAG: memref.collapse_shape %arg1
// the serial loop: one block of one thread
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: %[[ONE_B:.*]] = arith.constant 1 : index
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[ONE_B]], {{.*}}) threads({{.*}}) in (%{{.*}} = %[[ONE]],
// CHECK: scf.for
// CHECK: memref.store
// CHECK: gpu.terminator
// the parallel loop: ceil(300 / 256) blocks of 256 threads, each guarded
// CHECK: %[[N:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: %[[BLOCKS:.*]] = arith.maxsi
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[BLOCKS]], {{.*}} threads(%[[TX:[a-z0-9_]+]], %{{.*}}, %{{.*}}) in (%[[BS:[a-z0-9_]+]] = %c256
// CHECK: %[[I0:.*]] = arith.muli %[[BX]], %[[BS]]
// CHECK: %[[I:.*]] = arith.addi %[[I0]], %[[TX]]
// CHECK: %[[IN:.*]] = arith.cmpi slt, %[[I]], %[[N]]
// CHECK: scf.if %[[IN]] {
// CHECK: memref.load %arg2
// CHECK-NOT: scf.parallel
// CHECK: scf.for
// CHECK: gpu.terminator
// CHECK: return
module {
  func.func private @kernel(%x: memref<300x4xf32>, %scratch: memref<2x2xf32>, %seed: memref<1xi32>, %y: memref<300x4xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c300 = arith.constant 300 : index
    %zero = arith.constant 0.0 : f32
    %flat = memref.collapse_shape %scratch [[0, 1]] : memref<2x2xf32> into memref<4xf32>
    scf.for %i = %c0 to %c4 step %c1 {
      memref.store %zero, %flat[%i] : memref<4xf32>
    }
    %s = memref.load %seed[%c0] : memref<1xi32>
    scf.parallel (%r) = (%c0) to (%c300) step (%c1) {
      scf.for %once = %c0 to %c1 step %c1 {
        scf.parallel (%c) = (%c0) to (%c4) step (%c1) {
          %v = memref.load %x[%r, %c] : memref<300x4xf32>
          %f = arith.sitofp %s : i32 to f32
          %w = arith.mulf %v, %f : f32
          memref.store %w, %y[%r, %c] : memref<300x4xf32>
          scf.reduce
        }
      }
      scf.reduce
    }
    return
  }
  // a result copied into its output buffer: a thread an element (3 x 5 = 15 threads, one block)
  // CHECK-LABEL: func.func @copies(
  // CHECK: gpu.launch
  // CHECK: memref.load %arg0[
  // CHECK: memref.store {{.*}}, %arg1[
  // CHECK-NOT: memref.copy
  // CHECK: return
  func.func @copies(%a: memref<3x5xf32>, %b: memref<3x5xf32>) {
    memref.copy %a, %b : memref<3x5xf32> to memref<3x5xf32>
    return
  }
}
