// perft-emit-kernels{target=cuda} then perft-gpu-launch on a slice of columns 8..31 of a [5, 40]
// value: a thread an element of the [5, 24] result (120 threads, no loop in a thread), neighbouring
// threads on neighbouring columns (row: index / 24, column: index mod 24) — not a thread a row
// walking its 24 columns alone, as concat, slice, embedding, rope and the combine's row gradient
// were on a GPU (Grid in passes/cpu_kernels.c).
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @slice(
// CHECK: %[[N:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: gpu.launch
// CHECK: %[[I:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK: arith.cmpi slt, %[[I]], %[[N]]
// CHECK-NOT: scf.for
// CHECK: %[[ROW:.*]] = arith.divui %{{.*}}, %c24
// CHECK: %[[COLUMN:.*]] = arith.remui %{{.*}}, %c24
// CHECK: %[[FROM:.*]] = arith.addi %[[COLUMN]], %c8
// CHECK: memref.load %arg0[%{{.*}}, %[[FROM]]]
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
module {
  func.func @slice(%x: memref<5x40xf32>, %y: memref<5x24xf32>) {
    "perft_buffer.slice"(%x, %y) {axis = 1 : i64, start = 8 : i64} : (memref<5x40xf32>, memref<5x24xf32>) -> ()
    return
  }
}
