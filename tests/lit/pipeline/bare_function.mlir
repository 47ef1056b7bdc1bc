// An input holding one bare top-level op (no `module {}` around it) is wrapped in a module.
// RUN: %perft_opt %s -p perft-verify | FileCheck %s

// CHECK: module {
// CHECK-NEXT: func.func @f(
// CHECK: "perft.rmsnorm"
func.func @f(%x: tensor<4x3xf32>, %w: tensor<3xf32>) -> tensor<4x3xf32> {
  %y = "perft.rmsnorm"(%x, %w) {eps = 1.0e-6 : f64} : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}
