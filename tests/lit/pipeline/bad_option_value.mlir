// An integer option out of its range is an error: reuse takes 0 or 1, not 7.
// RUN: not %perft_opt %s -p 'perft-plan-workspace{reuse=7}' 2>&1 | FileCheck %s

// CHECK: perft: error: perft-plan-workspace: option 'reuse' takes an integer in [0, 1], got '7'
// CHECK-NOT: {{^}}module
module {
  func.func @f() {
    return
  }
}
