// perft-fuse-swiglu alone: silu(a) * b becomes one perft.swiglu when the product is the only
// reader of the silu (either operand order); the product's tensor.empty goes with it.
// RUN: %perft_opt %s -p perft-fuse-swiglu | FileCheck %s

// CHECK-LABEL: func.func @gate(
// CHECK-SAME: %[[A:[^:]*]]: tensor<6x5xf32>, %[[B:[^:]*]]: tensor<6x5xf32>)
// CHECK-NEXT: %[[G:.*]] = "perft.swiglu"(%[[A]], %[[B]]) : (tensor<6x5xf32>, tensor<6x5xf32>) -> tensor<6x5xf32>
// CHECK-NEXT: return %[[G]]
// CHECK-NOT: perft.silu
// CHECK-NOT: tensor.empty
// CHECK-NOT: linalg.mul
module {
func.func @gate(%a: tensor<6x5xf32>, %b: tensor<6x5xf32>) -> tensor<6x5xf32> {
  %s = "perft.silu"(%a) : (tensor<6x5xf32>) -> tensor<6x5xf32>
  %e = tensor.empty() : tensor<6x5xf32>
  %g = linalg.mul ins(%s, %b : tensor<6x5xf32>, tensor<6x5xf32>) outs(%e : tensor<6x5xf32>) -> tensor<6x5xf32>
  return %g : tensor<6x5xf32>
}

// The silu as the second factor: b * silu(a) is the same product.
// CHECK-LABEL: func.func @gate_swapped(
// CHECK-SAME: %[[A:[^:]*]]: tensor<6x5xf32>, %[[B:[^:]*]]: tensor<6x5xf32>)
// CHECK-NEXT: "perft.swiglu"(%[[A]], %[[B]])
func.func @gate_swapped(%a: tensor<6x5xf32>, %b: tensor<6x5xf32>) -> tensor<6x5xf32> {
  %s = "perft.silu"(%a) : (tensor<6x5xf32>) -> tensor<6x5xf32>
  %e = tensor.empty() : tensor<6x5xf32>
  %g = linalg.mul ins(%b, %s : tensor<6x5xf32>, tensor<6x5xf32>) outs(%e : tensor<6x5xf32>) -> tensor<6x5xf32>
  return %g : tensor<6x5xf32>
}
}
