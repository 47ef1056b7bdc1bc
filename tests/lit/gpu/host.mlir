// perft-gpu-host: a gpu.launch becomes an scf.parallel over its blocks (z, y, x) and, in each
// block, scf.for loops over its threads; the body's stretches between gpu.barrier ops become
// one loop over the threads each (every thread finishes a stretch before any starts the next),
// the thread ids read after the barrier recomputed there; thread scratch (alloca) is made once a
// block, inside a stack save/restore.
// RUN: %perft_opt %s -p 'perft-gpu-host' | FileCheck %s

// CHECK-LABEL: func.func @two_stretches(
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %[[BX:.*]]) = (%c0, %c0, %c0) to (%c1{{.*}}, %c1{{.*}}, %c3) step
// the first stretch: every thread stores its id
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK: scf.for %[[T1:.*]] = %c0{{.*}} to %c4
// CHECK: arith.muli %[[BX]], %c4
// CHECK: memref.store {{.*}}, %arg0
// the second stretch, after the barrier: every thread reads its neighbour's value
// CHECK: scf.for %[[T2:.*]] = %c0{{.*}} to %c4
// CHECK: arith.muli %[[BX]], %c4
// CHECK: memref.load %arg0
// CHECK: memref.store {{.*}}, %arg1
// CHECK-NOT: gpu.
// CHECK: scf.reduce
module {
  func.func @two_stretches(%a: memref<12xf32>, %b: memref<12xf32>) {
    %c1 = arith.constant 1 : index
    %c3 = arith.constant 3 : index
    %c4 = arith.constant 4 : index
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c3, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      %base = arith.muli %bx, %sx : index
      %i = arith.addi %base, %tx : index
      %id = arith.index_cast %i : index to i32
      %f = arith.sitofp %id : i32 to f32
      memref.store %f, %a[%i] : memref<12xf32>
      gpu.barrier
      %next = arith.addi %tx, %c1 : index
      %wrapped = arith.remui %next, %sx : index
      %j = arith.addi %base, %wrapped : index
      %v = memref.load %a[%j] : memref<12xf32>
      memref.store %v, %b[%i] : memref<12xf32>
      gpu.terminator
    }
    return
  }
}
