// perft-emit-optimizer (GPU targets): @grad_norm and @adamw over @train_step's gradients, in
// argument order, each calling one kernel function per gradient size (two gradients of 12 share
// one); the norm's lanes sum (double) g² from their lane on in steps of 256 (one chunk: no scratch,
// `optimizer device 256 0`; chunks.mlir has more); AdamW is a thread an element, every operation
// strict (no fast-math flags: the C optimizer's rounding). Through perft-gpu-launch each kernel is
// a launch.
// RUN: %perft_opt %s -p perft-emit-optimizer | FileCheck %s
// RUN: %perft_opt %s -p perft-emit-optimizer,perft-manifest | FileCheck %s --check-prefix=MANIFEST
// RUN: %perft_opt %s -p perft-emit-optimizer,perft-gpu-launch | FileCheck %s --check-prefix=LAUNCH

// CHECK-LABEL: func.func private @perft_grad_norm_12(%arg0: memref<12xf32>, %arg1: memref<256xf64>, %arg2: memref<0xf64>)
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c1) step
// CHECK: scf.parallel (%[[LANE:.*]]) = (%{{.*}}) to (%c256) step
// CHECK: %[[FROM:.*]] = arith.addi %{{.*}}, %[[LANE]] : index
// CHECK: scf.for %[[I:.*]] = %[[FROM]] to %{{.*}} step %c256{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f64)
// CHECK: %[[X:.*]] = memref.load %arg0[%[[I]]] : memref<12xf32>
// CHECK: %[[W:.*]] = arith.extf %[[X]] : f32 to f64
// CHECK: %[[SQ:.*]] = arith.mulf %[[W]], %[[W]] : f64
// CHECK: arith.addf %[[ACC]], %[[SQ]] : f64
// CHECK: memref.store %{{.*}}, %arg1[%[[LANE]]] : memref<256xf64>
// CHECK-LABEL: func.func private @perft_adamw_12(%arg0: memref<12xf32>, %arg1: memref<12xf32>, %arg2: memref<12xf32>, %arg3: memref<12xf32>, %arg4: memref<10xf32>)
// CHECK: scf.parallel
// CHECK-NOT: fastmath
// CHECK: math.sqrt
// CHECK-NOT: fastmath
// CHECK: memref.store %{{.*}}, %arg0
// CHECK-LABEL: func.func private @perft_grad_norm_6(
// CHECK-LABEL: func.func private @perft_adamw_6(
// CHECK-LABEL: func.func @grad_norm(%arg0: memref<12xf32>, %arg1: memref<6xf32>, %arg2: memref<12xf32>, %arg3: memref<256xf64>, %arg4: memref<256xf64>, %arg5: memref<256xf64>, %arg6: memref<0xf64>)
// CHECK-NEXT: call @perft_grad_norm_12(%arg0, %arg3, %arg6)
// CHECK-NEXT: call @perft_grad_norm_6(%arg1, %arg4, %arg6)
// CHECK-NEXT: call @perft_grad_norm_12(%arg2, %arg5, %arg6)
// CHECK-LABEL: func.func @adamw(
// CHECK-SAME: %arg12: memref<10xf32>)
// CHECK-NEXT: call @perft_adamw_12(%arg0, %arg1, %arg2, %arg3, %arg12)
// CHECK-NEXT: call @perft_adamw_6(%arg4, %arg5, %arg6, %arg7, %arg12)
// CHECK-NEXT: call @perft_adamw_12(%arg8, %arg9, %arg10, %arg11, %arg12)
// CHECK: func.func @train_step(

// MANIFEST: optimizer device 256 0\0A

// LAUNCH-LABEL: func.func private @perft_grad_norm_12(
// LAUNCH: gpu.launch
// LAUNCH-LABEL: func.func private @perft_adamw_12(
// LAUNCH: gpu.launch
// LAUNCH: math.sqrt
module {
  func.func @train_step(%w: memref<3x4xf32> {perft.param = "w", perft.trainable = true, perft.init = "zeros"},
                        %u: memref<6xf32> {perft.param = "u", perft.trainable = true, perft.init = "zeros"},
                        %z: memref<4x3xf32> {perft.param = "z", perft.trainable = true, perft.init = "zeros"},
                        %loss: memref<f32> {perft.result = "loss"},
                        %dw: memref<3x4xf32> {perft.result = "grad w"}, %du: memref<6xf32> {perft.result = "grad u"},
                        %dz: memref<4x3xf32> {perft.result = "grad z"}, %ws: memref<64xi8> {perft.workspace})
      attributes {perft.workspace_bytes = 64} {
    return
  }
  func.func @forward(%w: memref<3x4xf32> {perft.param = "w", perft.trainable = true, perft.init = "zeros"},
                     %u: memref<6xf32> {perft.param = "u", perft.trainable = true, perft.init = "zeros"},
                     %z: memref<4x3xf32> {perft.param = "z", perft.trainable = true, perft.init = "zeros"},
                     %loss: memref<f32> {perft.result = "loss"}, %ws: memref<64xi8> {perft.workspace})
      attributes {perft.workspace_bytes = 64} {
    return
  }
}
