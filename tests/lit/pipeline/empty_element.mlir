// An empty element (a trailing, leading or doubled comma) is an error, not silently skipped.
// RUN: not %perft_opt %s -p 'perft-bufferize,' 2>&1 | FileCheck %s
// RUN: not %perft_opt %s -p ',perft-bufferize' 2>&1 | FileCheck %s
// RUN: not %perft_opt %s -p 'builtin.module(perft-bufferize,,perft-plan-workspace)' 2>&1 | FileCheck %s

// CHECK: perft: error: an empty element in the pipeline
// CHECK-NOT: {{^}}module
module {
  func.func @f() {
    return
  }
}
