// perft-emit-kernels{target=cuda} then perft-gpu-launch on combine and dispatch_grad, 3 tokens of 2
// slots, 40 wide (scratch: perm's inverse, i32[6]): no thread walks the 6 rows (threads owning
// columns would be 40 threads over all R rows) — first a thread a row writes inverse[perm[row]] = row,
// then a thread an element of the [3, 40] result gathers its token's 2 rows through the inverse,
// neighbouring threads on neighbouring columns (the element's token and column: its index / 40, mod 40).
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @combine(
// CHECK: gpu.launch
// CHECK: %[[ORIGIN:.*]] = memref.load %arg1[%[[ROW:.*]]] : memref<6xi32>
// CHECK: %[[PAIR:.*]] = arith.index_cast %[[ORIGIN]] : i32 to index
// CHECK: %[[ROW32:.*]] = arith.index_cast %[[ROW]] : index to i32
// CHECK: memref.store %[[ROW32]], %arg4[%[[PAIR]]] : memref<6xi32>
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: %[[T:.*]] = arith.divui %[[I:.*]], %c40
// CHECK: %[[D:.*]] = arith.remui %[[I]], %c40
// CHECK: scf.for %{{.*}} = %{{.*}} to %c2 step
// CHECK: %[[SOURCE:.*]] = memref.load %arg4[%{{.*}}] : memref<6xi32>
// CHECK: %[[R:.*]] = arith.index_cast %[[SOURCE]]
// CHECK: memref.load %arg0[%[[R]], %[[D]]] : memref<6x40xf32>
// CHECK: memref.load %arg2[%[[T]], %{{.*}}] : memref<3x2xf32>
// CHECK: memref.store %{{.*}}, %arg3[%[[T]], %[[D]]] : memref<3x40xf32>
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return

// CHECK-LABEL: func.func @dispatch_grad(
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %arg3[%{{.*}}] : memref<6xi32>
// CHECK: gpu.launch
// CHECK: scf.for %{{.*}} = %{{.*}} to %c2 step
// CHECK: memref.load %arg3
// CHECK-NOT: memref.load %arg2
// CHECK: memref.store %{{.*}}, %arg2[%{{.*}}, %{{.*}}] : memref<3x40xf32>
// CHECK-NOT: gpu.launch
// CHECK: return
module {
  func.func @combine(%rows: memref<6x40xf32>, %perm: memref<6xi32>, %w: memref<3x2xf32>, %y: memref<3x40xf32>, %inverse: memref<6xi32>) {
    "perft_buffer.combine"(%rows, %perm, %w, %y, %inverse) : (memref<6x40xf32>, memref<6xi32>, memref<3x2xf32>, memref<3x40xf32>, memref<6xi32>) -> ()
    return
  }
  func.func @dispatch_grad(%drows: memref<6x40xf32>, %perm: memref<6xi32>, %dx: memref<3x40xf32>, %inverse: memref<6xi32>) {
    "perft_buffer.dispatch_grad"(%drows, %perm, %dx, %inverse) : (memref<6x40xf32>, memref<6xi32>, memref<3x40xf32>, memref<6xi32>) -> ()
    return
  }
}
