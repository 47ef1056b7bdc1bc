// perft-gpu-launch refuses a value made by one kernel and read by another (here the sum of a
// serial loop, read by a store after a parallel loop): it could not exist on the host.
// RUN: not %perft_opt %s -p 'perft-gpu-launch' 2>&1 | FileCheck %s
// CHECK: error: perft-gpu-launch: this op reads a value made in another GPU kernel
module {
  func.func private @kernel(%x: memref<8xf32>, %y: memref<8xf32>, %out: memref<f32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c8 = arith.constant 8 : index
    %zero = arith.constant 0.0 : f32
    %sum = scf.for %i = %c0 to %c8 step %c1 iter_args(%acc = %zero) -> (f32) {
      %v = memref.load %x[%i] : memref<8xf32>
      %next = arith.addf %acc, %v : f32
      scf.yield %next : f32
    }
    memref.store %zero, %y[%c0] : memref<8xf32>
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      memref.store %zero, %y[%i] : memref<8xf32>
      scf.reduce
    }
    memref.store %sum, %out[] : memref<f32>
    return
  }
}
