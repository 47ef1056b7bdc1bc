// RUN: %perftc %S/../autodiff/matmul_silu_mse.mlir --emit=lowered --no-outline | FileCheck %s
// Tensors become workspace views, results become output arguments, linalg
// ops switch to buffer form (GEMMs become perft's loop nests), perft ops become
// loops; no tensor survives.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: %arg3: memref<f32> {perft.result = "loss"}
// CHECK-SAME: %arg4: memref<5x3xf32> {perft.result = "output y"}
// CHECK-SAME: %arg5: memref<128xi8> {perft.workspace}
// CHECK-SAME: perft.workspace_bytes = 128
// CHECK: %[[V:.*]] = memref.view %arg5[%{{.*}}][] : memref<128xi8> to memref<5x3xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[V]] : memref<5x3xf32>)
// The matmul itself is perft's loop nest (matmul_kernels.c), accumulating into the filled buffer:
// CHECK-NOT: linalg.matmul
// CHECK-DAG: {{memref|vector}}.load %arg1
// CHECK-DAG: {{memref|vector}}.load %arg0
// CHECK: {{memref|vector}}.store %{{.*}}, %[[V]]
// silu: e^-x by the f32 polynomial (math.floor for the range reduction, 2^n from exponent bits)
// CHECK: scf.for
// CHECK: math.floor
// CHECK: arith.shli
// CHECK: arith.bitcast
// CHECK: memref.copy %{{.*}}, %arg3 : memref<f32> to memref<f32>
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %arg5: memref<4x3xf32> {perft.result = "grad w"}
// CHECK-NOT: tensor<
// CHECK-NOT: perft.silu
// CHECK: return
