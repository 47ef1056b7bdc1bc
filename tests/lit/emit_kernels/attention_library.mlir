// perft-attention-gemms' ops on buffers. With the GEMM library (the CUDA target's) the three GEMMs
// are calls perft_attention_gemm(form, B, S, d, H, G, x, y, out): form 32 scores, 64 apply, 128
// apply_t (runtime/gemm.h), here B = 2 sequences of S = 3, heads of d = 2, H = 4 over G = 2; the
// softmaxes stay generated kernels (a thread a row). Without it every op is a loop nest.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda library=1}' | FileCheck %s
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda library=0}' | FileCheck %s --check-prefix=LOOPS

// CHECK-LABEL: func.func @train_step(
// CHECK: call @perft_attention_gemm(%c32_i64, %c2_i64{{[_0-9]*}}, %c3_i64{{[_0-9]*}}, %c2_i64{{[_0-9]*}}, %c4_i64{{[_0-9]*}}, %c2_i64{{[_0-9]*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
// the softmax: a block a row (24 rows of 3), 3 lanes (a warp, at most 32) through three passes
// CHECK: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c24{{.*}})
// CHECK-COUNT-3: scf.parallel (%{{.*}}) = (%c0{{.*}}) to (%c3{{.*}})
// CHECK: call @perft_attention_gemm(%c64_i64,
// CHECK: call @perft_attention_gemm(%c128_i64,
// CHECK: return
// CHECK: func.func private @perft_attention_gemm(i64, i64, i64, i64, i64, i64, i64, i64, i64)

// LOOPS-NOT: call @perft_attention_gemm
// LOOPS: scf.parallel
// LOOPS-NOT: call @perft_attention_gemm
module {
  func.func @train_step(%q: memref<6x8xf32> {perft.input = "q"}, %k: memref<6x4xf32> {perft.input = "k"},
                        %s: memref<8x3x3xf32> {perft.result = "output s"}, %p: memref<8x3x3xf32> {perft.result = "output p"},
                        %y: memref<6x8xf32> {perft.result = "output y"}, %dk: memref<6x4xf32> {perft.result = "output dk"},
                        %partial: memref<144xf32> {perft.input = "partial"}) {
    "perft_buffer.attention_scores"(%q, %k, %s) {heads = 4 : i64, kv_heads = 2 : i64, seq = 3 : i64}
        : (memref<6x8xf32>, memref<6x4xf32>, memref<8x3x3xf32>) -> ()
    "perft_buffer.causal_softmax"(%s, %p, %partial) {scale = 0.5 : f64}
        : (memref<8x3x3xf32>, memref<8x3x3xf32>, memref<144xf32>) -> ()
    "perft_buffer.attention_apply"(%p, %k, %y) {heads = 4 : i64, kv_heads = 2 : i64, seq = 3 : i64}
        : (memref<8x3x3xf32>, memref<6x4xf32>, memref<6x8xf32>) -> ()
    "perft_buffer.attention_apply_t"(%p, %q, %dk) {heads = 4 : i64, kv_heads = 2 : i64, seq = 3 : i64}
        : (memref<8x3x3xf32>, memref<6x8xf32>, memref<6x4xf32>) -> ()
    return
  }
}
