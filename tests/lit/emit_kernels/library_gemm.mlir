// perft-emit-kernels{library=1} (the CUDA target's): the GEMMs become calls into the runtime's
// GEMM library (runtime/gemm.h) with their flags (1 transpose_a, 2 transpose_b, 4 accumulate,
// 8 f64, 16 bf16 inputs), sizes and the addresses of their buffers; the functions are declared
// once. A GEMM of an f32 input and a bf16 weight keeps its generated loop nest (cuBLAS multiplies
// bf16 only by bf16); with a bf16 input too (perft-bf16-gemm-inputs' copy) it is a library call.
// perft-gpu-launch then keeps the calls on the host, in order between the kernels' launches.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda library=1}' | FileCheck %s
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda library=0}' | FileCheck %s --check-prefix=LOOPS
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda library=1},func.func(convert-linalg-to-parallel-loops),perft-gpu-launch' | FileCheck %s --check-prefix=LAUNCH

// LOOPS-NOT: call @perft_
// LOOPS-NOT: func.func private @perft_

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[X:[^:]*]]: memref<4x3xf32> {{.*}}, %[[W:[^:]*]]: memref<8x3xf32> {{.*}}, %[[WB:[^:]*]]: memref<8x3xbf16> {{.*}}, %[[ROWS:[^:]*]]: memref<6x3xf32> {{.*}}, %[[BANK:[^:]*]]: memref<2x5x3xf32> {{.*}}, %[[OFF:[^:]*]]: memref<3xi32> {{.*}}, %[[Y:[^:]*]]: memref<4x8xf32> {{.*}}, %[[G:[^:]*]]: memref<6x5xf32> {{.*}}, %[[DB:[^:]*]]: memref<2x5x3xf32> {{.*}}, %[[YB:[^:]*]]: memref<4x8xf32> {{.*}}, %[[XW:[^:]*]]: memref<3x8xf32> {{.*}}, %[[D:[^:]*]]: memref<4x3xf64> {{.*}}, %[[DW:[^:]*]]: memref<3x5xf64> {{.*}}, %[[DY:[^:]*]]: memref<4x5xf64>
// x·wᵀ: transpose_b | accumulate, M=4 N=8 K=3
// CHECK-DAG: %[[F6:.*]] = arith.constant 6 : i64
// CHECK-DAG: %[[M4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[N8:.*]] = arith.constant 8 : i64
// CHECK-DAG: %[[K3:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[PX:.*]] = memref.extract_aligned_pointer_as_index %[[X]]
// CHECK-DAG: %[[AX:.*]] = arith.index_cast %[[PX]] : index to i64
// CHECK-DAG: %[[PW:.*]] = memref.extract_aligned_pointer_as_index %[[W]]
// CHECK-DAG: %[[AW:.*]] = arith.index_cast %[[PW]] : index to i64
// CHECK-DAG: %[[PY:.*]] = memref.extract_aligned_pointer_as_index %[[Y]]
// CHECK-DAG: %[[AY:.*]] = arith.index_cast %[[PY]] : index to i64
// CHECK: call @perft_gemm(%[[F6]], %[[M4]], %[[N8]], %[[K3]], %[[AX]], %[[AW]], %[[AY]])
// the bf16 weight: loops
// CHECK-NOT: call
// CHECK: scf.parallel
// CHECK: arith.extf
// grouped, bank [E=2, N=5, K=3] transposed: flags 2 (no accumulate), E N K, then rows bank offsets y
// CHECK: call @perft_grouped_gemm(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, i64, i64, i64, i64, i64, i64, i64) -> ()
// CHECK: call @perft_grouped_gemm_grad_weight(
// xᵀ·w (transpose_a | accumulate = 5): M=3 N=8 K=4
// CHECK: %[[F5:.*]] = arith.constant 5 : i64
// CHECK: call @perft_gemm(%[[F5]],
// f64, x·w (accumulate | f64 = 12)
// CHECK: %[[F12:.*]] = arith.constant 12 : i64
// CHECK: call @perft_gemm(%[[F12]],
// bf16 inputs, f32 output: x·wᵀ (bf16 inputs | accumulate | transpose_b = 22), the grouped GEMM (16 | 2 = 18)
// CHECK: %[[F22:.*]] = arith.constant 22 : i64
// CHECK: call @perft_gemm(%[[F22]],
// CHECK: %[[F18:.*]] = arith.constant 18 : i64
// CHECK: call @perft_grouped_gemm(%[[F18]],
// CHECK: return
// CHECK-DAG: func.func private @perft_gemm(i64, i64, i64, i64, i64, i64, i64)
// CHECK-DAG: func.func private @perft_grouped_gemm(i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK-DAG: func.func private @perft_grouped_gemm_grad_weight(i64, i64, i64, i64, i64, i64, i64, i64)

