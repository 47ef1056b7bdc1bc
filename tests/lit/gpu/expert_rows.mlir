// perft-emit-kernels{target=cuda} then perft-gpu-launch on expert_rows and its gradient ((IA)³'s
// per-row expert scales), 4 experts of 8-wide slices over 12 routed rows. The forward: a thread an
// element of the rows, the row's expert found by a binary search of the offsets (3 halvings of
// [0, 4): the last e with offsets[e] ≤ r), rows past offsets[4] left alone. The gradient: a thread an
// element of the bank adding its expert's rows [offsets[e], offsets[e+1]) in order.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @expert_rows(
// CHECK: gpu.launch
// CHECK: %[[R:.*]] = arith.divui %{{.*}}, %c8 : index
// CHECK: memref.load %arg1[%c4] : memref<5xi32>
// CHECK: arith.cmpi slt, %[[R]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %c3 step %{{.*}} iter_args(%[[LO:.*]] = %c0{{.*}}, %[[HI:.*]] = %c4{{.*}}) -> (index, index)
// CHECK: %[[MID:.*]] = arith.divui %{{.*}}, %c2 : index
// CHECK: memref.load %arg1[%[[MID]]] : memref<5xi32>
// CHECK: %[[AT:.*]] = arith.cmpi sle, %{{.*}}, %[[R]] : index
// CHECK: arith.select %[[AT]], %[[MID]], %[[LO]]
// CHECK: arith.select %[[AT]], %[[HI]], %[[MID]]
// CHECK: memref.store %{{.*}} : memref<96xf32>
// CHECK-NOT: gpu.launch
// CHECK: return

// CHECK-LABEL: func.func @expert_rows_grad(
// CHECK: gpu.launch
// CHECK: memref.load %arg1[%{{.*}}] : memref<5xi32>
// CHECK: memref.load %arg1[%{{.*}}] : memref<5xi32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %cst) -> (f32)
// CHECK: memref.load %{{.*}} : memref<96xf32>
// CHECK: memref.store %{{.*}} : memref<32xf32>
// CHECK-NOT: gpu.launch
// CHECK: return
module {
  func.func @expert_rows(%bank: memref<4x8xf32>, %offsets: memref<5xi32>, %rows: memref<12x8xf32>) {
    "perft_buffer.expert_rows"(%bank, %offsets, %rows) : (memref<4x8xf32>, memref<5xi32>, memref<12x8xf32>) -> ()
    return
  }
  func.func @expert_rows_grad(%drows: memref<12x8xf32>, %offsets: memref<5xi32>, %dbank: memref<4x8xf32>) {
    "perft_buffer.expert_rows_grad"(%drows, %offsets, %dbank) : (memref<12x8xf32>, memref<5xi32>, memref<4x8xf32>) -> ()
    return
  }
}
