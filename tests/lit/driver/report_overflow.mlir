// --report counts parameters and bytes with overflow checks: a parameter of 3037000500^2 elements
// (past 2^63) is an error, not a wrapped count. (The front end refuses such sizes; an .mlir input
// reaches the report directly.)
// RUN: not %perftc %s --report 2>&1 | FileCheck %s
// CHECK: perftc: error: --report: the parameter count passes 2^63 - 1 at 'w'
// CHECK-NOT: perft report
module attributes {perft.tokens = 5 : i64} {
  func.func @forward(%arg0: tensor<3037000500x3037000500xf32> {perft.init = "zeros", perft.param = "w", perft.trainable = true}, %arg1: tensor<5x3037000500xf32> {perft.input = "x"}) -> (tensor<f32> {perft.loss}) {
    %cst = arith.constant 0.000000e+00 : f32
    %0 = tensor.empty() : tensor<5x3037000500xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<5x3037000500xf32>) -> tensor<5x3037000500xf32>
    %2 = linalg.matmul ins(%arg1, %arg0 : tensor<5x3037000500xf32>, tensor<3037000500x3037000500xf32>) outs(%1 : tensor<5x3037000500xf32>) -> tensor<5x3037000500xf32>
    %3 = "perft.mse"(%2, %arg1) : (tensor<5x3037000500xf32>, tensor<5x3037000500xf32>) -> tensor<f32>
    return %3 : tensor<f32>
  }
}

