// verify.c: an index operand must be 32 bits wide: i64 indices are rejected.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<5x6xf32>, %i: tensor<5x2xi64>) {
    // CHECK: {{.*}}index_operand_i64.mlir:[[@LINE+1]]:18: error: 'perft.dispatch' op operand 1 (idx) must hold i32 indices, found tensor<5x2xi64>
    %r, %p, %o = "perft.dispatch"(%x, %i) {num_experts = 3 : i64} : (tensor<5x6xf32>, tensor<5x2xi64>) -> (tensor<10x6xf32>, tensor<10xi32>, tensor<4xi32>)
    // CHECK-NOT: error:
    return
  }
}
