// An option given twice: the last value wins, as in MLIR's own pipeline parser.
// RUN: %perft_opt %s -p 'perft-bufferize,perft-plan-workspace{reuse=1 reuse=0}' | FileCheck %s

// Without reuse the two buffers get separate ranges: 128 bytes, not 64.
// CHECK: perft.workspace_bytes = 128
module {
  func.func @f(%x: tensor<4x3xf32> {perft.input = "x"}) -> (tensor<4x3xf32> {perft.output = "y"}) {
    %a = "perft.silu"(%x) : (tensor<4x3xf32>) -> tensor<4x3xf32>
    %b = "perft.silu"(%a) : (tensor<4x3xf32>) -> tensor<4x3xf32>
    return %b : tensor<4x3xf32>
  }
}
