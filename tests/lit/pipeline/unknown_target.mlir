// perft-emit-kernels only knows the targets of the op table's kernel columns (cpu):
// target=gpu is an error.
// RUN: not %perft_opt %s -p 'perft-emit-kernels{target=gpu}' 2>&1 | FileCheck %s

// CHECK: perft: error: perft-emit-kernels: unknown target 'gpu'
// CHECK-NOT: {{^}}module
module {
  func.func @f() {
    return
  }
}
