// perft-gpu-launch refuses a parallel loop whose bounds are made on the device (a row count loaded
// from memory): the host sizes the launch before any kernel runs. The load is not moved into the
// loop it bounds.
// RUN: not %perft_opt %s -p 'perft-gpu-launch' 2>&1 | FileCheck %s
// CHECK: error: perft-gpu-launch: the bounds of this parallel loop are made on the device
module {
  func.func private @kernel(%count: memref<1xindex>, %y: memref<8xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %zero = arith.constant 0.0 : f32
    %n = memref.load %count[%c0] : memref<1xindex>
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      memref.store %zero, %y[%i] : memref<8xf32>
      scf.reduce
    }
    return
  }
}
