// perft-emit-optimizer's gradient norm over a gradient of 20,000 elements: 3 chunks of 6,667
// (runtime/optimizer.h: about 32 · 256 elements a chunk), a block a chunk whose 256 lanes each sum
// every 256th square of it into the scratch (3 · 256 doubles: `optimizer device 256 768`), then a
// thread a lane adds its 3 chunk sums in order into the partial sums; a gradient of 100 elements
// is one chunk, straight into its partial sums. Through perft-gpu-launch: blocks of 256 threads (3),
// then one block of 256.
// RUN: %perft_opt %s -p perft-emit-optimizer | FileCheck %s
// RUN: %perft_opt %s -p perft-emit-optimizer,perft-manifest | FileCheck %s --check-prefix=MANIFEST
// RUN: %perft_opt %s -p perft-emit-optimizer,perft-gpu-launch | FileCheck %s --check-prefix=LAUNCH

// CHECK-LABEL: func.func private @perft_grad_norm_20000(%arg0: memref<20000xf32>, %arg1: memref<256xf64>, %arg2: memref<768xf64>)
// CHECK: scf.parallel (%[[C:.*]]) = (%{{.*}}) to (%c3) step
// CHECK: scf.parallel (%[[LANE:.*]]) = (%{{.*}}) to (%c256{{.*}}) step
// CHECK: %[[FIRST:.*]] = arith.muli %[[C]], %c6667
// CHECK: %[[END:.*]] = arith.minsi %{{.*}}, %c20000
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[END]] step %c256
// CHECK: memref.store %{{.*}}, %arg2[%{{.*}}] : memref<768xf64>
// CHECK: scf.parallel (%[[LANE2:.*]]) = (%{{.*}}) to (%c256{{.*}}) step
// CHECK: scf.for %{{.*}} = %{{.*}} to %c3{{.*}} step
// CHECK: memref.load %arg2
// CHECK: memref.store %{{.*}}, %arg1[%[[LANE2]]] : memref<256xf64>
// CHECK-LABEL: func.func private @perft_grad_norm_100(%arg0: memref<100xf32>, %arg1: memref<256xf64>, %arg2: memref<768xf64>)
// CHECK-NOT: memref.store %{{.*}}, %arg2
// CHECK: memref.store %{{.*}}, %arg1
// CHECK-NOT: memref.load %arg2
// CHECK-LABEL: func.func private @perft_adamw_100(
// CHECK-LABEL: func.func @grad_norm(%arg0: memref<20000xf32>, %arg1: memref<100xf32>, %arg2: memref<256xf64>, %arg3: memref<256xf64>, %arg4: memref<768xf64>)

// MANIFEST: optimizer device 256 768\0A

// LAUNCH-LABEL: func.func private @perft_grad_norm_20000(
// LAUNCH: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c256
// LAUNCH: gpu.launch blocks({{.*}}) threads({{.*}}) in (%{{.*}} = %c256
// LAUNCH-NOT: gpu.launch
// LAUNCH: return
module {
  func.func @train_step(%w: memref<20000xf32> {perft.param = "w", perft.trainable = true, perft.init = "zeros"},
                        %u: memref<100xf32> {perft.param = "u", perft.trainable = true, perft.init = "zeros"},
                        %loss: memref<f32> {perft.result = "loss"},
                        %dw: memref<20000xf32> {perft.result = "grad w"}, %du: memref<100xf32> {perft.result = "grad u"},
                        %ws: memref<64xi8> {perft.workspace})
      attributes {perft.workspace_bytes = 64} {
    return
  }
  func.func @forward(%w: memref<20000xf32> {perft.param = "w", perft.trainable = true, perft.init = "zeros"},
                     %u: memref<100xf32> {perft.param = "u", perft.trainable = true, perft.init = "zeros"},
                     %loss: memref<f32> {perft.result = "loss"}, %ws: memref<64xi8> {perft.workspace})
      attributes {perft.workspace_bytes = 64} {
    return
  }
}
