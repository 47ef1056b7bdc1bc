// RUN: %perftc %s --emit=lowered | FileCheck %s
// RUN: %perftc %s --emit=lowered --serial | FileCheck %s --check-prefix=SERIAL
// RUN: %perftc %s --emit=llvm | FileCheck %s --check-prefix=LLVM
// A GEMM big enough (here 256·512·512 multiply-adds) splits its blocks of weights
// across threads in panels of 64: scf.parallel, then OpenMP (__kmpc_fork_call); --serial keeps one thread.

// CHECK-LABEL: func.func @forward
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%c512{{.*}}) step (%c64
// SERIAL-NOT: scf.parallel
// LLVM: call void (ptr, i32, ptr, ...) @__kmpc_fork_call
module {
  func.func @forward(%w: tensor<512x512xf32> {perft.param = "w", perft.trainable = true, perft.init = "normal 0 1"},
                     %x: tensor<256x512xf32> {perft.input = "x"}, %t: tensor<256x512xf32> {perft.input = "t"})
      -> (tensor<f32> {perft.loss}) {
    %cst = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<256x512xf32>
    %z = linalg.fill ins(%cst : f32) outs(%e : tensor<256x512xf32>) -> tensor<256x512xf32>
    %y = linalg.matmul_transpose_b ins(%x, %w : tensor<256x512xf32>, tensor<512x512xf32>) outs(%z : tensor<256x512xf32>) -> tensor<256x512xf32>
    %l = "perft.mse"(%y, %t) : (tensor<256x512xf32>, tensor<256x512xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
