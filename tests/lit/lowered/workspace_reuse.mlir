// RUN: %perftc %S/../autodiff/routing.mlir --emit=lowered --no-fuse=route | FileCheck %s --check-prefix=REUSE
// RUN: %perftc %S/../autodiff/routing.mlir --emit=lowered --no-fuse=route --no-workspace-reuse | FileCheck %s --check-prefix=BUMP
// A buffer goes back to the workspace after the last op that reads its value,
// and later buffers take its place: @train_step needs 1280 bytes instead of 2112.
// (perft-fuse-route is left out: it changes what is written, not how it is placed.)

// REUSE-LABEL: func.func @forward
// REUSE-SAME: perft.workspace_bytes = 704
// REUSE-LABEL: func.func @train_step
// REUSE-SAME: perft.workspace_bytes = 1280
// The logits' buffer (offset 0) is free once softmax has read it: top_k's weights reuse it.
// REUSE: %[[LOGITS:.*]] = memref.view %arg{{[0-9]+}}[%c0{{.*}}][] : memref<1280xi8> to memref<5x3xf32>

// BUMP-LABEL: func.func @forward
// BUMP-SAME: perft.workspace_bytes = 1152
// BUMP-LABEL: func.func @train_step
// BUMP-SAME: perft.workspace_bytes = 2112
