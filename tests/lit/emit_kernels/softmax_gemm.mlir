// perft-emit-kernels alone (target=cpu), on perft-plan-workspace's output: perft_buffer.softmax
// becomes loops over the rows (max, exp and sum, scale), the GEMM linalg.matmul_transpose_b
// becomes blocked scf.for loops accumulating into its output, and the CPU kernel declines
// linalg.add, which stays for the upstream lowering. No perft_buffer op is left.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cpu}' | FileCheck %s
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cpu}' | FileCheck %s --check-prefix=GONE

// GONE-NOT: perft_buffer.
// GONE-NOT: linalg.matmul

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[X:[^:]*]]: memref<4x3xf32> {perft.input = "x"}, %[[W:[^:]*]]: memref<8x3xf32> {perft.input = "w"}, %[[OUT:[^:]*]]: memref<4x8xf32> {perft.result = "output y"}, %[[WS:[^:]*]]: memref<128xi8> {perft.workspace})
// CHECK-SAME: attributes {perft.workspace_bytes = 128 : i64}
// CHECK: %[[Y:.*]] = memref.view %[[WS]]
// softmax: one scf.for over the 4 rows, with the row max, exp and sum, then the scaling.
// CHECK: scf.for %[[ROW:.*]] = %{{.*}} to %c4{{.*}} step %{{.*}} {
// CHECK: arith.maximumf
// CHECK: memref.load %[[X]][%[[ROW]], %{{.*}}] : memref<4x3xf32>
// CHECK: memref.store %{{.*}}, %[[Y]][%[[ROW]], %{{.*}}] : memref<4x3xf32>
// CHECK: arith.divf
// CHECK: memref.store %{{.*}}, %[[Y]][%[[ROW]], %{{.*}}] : memref<4x3xf32>
// CHECK: %[[Z:.*]] = memref.view %[[WS]]
// CHECK-NEXT: linalg.add ins(%[[Y]], %[[X]] : memref<4x3xf32>, memref<4x3xf32>) outs(%[[Z]] : memref<4x3xf32>)
// the GEMM: blocks of output columns, rows, then the K loop carrying a 4x4 register block.
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32) {
// CHECK: memref.load %[[Z]]
// CHECK: memref.load %[[W]]
// CHECK: memref.load %[[OUT]]
// CHECK-NEXT: arith.addf
// CHECK-NEXT: memref.store %{{.*}}, %[[OUT]]
// CHECK: return
module {
  func.func @train_step(%x: memref<4x3xf32> {perft.input = "x"}, %w: memref<8x3xf32> {perft.input = "w"},
                        %out: memref<4x8xf32> {perft.result = "output y"}, %ws: memref<128xi8> {perft.workspace})
      attributes {perft.workspace_bytes = 128 : i64} {
    %c0 = arith.constant 0 : index
    %0 = memref.view %ws[%c0][] : memref<128xi8> to memref<4x3xf32>
    "perft_buffer.softmax"(%x, %0) : (memref<4x3xf32>, memref<4x3xf32>) -> ()
    %c64 = arith.constant 64 : index
    %1 = memref.view %ws[%c64][] : memref<128xi8> to memref<4x3xf32>
    linalg.add ins(%0, %x : memref<4x3xf32>, memref<4x3xf32>) outs(%1 : memref<4x3xf32>)
    linalg.matmul_transpose_b ins(%1, %w : memref<4x3xf32>, memref<8x3xf32>) outs(%out : memref<4x8xf32>)
    return
  }
}
