// perft-gpu-one-module: the modules gpu-kernel-outlining makes, one a launch, become one module
// @perft_kernels; each kernel takes its old module's name (the second launch's module is
// @f_kernel_0 while its function is again @f_kernel) and every launch_func follows.
// RUN: %perft_opt %s -p 'gpu-kernel-outlining,perft-gpu-one-module' | FileCheck %s

// CHECK: gpu.launch_func @perft_kernels::@f_kernel blocks
// CHECK: gpu.launch_func @perft_kernels::@f_kernel_0 blocks
// CHECK: gpu.module @perft_kernels {
// CHECK: gpu.func @f_kernel(
// CHECK: gpu.func @f_kernel_0(
// CHECK-NOT: gpu.module
module {
  func.func @f(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %zero = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      memref.store %zero, %a[%tx] : memref<4xf32>
      gpu.terminator
    }
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
      memref.store %one, %a[%tx] : memref<4xf32>
      gpu.terminator
    }
    return
  }
}
