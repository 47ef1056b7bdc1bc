// perft-plan-workspace alone, on perft-bufferize's output: every memref.alloc becomes a
// memref.view of one workspace argument {perft.workspace} at a 64-byte aligned offset
// (0, then 64 while the first buffer is still live), the deallocs disappear, and the
// function records perft.workspace_bytes.
// RUN: %perft_opt %s -p perft-plan-workspace | FileCheck %s

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[X:[^:]*]]: memref<4x3xf32> {perft.input = "x"}, %[[OUT:[^:]*]]: memref<4x3xf32> {perft.result = "output y"}, %[[WS:[^:]*]]: memref<128xi8> {perft.workspace})
// CHECK-SAME: attributes {perft.workspace_bytes = 128 : i64} {
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[Y:.*]] = memref.view %[[WS]][%[[C0]]][] : memref<128xi8> to memref<4x3xf32>
// CHECK-NEXT: "perft_buffer.softmax"(%[[X]], %[[Y]])
// CHECK-NEXT: %[[C64:.*]] = arith.constant 64 : index
// CHECK-NEXT: %[[Z:.*]] = memref.view %[[WS]][%[[C64]]][] : memref<128xi8> to memref<4x3xf32>
// CHECK-NEXT: linalg.add ins(%[[Y]], %[[X]] : {{.*}}) outs(%[[Z]] : memref<4x3xf32>)
// CHECK-NEXT: memref.copy %[[Z]], %[[OUT]]
// CHECK-NEXT: return
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.dealloc
module {
  func.func @train_step(%x: memref<4x3xf32> {perft.input = "x"}, %out: memref<4x3xf32> {perft.result = "output y"}) {
    %0 = memref.alloc() : memref<4x3xf32>
    "perft_buffer.softmax"(%x, %0) : (memref<4x3xf32>, memref<4x3xf32>) -> ()
    %1 = memref.alloc() : memref<4x3xf32>
    linalg.add ins(%0, %x : memref<4x3xf32>, memref<4x3xf32>) outs(%1 : memref<4x3xf32>)
    memref.dealloc %0 : memref<4x3xf32>
    memref.copy %1, %out : memref<4x3xf32> to memref<4x3xf32>
    memref.dealloc %1 : memref<4x3xf32>
    return
  }
}
