// RUN: %perftc %S/../autodiff/token_ops.mlir --emit=lowered --no-outline | FileCheck %s
// The token ops as loops: rmsnorm uses math.rsqrt, cross-entropy a log-sum-exp,
// dropout a counter-based hash of (seed, index) compared unsigned.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: memref<6xi32> {perft.input = "ids"}
// CHECK: math.rsqrt
// CHECK: arith.shrui
// CHECK: arith.cmpi uge
// CHECK: math.log
// CHECK-LABEL: func.func @train_step
// CHECK-NOT: "perft.
// CHECK: return
