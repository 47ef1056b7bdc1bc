// perft-fuse-swiglu leaves the ops alone when something else reads silu(a) (as the backward
// of a trainable expert does): fusing would have to compute it twice.
// RUN: %perft_opt %s -p perft-fuse-swiglu | FileCheck %s

// CHECK-LABEL: func.func @kept(
// CHECK: "perft.silu"
// CHECK: linalg.mul
// CHECK-NOT: perft.swiglu
func.func @kept(%a: tensor<6x5xf32>, %b: tensor<6x5xf32>) -> (tensor<6x5xf32>, tensor<6x5xf32>) {
  %s = "perft.silu"(%a) : (tensor<6x5xf32>) -> tensor<6x5xf32>
  %e = tensor.empty() : tensor<6x5xf32>
  %g = linalg.mul ins(%s, %b : tensor<6x5xf32>, tensor<6x5xf32>) outs(%e : tensor<6x5xf32>) -> tensor<6x5xf32>
  return %g, %s : tensor<6x5xf32>, tensor<6x5xf32>
}
