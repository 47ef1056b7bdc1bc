// perft-opt runs a textual pipeline that mixes perft passes (with options) and upstream
// ones, in order: after perft-bufferize, perft-plan-workspace, perft-emit-kernels{target=cpu}
// and func.func(convert-linalg-to-loops) no tensor, perft op, linalg op or allocation is
// left, only loops over views of the workspace.
// RUN: %perft_opt %s -p 'builtin.module(perft-bufferize,perft-plan-workspace,perft-emit-kernels{target=cpu},func.func(convert-linalg-to-loops))' | FileCheck %s
// The same without the builtin.module(...) wrapper:
// RUN: %perft_opt %s -p 'perft-bufferize,perft-plan-workspace,perft-emit-kernels{target=cpu},func.func(convert-linalg-to-loops)' | FileCheck %s
// RUN: %perft_opt %s -p 'builtin.module(perft-bufferize,perft-plan-workspace,perft-emit-kernels{target=cpu},func.func(convert-linalg-to-loops))' | FileCheck %s --check-prefix=GONE

// GONE-NOT: perft.softmax
// GONE-NOT: perft_buffer.
// GONE-NOT: linalg.
// GONE-NOT: memref.alloc
// GONE-NOT: memref.dealloc
// GONE-NOT: tensor<

// CHECK-LABEL: func.func @train_step(
// CHECK-SAME: %[[X:[^:]*]]: memref<4x3xf32> {perft.input = "x"}, %[[OUT:[^:]*]]: memref<4x3xf32> {perft.result = "output y"}, %[[WS:[^:]*]]: memref<128xi8> {perft.workspace})
// CHECK-SAME: attributes {perft.workspace_bytes = 128 : i64} {
// CHECK: memref.view %[[WS]]
// CHECK: scf.for
// CHECK: memref.copy %{{.*}}, %[[OUT]]
// CHECK-NEXT: return
module {
  func.func @train_step(%x: tensor<4x3xf32> {perft.input = "x"}) -> (tensor<4x3xf32> {perft.output = "y"}) {
    %y = "perft.softmax"(%x) : (tensor<4x3xf32>) -> tensor<4x3xf32>
    %e = tensor.empty() : tensor<4x3xf32>
    %z = linalg.add ins(%y, %x : tensor<4x3xf32>, tensor<4x3xf32>) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
    return %z : tensor<4x3xf32>
  }
}
