// Elements that are not perft-* passes go to MLIR's pipeline parser, which reports an
// unknown upstream pass.
// RUN: not %perft_opt %s -p 'perft-bufferize,func.func(no-such-pass)' 2>&1 | FileCheck %s

// CHECK: error: 'no-such-pass' does not refer to a registered pass or pass pipeline
// CHECK-NOT: {{^}}module
module {
  func.func @f() {
    return
  }
}
