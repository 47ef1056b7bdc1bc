// perft-emit-kernels{target=cuda} then perft-gpu-launch on route's sort (T = 5 tokens, 2 slots,
// E = 3 experts; scratch i32 [2 · 3 · 10]): no walk of the pairs on one thread —
//   a block an expert, its threads the lanes (10 pairs: 10 lanes of one pair): each lane counts its
//     segment's pairs of the expert, a barrier, each lane sums the counts of the lanes before it;
//   one thread: the offsets, the experts' totals in order;
//   a thread an (expert, lane): its pairs of the expert into perm, from offsets[e] + its first row.
// With library=1 the runtime is then told the offsets are ready (one wait for all grouped GEMMs).
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda library=1},perft-gpu-launch' | FileCheck %s --check-prefix=READY

// CHECK-LABEL: func.func @sort(
// CHECK-SAME: %[[IDX:[^:]*]]: memref<5x2xi32>, %[[PERM:[^:]*]]: memref<10xi32>, %[[OFF:[^:]*]]: memref<4xi32>, %[[S:[^:]*]]: memref<60xi32>)
// 1. the counts and first rows: three blocks (the experts), a barrier between the two passes
// CHECK: %[[NE:.*]] = arith.ceildivsi %{{.*}}, %{{.*}} : index
// CHECK: %[[GRID:.*]] = arith.maxsi
// CHECK: gpu.launch blocks(%[[E:[a-z0-9_]+]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]],
// CHECK: memref.load %[[IDX]]
// CHECK: arith.cmpi eq
// CHECK: memref.store %{{.*}}, %[[S]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[S]]
// CHECK: memref.store %{{.*}}, %[[S]]
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
// 2. the offsets on one thread
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %[[OFF]]
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[OFF]]
// CHECK: gpu.terminator
// 3. the pairs into perm, a thread an (expert, lane)
// CHECK: gpu.launch
// CHECK: scf.for {{.*}} iter_args
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %[[PERM]]
// CHECK: gpu.terminator
// CHECK-NOT: call
// CHECK: return

// READY-LABEL: func.func @sort(
// READY: gpu.launch
// READY: gpu.launch
// READY: gpu.launch
// READY: gpu.terminator
// READY: call @perft_gemm_offsets_ready(%{{.*}}, %{{.*}}) : (i64, i64) -> ()
// READY: return
module {
  func.func @sort(%idx: memref<5x2xi32>, %perm: memref<10xi32>, %offsets: memref<4xi32>, %scratch: memref<60xi32>) {
    "perft_buffer.route"(%idx, %perm, %offsets, %scratch) {num_experts = 3 : i64}
        : (memref<5x2xi32>, memref<10xi32>, memref<4xi32>, memref<60xi32>) -> ()
    return
  }
}
