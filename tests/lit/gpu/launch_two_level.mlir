// perft-emit-kernels{target=cuda} then perft-gpu-launch on a dense GEMM (x · wᵀ, 6 rows, 10 weights):
// the cuda kernel nests its parallel loops — blocks of 4 weights, in each the register blocks of 4
// rows — and perft-gpu-launch maps them onto two levels: a GPU block a block of weights (2 of
// them, the last 2 weights a second launch), the block's threads its register blocks (thread t
// takes t, t + threads, ...), none past the loop's end; two register blocks need one warp of 32
// threads, not 256.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @gemm(
// CHECK: %[[NB:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK: %[[GRID:.*]] = arith.maxsi %[[NB]]
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9_]+]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]], {{.*}} threads(%[[TX:[a-z0-9_]+]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[THREADS:c32[_0-9]*]],
// CHECK: arith.muli %[[BX]], %c4
// CHECK: %[[IN:.*]] = arith.cmpi slt, %[[BX]], %[[NB]]
// CHECK: %[[ROWS:.*]] = arith.select %[[IN]]
// CHECK: scf.for %{{.*}} = %[[TX]] to %[[ROWS]] step %[[THREADS]] {
// CHECK: scf.for {{.*}} iter_args
// CHECK-COUNT-16: arith.addf
// CHECK: gpu.terminator
// the last two weights: one block
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK-NOT: scf.parallel
// CHECK: return
module {
  func.func @gemm(%x: memref<6x3xf32>, %w: memref<10x3xf32>, %out: memref<6x10xf32>) {
    linalg.matmul_transpose_b ins(%x, %w : memref<6x3xf32>, memref<10x3xf32>) outs(%out : memref<6x10xf32>)
    return
  }
// Two inner loops in one outer iteration: a gpu.barrier between them (the second reads the first's
// stores), none after the last; 8 iterations each: a warp.
// CHECK-LABEL: func.func @two_inner(
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %c32
// CHECK: scf.for
// CHECK: memref.store {{.*}}, %arg1
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: memref.load %arg1
// CHECK-NOT: gpu.barrier
// CHECK: gpu.terminator
  func.func @two_inner(%x: memref<4x8xf32>, %tmp: memref<4x8xf32>, %y: memref<4x8xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c7 = arith.constant 7 : index
    %c8 = arith.constant 8 : index
    scf.parallel (%r) = (%c0) to (%c4) step (%c1) {
      scf.parallel (%c) = (%c0) to (%c8) step (%c1) {
        %v = memref.load %x[%r, %c] : memref<4x8xf32>
        memref.store %v, %tmp[%r, %c] : memref<4x8xf32>
        scf.reduce
      }
      scf.parallel (%c) = (%c0) to (%c8) step (%c1) {
        %mirror = arith.subi %c7, %c : index
        %v = memref.load %tmp[%r, %mirror] : memref<4x8xf32>
        memref.store %v, %y[%r, %c] : memref<4x8xf32>
        scf.reduce
      }
      scf.reduce
    }
    return
  }
// An inner loop whose trip count is only known at run time (the outer row's length): 256 threads.
// CHECK-LABEL: func.func @ragged(
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %c256
  func.func @ragged(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    scf.parallel (%r) = (%c0) to (%c4) step (%c1) {
      %n = arith.addi %r, %c1 : index
      scf.parallel (%c) = (%c0) to (%n) step (%c1) {
        %v = memref.load %x[%r, %c] : memref<4x8xf32>
        memref.store %v, %y[%r, %c] : memref<4x8xf32>
        scf.reduce
      }
      scf.reduce
    }
    return
  }
}
