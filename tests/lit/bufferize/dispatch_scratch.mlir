// perft-bufferize alone on an op with several results and a scratch buffer: perft.dispatch
// becomes perft_buffer.dispatch(x, idx, rows, perm, offsets, cursor) (inputs, outputs,
// then the scratch its table entry asks for the target: on the CPU i32[E + 1], its cursor; for
// cuda i32[max(E + 1, 2 · E · lanes)], lanes = min(256, T·k), the GPU sort's lane counts); the
// unused outputs and the scratch are freed right after it, the result is copied out.
// RUN: %perft_opt %s -p perft-bufferize | FileCheck %s
// RUN: %perft_opt %s -p 'perft-bufferize{target=cuda}' | FileCheck %s --check-prefix=CUDA

// CUDA: memref.alloc() : memref<60xi32>
// CUDA: "perft_buffer.dispatch"
// CUDA-SAME: memref<60xi32>) -> ()

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[X:[^:]*]]: memref<5x6xf32> {perft.input = "x"}, %[[I:[^:]*]]: memref<5x2xi32> {perft.input = "i"}, %[[OUT:[^:]*]]: memref<10x6xf32> {perft.result = "output rows"}) {
// CHECK-NEXT: %[[ROWS:.*]] = memref.alloc() : memref<10x6xf32>
// CHECK-NEXT: %[[PERM:.*]] = memref.alloc() : memref<10xi32>
// CHECK-NEXT: %[[OFFSETS:.*]] = memref.alloc() : memref<4xi32>
// CHECK-NEXT: %[[CURSOR:.*]] = memref.alloc() : memref<4xi32>
// CHECK-NEXT: "perft_buffer.dispatch"(%[[X]], %[[I]], %[[ROWS]], %[[PERM]], %[[OFFSETS]], %[[CURSOR]]) {num_experts = 3 : i64}
// CHECK-SAME: (memref<5x6xf32>, memref<5x2xi32>, memref<10x6xf32>, memref<10xi32>, memref<4xi32>, memref<4xi32>) -> ()
// CHECK-NEXT: memref.dealloc %[[PERM]]
// CHECK-NEXT: memref.dealloc %[[OFFSETS]]
// CHECK-NEXT: memref.dealloc %[[CURSOR]]
// CHECK-NEXT: memref.copy %[[ROWS]], %[[OUT]]
// CHECK-NEXT: memref.dealloc %[[ROWS]]
// CHECK-NEXT: return
module {
  func.func @train_step(%x: tensor<5x6xf32> {perft.input = "x"}, %i: tensor<5x2xi32> {perft.input = "i"})
      -> (tensor<10x6xf32> {perft.output = "rows"}) {
    %r, %p, %o = "perft.dispatch"(%x, %i) {num_experts = 3 : i64} : (tensor<5x6xf32>, tensor<5x2xi32>) -> (tensor<10x6xf32>, tensor<10xi32>, tensor<4xi32>)
    return %r : tensor<10x6xf32>
  }
}
