// perft-gpu-host{reverse=1}: the same loops, but every block id is g−1−b and every thread id
// n−1−t (in each stretch), so the blocks and threads run in the opposite order (target
// cuda-host-reversed: a kernel whose numbers depend on the order has a race).
// RUN: %perft_opt %s -p 'perft-gpu-host{reverse=1}' | FileCheck %s
// RUN: not %perft_opt %s -p 'perft-gpu-host{reverse=2}' 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK-LABEL: func.func @one_stretch(
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %[[BX:.*]]) = (%c0, %c0, %c0) to (%c1{{.*}}, %c1{{.*}}, %c3) step
// CHECK: %[[GLAST:.*]] = arith.subi %c3, %{{.*}} : index
// CHECK: %[[B:.*]] = arith.subi %[[GLAST]], %[[BX]] : index
// CHECK: scf.for %[[T:.*]] = %c0{{.*}} to %c4
// CHECK: %[[TLAST:.*]] = arith.subi %c4, %{{.*}} : index
// CHECK: %[[TID:.*]] = arith.subi %[[TLAST]], %[[T]] : index
// CHECK: %[[BASE:.*]] = arith.muli %[[B]], %c4
// CHECK: %[[I:.*]] = arith.addi %[[BASE]], %[[TID]]
// CHECK: memref.store {{.*}}, %arg0[%[[I]]]
// CHECK-NOT: gpu.
// BAD: option 'reverse' takes an integer in [0, 1], got '2'
module {
  func.func @one_stretch(%a: memref<12xf32>) {
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
      gpu.terminator
    }
    return
  }
}
