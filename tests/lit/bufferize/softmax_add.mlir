// perft-bufferize alone: tensors become memrefs, the result becomes a trailing output
// argument {perft.result = "output y"}, perft.softmax becomes perft_buffer.softmax in
// destination-passing style, linalg.add writes into an allocation, each allocation is
// freed right after its last reader, and the result is copied into its argument.
// RUN: %perft_opt %s -p perft-bufferize | FileCheck %s

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[X:[^:]*]]: memref<4x3xf32> {perft.input = "x"}, %[[OUT:[^:]*]]: memref<4x3xf32> {perft.result = "output y"}) {
// CHECK-NEXT: %[[Y:.*]] = memref.alloc() : memref<4x3xf32>
// CHECK-NEXT: "perft_buffer.softmax"(%[[X]], %[[Y]]) : (memref<4x3xf32>, memref<4x3xf32>) -> ()
// CHECK-NEXT: %[[Z:.*]] = memref.alloc() : memref<4x3xf32>
// CHECK-NEXT: linalg.add ins(%[[Y]], %[[X]] : memref<4x3xf32>, memref<4x3xf32>) outs(%[[Z]] : memref<4x3xf32>)
// CHECK-NEXT: memref.dealloc %[[Y]] : memref<4x3xf32>
// CHECK-NEXT: memref.copy %[[Z]], %[[OUT]] : memref<4x3xf32> to memref<4x3xf32>
// CHECK-NEXT: memref.dealloc %[[Z]] : memref<4x3xf32>
// CHECK-NEXT: return
// CHECK-NEXT: }
// CHECK-NOT: tensor<
module {
  func.func @train_step(%x: tensor<4x3xf32> {perft.input = "x"}) -> (tensor<4x3xf32> {perft.output = "y"}) {
    %y = "perft.softmax"(%x) : (tensor<4x3xf32>) -> tensor<4x3xf32>
    %e = tensor.empty() : tensor<4x3xf32>
    %z = linalg.add ins(%y, %x : tensor<4x3xf32>, tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
    return %z : tensor<4x3xf32>
  }
}
