// RUN: %perftc %S/../autodiff/matmul_silu_mse.mlir --emit=obj -o %t.o --print-ir-after-all 2>&1 | FileCheck %s
// CHECK: IR Dump After PerftAutodiff
// CHECK: IR Dump After PerftBufferize
// CHECK: IR Dump After PerftPlanWorkspace
// CHECK: IR Dump After PerftEmitKernels
// CHECK: IR Dump After PerftManifest
// CHECK: IR Dump After ConvertLinalgToLoops
// CHECK: IR Dump After ConvertFuncToLLVMPass
