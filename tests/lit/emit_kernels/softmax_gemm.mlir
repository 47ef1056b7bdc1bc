// perft-emit-kernels alone (target=cpu), on perft-plan-workspace's output: perft_buffer.softmax
// becomes loops over the rows (max, exp and sum, scale), the GEMM linalg.matmul_transpose_b
// becomes blocked scf.for loops accumulating into its output, and linalg.add becomes one flat
// loop over the 12 elements (threads only from 32768). No perft_buffer op and no linalg op is left.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cpu}' | FileCheck %s
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cpu}' | FileCheck %s --check-prefix=GONE

// GONE-NOT: perft_buffer.
// GONE-NOT: linalg.

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
// CHECK-DAG: %[[FZ:.*]] = memref.collapse_shape %[[Z]] {{\[\[}}0, 1]] : memref<4x3xf32> into memref<12xf32>
// CHECK-DAG: %[[FY:.*]] = memref.collapse_shape %[[Y]] {{\[\[}}0, 1]] : memref<4x3xf32> into memref<12xf32>
// CHECK-DAG: %[[FX:.*]] = memref.collapse_shape %[[X]] {{\[\[}}0, 1]] : memref<4x3xf32> into memref<12xf32>
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %c12{{.*}} step
// CHECK-NEXT: %[[A:.*]] = memref.load %[[FY]][%[[I]]]
// CHECK-NEXT: %[[B:.*]] = memref.load %[[FX]][%[[I]]]
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[A]], %[[B]] : f32
// CHECK-NEXT: memref.store %[[S]], %[[FZ]][%[[I]]]
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
