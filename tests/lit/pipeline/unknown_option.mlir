// An option a perft pass does not take is an error naming the pass and its options.
// RUN: not %perft_opt %s -p 'perft-plan-workspace{foo=1}' 2>&1 | FileCheck %s

// CHECK: perft: error: perft-plan-workspace has no option 'foo'; options: reuse=0|1 (default 1)
// CHECK-NOT: {{^}}module
module {
  func.func @f() {
    return
  }
}
