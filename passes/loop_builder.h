/* loop_builder.h — emit scf loops, arith and memref ops the way one writes C loops.
 *
 *   Loop t = loop_begin(k, zero, T, no_value);    for (t = 0; t < T; t++) {
 *     ... emit the body with k ...                  ...
 *   loop_end(k, &t, no_value);                     }
 *
 * With an accumulator (`init` non-null), the loop carries one value: inside,
 * `t.acc` is the current value; loop_end yields the next one and returns the
 * final result. All emitted ops go where the Kernel's builder points.
 */
#ifndef PERFT_LOOP_BUILDER_H
#define PERFT_LOOP_BUILDER_H

#include "ir_builder.h"

typedef struct {
  Builder b;
  MlirType index, f, i32, i1; /* index type, the float type of this function, i32, i1 */
  int parallel;               /* emit scf.parallel for independent GEMM blocks ... */
  int64_t parallel_min_work;  /* ... of GEMMs with at least this many multiply-adds */
  int strict;                 /* float ops without fast-math flags: each rounds as written */
  int vector_bytes;           /* the width of the target's vectors (0: no explicit vectors) */
  int gpu;                    /* a GPU target: every independent loop is an scf.parallel of the
                               * finest grain the kernel allows (perft-gpu-launch makes its
                               * iterations GPU threads); thresholds and blocks for CPU threads off */
  int library;                /* GEMMs that qualify become calls into the runtime's GEMM library
                               * (library_gemm.h: cuBLAS on a GPU) instead of loop nests */
} Kernel;

enum { LOOP_MAX_CARRIED = 16 };

typedef struct {
  MlirOperation op;
  MlirValue iv, acc;           /* induction variable, first carried value (or null) */
  MlirValue carried[LOOP_MAX_CARRIED];
  int num_carried;
  MlirBlock outer_block;       /* where the builder pointed before */
  MlirOperation outer_anchor;
} Loop;

extern const MlirValue no_value;

MlirValue index_const(Kernel *k, int64_t v);
MlirValue float_const(Kernel *k, double v);
MlirValue i32_const(Kernel *k, int64_t v); /* wraps to 32 bits */
MlirValue arith(Kernel *k, const char *name, MlirValue a, MlirValue b); /* result type of a */
MlirValue unary(Kernel *k, const char *name, MlirValue a);             /* math.log, arith.negf */
MlirValue exp_value(Kernel *k, MlirValue x);                           /* e^x, vectorisable in f32 */
MlirValue compare_float(Kernel *k, const char *predicate, MlirValue a, MlirValue b); /* "ogt", "oeq" */
MlirValue compare_index(Kernel *k, const char *predicate, MlirValue a, MlirValue b); /* "slt", "eq" */
MlirValue select_value(Kernel *k, MlirValue cond, MlirValue a, MlirValue b);
MlirValue to_index(Kernel *k, MlirValue i32_value);
MlirValue to_i32(Kernel *k, MlirValue index_value);
MlirValue index_to_float(Kernel *k, MlirValue index_value);

MlirValue load(Kernel *k, MlirValue memref, int n, const MlirValue *indices);
void store(Kernel *k, MlirValue value, MlirValue memref, int n, const MlirValue *indices);
#define LOAD(k, m, ...) load((k), (m), sizeof((MlirValue[]){__VA_ARGS__}) / sizeof(MlirValue), (MlirValue[]){__VA_ARGS__})
#define STORE(k, v, m, ...) store((k), (v), (m), sizeof((MlirValue[]){__VA_ARGS__}) / sizeof(MlirValue), (MlirValue[]){__VA_ARGS__})

Loop loop_begin(Kernel *k, MlirValue lower, MlirValue upper, MlirValue init);
/* for (iv = lower; iv < upper; iv += step) carrying n values (inits); inside, loop.carried[i]
 * are the current values; loop_end_carrying yields `nexts` and writes the final values. */
Loop loop_begin_carrying(Kernel *k, MlirValue lower, MlirValue upper, int64_t step, int n, const MlirValue *inits);
void loop_end_carrying(Kernel *k, Loop *loop, const MlirValue *nexts, MlirValue *results);
MlirValue loop_end(Kernel *k, Loop *loop, MlirValue next);
/* scf.parallel: iterations may run on different threads (OpenMP after lowering);
 * only when k->parallel is set do kernels use it. */
Loop parallel_begin(Kernel *k, MlirValue lower, MlirValue upper, int64_t step);
void parallel_end(Kernel *k, Loop *loop);
/* scf.parallel when `parallel`, else scf.for; *_end closes whichever it is. */
Loop parallel_or_serial_begin(Kernel *k, MlirValue lower, MlirValue upper, int64_t step, int parallel);
void parallel_or_serial_end(Kernel *k, Loop *loop);
Loop if_begin(Kernel *k, MlirValue condition);
void if_end(Kernel *k, Loop *branch);
/* Stack buffers made between the two (stack_buffer) are freed at scope_end, so one inside a
 * loop or a thread's share of a parallel loop does not grow the stack: llvm.intr.stacksave and
 * stackrestore (memref.alloca_scope would need a single-block region where scf loops are). */
MlirValue scope_begin(Kernel *k);
void scope_end(Kernel *k, MlirValue saved);
/* memref.alloca of a contiguous 2-D buffer of k's float type, 64-byte aligned. */
MlirValue stack_buffer(Kernel *k, int64_t rows, int64_t columns);

/* memref.collapse_shape to one dimension (the memref itself when already 1-D). */
MlirValue flatten(Kernel *k, MlirValue memref);
/* Fills a memref (any rank) with a float constant, or an i32 memref with 0. */
void fill(Kernel *k, MlirValue memref, double value);

#endif
