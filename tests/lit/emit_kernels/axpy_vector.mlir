// perft-emit-kernels with vector-bytes=64: an axpy-form GEMM (linalg.matmul, x·w with w[K, N])
// becomes register blocks of 4 rows x 4 vectors of 16 floats: per step of K, 4 weight vectors
// are loaded, 4 scalars of x broadcast, and 16 vector.fma accumulate (carried by the K loop).
// The 6 rows leave 2 for a one-row block; the 70 columns leave 6 for one vector of 4 lanes and one
// of 2, each an FMA per step of K like the strips.
// vector-bytes=0 keeps scalar loops only.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cpu vector-bytes=64}' | FileCheck %s
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cpu vector-bytes=0}' | FileCheck %s --check-prefix=SCALAR

// CHECK-LABEL: func.func @gemm(
// CHECK: scf.for %[[N0:.*]] = %{{.*}} to %c64{{.*}} step %c64
// CHECK: scf.for %[[R0:.*]] = %{{.*}} step %c4
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-4: vector.load %arg1
// CHECK: vector.broadcast
// CHECK-COUNT-4: vector.fma
// CHECK: vector.store
// the two rows after the blocks of four, one at a time
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// the last 6 columns: a vector of 4, then one of 2 (blocks of 4 rows, then the 2 rows left)
// CHECK: iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: iter_args({{.*}}) -> (vector<4xf32>)
// CHECK: iter_args({{.*}}) -> (vector<2xf32>, vector<2xf32>, vector<2xf32>, vector<2xf32>)
// CHECK: iter_args({{.*}}) -> (vector<2xf32>)
// CHECK-NOT: linalg.matmul

// SCALAR-LABEL: func.func @gemm(
// SCALAR-NOT: vector.
// SCALAR: return
module {
  func.func @gemm(%x: memref<6x3xf32>, %w: memref<3x70xf32>, %out: memref<6x70xf32>) {
    linalg.matmul ins(%x, %w : memref<6x3xf32>, memref<3x70xf32>) outs(%out : memref<6x70xf32>)
    return
  }
}
