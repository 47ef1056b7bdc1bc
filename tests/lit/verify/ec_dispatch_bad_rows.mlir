// perft.ec_dispatch: expert e's C tokens become rows e*C ... e*C + C - 1: N*C rows and N+1 offsets.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<5x6xf32>, %tok: tensor<3x2xi32>) {
    // CHECK: {{.*}}ec_dispatch_bad_rows.mlir:[[@LINE+1]]:12: error: 'perft.ec_dispatch' op rows dimension 0 must be experts x tokens each of tok (6), found 5
    %r:2 = "perft.ec_dispatch"(%x, %tok) : (tensor<5x6xf32>, tensor<3x2xi32>) -> (tensor<5x6xf32>, tensor<4xi32>)
    // CHECK-NOT: error:
    return
  }
}
