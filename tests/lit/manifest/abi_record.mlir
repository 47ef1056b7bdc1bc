// perft-manifest alone, on perft-emit-kernels' output: the ABI of @train_step (params,
// inputs, outputs, grads in argument order, the dtype, the larger of the two workspaces)
// becomes the module attribute perft.manifest, and the perft.* argument attributes go.
// RUN: %perft_opt %s -p perft-manifest | FileCheck %s

// CHECK: module attributes {perft.manifest = "perft-manifest 1\0Atokens 5\0Aparam w 4x3 trainable zeros\0Ainput x 5x4\0Aoutput y 5x3\0Agrad w 4x3\0Adtype f32\0Aworkspace 256\0A", perft.tokens = 5 : i64} {
// CHECK-NEXT: func.func @forward(%{{[^:]*}}: memref<4x3xf32>, %{{[^:]*}}: memref<5x4xf32>, %{{[^:]*}}: memref<f32>, %{{[^:]*}}: memref<5x3xf32>, %{{[^:]*}}: memref<128xi8>) attributes {perft.workspace_bytes = 128 : i64} {
// CHECK: func.func @train_step(%{{[^:]*}}: memref<4x3xf32>, %{{[^:]*}}: memref<5x4xf32>, %{{[^:]*}}: memref<f32>, %{{[^:]*}}: memref<5x3xf32>, %{{[^:]*}}: memref<4x3xf32>, %{{[^:]*}}: memref<256xi8>) attributes {perft.workspace_bytes = 256 : i64} {
// CHECK-NOT: perft.param
// CHECK-NOT: perft.input
// CHECK-NOT: perft.result
// CHECK-NOT: perft.workspace}
module attributes {perft.tokens = 5 : i64} {
  func.func @forward(%w: memref<4x3xf32> {perft.param = "w", perft.trainable = true, perft.init = "zeros"},
                     %x: memref<5x4xf32> {perft.input = "x"},
                     %l: memref<f32> {perft.result = "loss"},
                     %y: memref<5x3xf32> {perft.result = "output y"},
                     %ws: memref<128xi8> {perft.workspace}) attributes {perft.workspace_bytes = 128 : i64} {
    return
  }
  func.func @train_step(%w: memref<4x3xf32> {perft.param = "w", perft.trainable = true, perft.init = "zeros"},
                        %x: memref<5x4xf32> {perft.input = "x"},
                        %l: memref<f32> {perft.result = "loss"},
                        %y: memref<5x3xf32> {perft.result = "output y"},
                        %dw: memref<4x3xf32> {perft.result = "grad w"},
                        %ws: memref<256xi8> {perft.workspace}) attributes {perft.workspace_bytes = 256 : i64} {
    return
  }
}
