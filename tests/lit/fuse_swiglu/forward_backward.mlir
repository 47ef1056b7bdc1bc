// perft-fuse-swiglu alone on a gate whose backward autodiff wrote out: the forward product
// becomes perft.swiglu, and ds = dy*b, db = dy*s, da = silu_grad(a, ds) become one
// perft.swiglu_grad (which recomputes silu(a)): neither s nor ds is written any more.
// RUN: %perft_opt %s -p perft-fuse-swiglu | FileCheck %s

// CHECK-LABEL: func.func @gate(
// CHECK-SAME: %[[A:[^:]*]]: tensor<6x5xf32>, %[[B:[^:]*]]: tensor<6x5xf32>, %[[DY:[^:]*]]: tensor<6x5xf32>)
// CHECK-NEXT: %[[G:.*]] = "perft.swiglu"(%[[A]], %[[B]])
// CHECK-NEXT: %[[D:.*]]:2 = "perft.swiglu_grad"(%[[A]], %[[B]], %[[DY]]) : (tensor<6x5xf32>, tensor<6x5xf32>, tensor<6x5xf32>) -> (tensor<6x5xf32>, tensor<6x5xf32>)
// CHECK-NEXT: return %[[G]], %[[D]]#0, %[[D]]#1
// CHECK-NOT: perft.silu
// CHECK-NOT: linalg.mul
module {
  func.func @gate(%a: tensor<6x5xf32>, %b: tensor<6x5xf32>, %dy: tensor<6x5xf32>)
      -> (tensor<6x5xf32>, tensor<6x5xf32>, tensor<6x5xf32>) {
    %s = "perft.silu"(%a) : (tensor<6x5xf32>) -> tensor<6x5xf32>
    %e0 = tensor.empty() : tensor<6x5xf32>
    %g = linalg.mul ins(%s, %b : tensor<6x5xf32>, tensor<6x5xf32>) outs(%e0 : tensor<6x5xf32>) -> tensor<6x5xf32>
    %e1 = tensor.empty() : tensor<6x5xf32>
    %ds = linalg.mul ins(%dy, %b : tensor<6x5xf32>, tensor<6x5xf32>) outs(%e1 : tensor<6x5xf32>) -> tensor<6x5xf32>
    %e2 = tensor.empty() : tensor<6x5xf32>
    %db = linalg.mul ins(%dy, %s : tensor<6x5xf32>, tensor<6x5xf32>) outs(%e2 : tensor<6x5xf32>) -> tensor<6x5xf32>
    %da = "perft.silu_grad"(%a, %ds) : (tensor<6x5xf32>, tensor<6x5xf32>) -> tensor<6x5xf32>
    return %g, %da, %db : tensor<6x5xf32>, tensor<6x5xf32>, tensor<6x5xf32>
  }
}
