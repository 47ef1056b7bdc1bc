// verify.c: an index operand (dispatch's idx) must hold i32, not f32.
// RUN: not %perft_opt %s 2>&1 | FileCheck %s

module {
  func.func @f(%x: tensor<5x6xf32>, %i: tensor<5x2xf32>) {
    // CHECK: {{.*}}index_operand_f32.mlir:[[@LINE+1]]:18: error: 'perft.dispatch' op operand 1 (idx) must hold i32 indices, found tensor<5x2xf32>
    %r, %p, %o = "perft.dispatch"(%x, %i) {num_experts = 3 : i64} : (tensor<5x6xf32>, tensor<5x2xf32>) -> (tensor<10x6xf32>, tensor<10xi32>, tensor<4xi32>)
    // CHECK-NOT: error:
    return
  }
}