// LAUNCH-LABEL: func.func @train_step(
// LAUNCH-NOT: gpu.launch
// LAUNCH: call @perft_gemm(
// LAUNCH: gpu.launch
// LAUNCH: arith.extf
// LAUNCH: gpu.terminator
// LAUNCH: call @perft_grouped_gemm(
// LAUNCH: call @perft_grouped_gemm_grad_weight(
module {
  func.func @train_step(%x: memref<4x3xf32> {perft.input = "x"}, %w: memref<8x3xf32> {perft.input = "w"},
                        %wb: memref<8x3xbf16> {perft.input = "wb"}, %rows: memref<6x3xf32> {perft.input = "rows"},
                        %bank: memref<2x5x3xf32> {perft.input = "bank"}, %offsets: memref<3xi32> {perft.input = "offsets"},
                        %y: memref<4x8xf32> {perft.result = "output y"}, %g: memref<6x5xf32> {perft.result = "output g"},
                        %dbank: memref<2x5x3xf32> {perft.result = "output dbank"}, %yb: memref<4x8xf32> {perft.result = "output yb"},
                        %xw: memref<3x8xf32> {perft.result = "output xw"},
                        %d: memref<4x3xf64> {perft.input = "d"}, %dw: memref<3x5xf64> {perft.input = "dw"},
                        %dy: memref<4x5xf64> {perft.result = "output dy"},
                        %xb: memref<4x3xbf16> {perft.input = "xb"}, %yb2: memref<4x8xf32> {perft.result = "output yb2"},
                        %rowsb: memref<6x3xbf16> {perft.input = "rowsb"}, %bankb: memref<2x5x3xbf16> {perft.input = "bankb"},
                        %gb: memref<6x5xf32> {perft.result = "output gb"}) {
    linalg.matmul_transpose_b ins(%x, %w : memref<4x3xf32>, memref<8x3xf32>) outs(%y : memref<4x8xf32>)
    linalg.matmul_transpose_b ins(%x, %wb : memref<4x3xf32>, memref<8x3xbf16>) outs(%yb : memref<4x8xf32>)
    "perft_buffer.grouped_matmul"(%rows, %bank, %offsets, %g) {transpose_w = true}
        : (memref<6x3xf32>, memref<2x5x3xf32>, memref<3xi32>, memref<6x5xf32>) -> ()
    "perft_buffer.grouped_matmul_grad_weight"(%g, %rows, %offsets, %dbank) {transpose_w = true}
        : (memref<6x5xf32>, memref<6x3xf32>, memref<3xi32>, memref<2x5x3xf32>) -> ()
    linalg.matmul_transpose_a ins(%x, %y : memref<4x3xf32>, memref<4x8xf32>) outs(%xw : memref<3x8xf32>)
    linalg.matmul ins(%d, %dw : memref<4x3xf64>, memref<3x5xf64>) outs(%dy : memref<4x5xf64>)
    linalg.matmul_transpose_b ins(%xb, %wb : memref<4x3xbf16>, memref<8x3xbf16>) outs(%yb2 : memref<4x8xf32>)
    "perft_buffer.grouped_matmul"(%rowsb, %bankb, %offsets, %gb) {transpose_w = true}
        : (memref<6x3xbf16>, memref<2x5x3xbf16>, memref<3xi32>, memref<6x5xf32>) -> ()
    return
  }
}
