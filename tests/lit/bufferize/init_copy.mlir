// perft-bufferize alone: a linalg op writes into its init's buffer, but when the init is
// an argument (%b) or is read again later (%s) it first gets a copy, so neither the
// caller's buffer nor a value still needed is overwritten.
// RUN: %perft_opt %s -p perft-bufferize | FileCheck %s

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[X:[^:]*]]: memref<4x3xf32> {perft.input = "x"}, %[[B:[^:]*]]: memref<4x3xf32> {perft.input = "b"},
// CHECK-SAME: %[[OUTY:[^:]*]]: memref<4x3xf32> {perft.result = "output y"}, %[[OUTZ:[^:]*]]: memref<4x3xf32> {perft.result = "output z"}) {
// The argument init %b is copied, never written:
// CHECK-NEXT: %[[Y:.*]] = memref.alloc() : memref<4x3xf32>
// CHECK-NEXT: memref.copy %[[B]], %[[Y]]
// CHECK-NEXT: linalg.add ins(%[[X]], %[[X]] : {{.*}}) outs(%[[Y]] : memref<4x3xf32>)
// CHECK-NEXT: %[[E:.*]] = memref.alloc() : memref<4x3xf32>
// CHECK-NEXT: %[[S:.*]] = memref.alloc() : memref<4x3xf32>
// CHECK-NEXT: "perft_buffer.silu"(%[[X]], %[[S]])
// %s is the init of linalg.mul and is read again by linalg.add: the mul writes a copy.
// CHECK-NEXT: %[[M:.*]] = memref.alloc() : memref<4x3xf32>
// CHECK-NEXT: memref.copy %[[S]], %[[M]]
// CHECK-NEXT: linalg.mul ins(%[[S]], %[[S]] : {{.*}}) outs(%[[M]] : memref<4x3xf32>)
// CHECK-NEXT: linalg.add ins(%[[M]], %[[S]] : {{.*}}) outs(%[[E]] : memref<4x3xf32>)
// CHECK-NEXT: memref.dealloc %[[S]]
// CHECK-NEXT: memref.dealloc %[[M]]
// CHECK-NEXT: memref.copy %[[Y]], %[[OUTY]]
// CHECK-NEXT: memref.copy %[[E]], %[[OUTZ]]
// CHECK-NEXT: memref.dealloc %[[Y]]
// CHECK-NEXT: memref.dealloc %[[E]]
// CHECK-NEXT: return
// CHECK-NOT: memref.copy {{.*}}, %[[B]]
module {
  func.func @train_step(%x: tensor<4x3xf32> {perft.input = "x"}, %b: tensor<4x3xf32> {perft.input = "b"})
      -> (tensor<4x3xf32> {perft.output = "y"}, tensor<4x3xf32> {perft.output = "z"}) {
    %y = linalg.add ins(%x, %x : tensor<4x3xf32>, tensor<4x3xf32>) outs(%b : tensor<4x3xf32>) -> tensor<4x3xf32>
    %e = tensor.empty() : tensor<4x3xf32>
    %s = "perft.silu"(%x) : (tensor<4x3xf32>) -> tensor<4x3xf32>
    %z = linalg.mul ins(%s, %s : tensor<4x3xf32>, tensor<4x3xf32>) outs(%s : tensor<4x3xf32>) -> tensor<4x3xf32>
    %w = linalg.add ins(%z, %s : tensor<4x3xf32>, tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
    return %y, %w : tensor<4x3xf32>, tensor<4x3xf32>
  }
}
