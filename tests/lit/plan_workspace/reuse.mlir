// perft-plan-workspace alone: a range freed by a dealloc is reused by a later allocation.
// Three 48-byte buffers, the first dead before the third is allocated: with reuse (the
// default) the third goes back to offset 0 and the workspace is 128 bytes; with reuse=0
// every buffer keeps its own range (0, 64, 128) and the workspace is 192 bytes.
// RUN: %perft_opt %s -p perft-plan-workspace | FileCheck %s --check-prefix=REUSE
// RUN: %perft_opt %s -p 'perft-plan-workspace{reuse=1}' | FileCheck %s --check-prefix=REUSE
// RUN: %perft_opt %s -p 'perft-plan-workspace{reuse=0}' | FileCheck %s --check-prefix=BUMP

// REUSE-LABEL: func.func @train_step(
// REUSE-SAME: %[[WS:[^:]*]]: memref<128xi8> {perft.workspace}) attributes {perft.workspace_bytes = 128 : i64}
// REUSE: %[[OA:.*]] = arith.constant 0 : index
// REUSE-NEXT: %[[A:.*]] = memref.view %[[WS]][%[[OA]]][] : memref<128xi8> to memref<4x3xf32>
// REUSE-NEXT: "perft_buffer.softmax"
// REUSE-NEXT: %[[OB:.*]] = arith.constant 64 : index
// REUSE-NEXT: %[[B:.*]] = memref.view %[[WS]][%[[OB]]][] : memref<128xi8> to memref<4x3xf32>
// REUSE-NEXT: "perft_buffer.silu"(%[[A]], %[[B]])
// REUSE-NEXT: %[[OC:.*]] = arith.constant 0 : index
// REUSE-NEXT: %[[C:.*]] = memref.view %[[WS]][%[[OC]]][] : memref<128xi8> to memref<4x3xf32>
// REUSE-NEXT: "perft_buffer.silu"(%[[B]], %[[C]])
// REUSE-NOT: memref.dealloc

// BUMP-LABEL: func.func @train_step(
// BUMP-SAME: %[[WS:[^:]*]]: memref<192xi8> {perft.workspace}) attributes {perft.workspace_bytes = 192 : i64}
// BUMP: %[[OA:.*]] = arith.constant 0 : index
// BUMP-NEXT: %[[A:.*]] = memref.view %[[WS]][%[[OA]]][] : memref<192xi8> to memref<4x3xf32>
// BUMP-NEXT: "perft_buffer.softmax"
// BUMP-NEXT: %[[OB:.*]] = arith.constant 64 : index
// BUMP-NEXT: %[[B:.*]] = memref.view %[[WS]][%[[OB]]][] : memref<192xi8> to memref<4x3xf32>
// BUMP-NEXT: "perft_buffer.silu"(%[[A]], %[[B]])
// BUMP-NEXT: %[[OC:.*]] = arith.constant 128 : index
// BUMP-NEXT: %[[C:.*]] = memref.view %[[WS]][%[[OC]]][] : memref<192xi8> to memref<4x3xf32>
// BUMP-NEXT: "perft_buffer.silu"(%[[B]], %[[C]])
// BUMP-NOT: memref.dealloc
module {
  func.func @train_step(%x: memref<4x3xf32> {perft.input = "x"}, %out: memref<4x3xf32> {perft.result = "output y"}) {
    %0 = memref.alloc() : memref<4x3xf32>
    "perft_buffer.softmax"(%x, %0) : (memref<4x3xf32>, memref<4x3xf32>) -> ()
    %1 = memref.alloc() : memref<4x3xf32>
    "perft_buffer.silu"(%0, %1) : (memref<4x3xf32>, memref<4x3xf32>) -> ()
    memref.dealloc %0 : memref<4x3xf32>
    %2 = memref.alloc() : memref<4x3xf32>
    "perft_buffer.silu"(%1, %2) : (memref<4x3xf32>, memref<4x3xf32>) -> ()
    memref.dealloc %1 : memref<4x3xf32>
    memref.copy %2, %out : memref<4x3xf32> to memref<4x3xf32>
    memref.dealloc %2 : memref<4x3xf32>
    return
  }
}
