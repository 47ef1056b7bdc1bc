// perft-manifest needs both @train_step and @forward: without them it fails with an
// error at the module, not a crash.
// RUN: not %perft_opt %s -p perft-manifest 2>&1 | FileCheck %s

// CHECK: {{.*}}missing_functions.mlir:[[@LINE+2]]:1: error: perft-manifest: the module has no @train_step and @forward to build a program from
// CHECK-NOT: error:
module {
  func.func @train_step(%x: memref<4x3xf32> {perft.input = "x"}) {
    return
  }
}
