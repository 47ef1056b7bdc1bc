// perft-emit-kernels' vector width must be 0 (scalar loops) or a power of two.
// RUN: not %perft_opt %s -p 'perft-emit-kernels{vector-bytes=48}' 2>&1 | FileCheck %s

// CHECK: perft: error: perft-emit-kernels: vector-bytes must be 0 or a power of two, got 48
// CHECK-NOT: {{^}}module
module {
  func.func @f() {
    return
  }
}
