// RUN: %perftc %S/../autodiff/routing.mlir --emit=lowered --no-outline | FileCheck %s
// The routing ops become loops over the workspace: dispatch is a counting
// sort (a scratch cursor array), combine a weighted scatter-add.

// CHECK-LABEL: func.func @train_step
// CHECK-NOT: "perft.
// CHECK: scf.for
// CHECK: arith.cmpf ogt
// CHECK: scf.if
// CHECK: memref.view %{{.*}} to memref<4xi32>
// CHECK: arith.remui
// CHECK: return
