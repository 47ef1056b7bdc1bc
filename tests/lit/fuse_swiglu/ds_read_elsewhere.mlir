// perft-fuse-swiglu does not fuse a backward whose ds has another reader: ds must exist.
// The forward product still cannot fuse alone either, since the backward reads s.
// RUN: %perft_opt %s -p perft-fuse-swiglu | FileCheck %s

// CHECK-LABEL: func.func @gate(
// CHECK: "perft.silu"
// CHECK: "perft.silu_grad"
// CHECK-NOT: perft.swiglu
module {
  func.func @gate(%a: tensor<6x5xf32>, %b: tensor<6x5xf32>, %dy: tensor<6x5xf32>)
      -> (tensor<6x5xf32>, tensor<6x5xf32>, tensor<6x5xf32>, tensor<6x5xf32>) {
    %s = "perft.silu"(%a) : (tensor<6x5xf32>) -> tensor<6x5xf32>
    %e0 = tensor.empty() : tensor<6x5xf32>
    %g = linalg.mul ins(%s, %b : tensor<6x5xf32>, tensor<6x5xf32>) outs(%e0 : tensor<6x5xf32>) -> tensor<6x5xf32>
    %e1 = tensor.empty() : tensor<6x5xf32>
    %ds = linalg.mul ins(%dy, %b : tensor<6x5xf32>, tensor<6x5xf32>) outs(%e1 : tensor<6x5xf32>) -> tensor<6x5xf32>
    %e2 = tensor.empty() : tensor<6x5xf32>
    %db = linalg.mul ins(%dy, %s : tensor<6x5xf32>, tensor<6x5xf32>) outs(%e2 : tensor<6x5xf32>) -> tensor<6x5xf32>
    %da = "perft.silu_grad"(%a, %ds) : (tensor<6x5xf32>, tensor<6x5xf32>) -> tensor<6x5xf32>
    return %g, %da, %db, %ds : tensor<6x5xf32>, tensor<6x5xf32>, tensor<6x5xf32>, tensor<6x5xf32>
  }
}
