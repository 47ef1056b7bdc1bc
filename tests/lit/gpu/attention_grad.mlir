// perft-emit-kernels{target=cuda} then perft-gpu-launch on causal_attention_grad (8 rows in
// sequences of 4, 2 heads sharing 1 kv head, head_dim 4; scratch: 8 · 2 · 3 statistics): where
// the CPU walks the queries on one thread (a key row gathers from every later query), the GPU has
// three fills, then three launches of a thread each —
//   a (query row, head): the maximum of its scores, 1/Σ exp, dy·y into the statistics;
//   a (query row, head): its dq row;
//   a (key row, kv head): its dk and dv rows, over the heads of the group and the later queries.
// RUN: %perft_opt %s -p 'perft-emit-kernels{target=cuda},func.func(convert-linalg-to-parallel-loops),perft-gpu-launch' | FileCheck %s

// CHECK-LABEL: func.func @grad(
// CHECK-COUNT-3: gpu.launch
// CHECK: gpu.launch
// CHECK: arith.maximumf
// CHECK: math.floor
// CHECK: memref.store %{{.*}}, %arg8
// CHECK: memref.store %{{.*}}, %arg8
// CHECK: memref.store %{{.*}}, %arg8
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: memref.load %arg8
// CHECK: memref.store %{{.*}}, %arg5
// CHECK-NOT: memref.store %{{.*}}, %arg6
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: memref.load %arg8
// CHECK: memref.store %{{.*}}, %arg7
// CHECK: memref.store %{{.*}}, %arg6
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
module {
  func.func @grad(%q: memref<8x8xf32>, %k: memref<8x4xf32>, %v: memref<8x4xf32>, %y: memref<8x8xf32>, %dy: memref<8x8xf32>,
                  %dq: memref<8x8xf32>, %dk: memref<8x4xf32>, %dv: memref<8x4xf32>, %stats: memref<48xf32>) {
    "perft_buffer.causal_attention_grad"(%q, %k, %v, %y, %dy, %dq, %dk, %dv, %stats) {heads = 2 : i64, kv_heads = 1 : i64, seq = 4 : i64}
        : (memref<8x8xf32>, memref<8x4xf32>, memref<8x4xf32>, memref<8x8xf32>, memref<8x8xf32>, memref<8x8xf32>,
           memref<8x4xf32>, memref<8x4xf32>, memref<48xf32>) -> ()
    return
  }
}
