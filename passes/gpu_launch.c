/* gpu_launch.c — the perft-gpu-launch pass: each function's loops become gpu.launch ops.
 *
 * Before (perft-emit-kernels{target=cuda}: kernels built with Kernel.gpu, every independent loop
 * an scf.parallel at the finest grain):
 *   func.func private @perft_kernel_3_softmax(%x: memref<4x3xf32>, %y: memref<4x3xf32>) {
 *     %c0 = arith.constant 0 : index  ...
 *     scf.parallel (%r) = (%c0) to (%c4) step (%c1) { ... row %r ... scf.reduce }
 *     return
 *   }
 * After:
 *   func.func private @perft_kernel_3_softmax(...) {
 *     %c0 = arith.constant 0 : index  ...                     (host: constants, views)
 *     gpu.launch blocks(%bx, %by, %bz) in (%gx = %blocks, %c1, %c1)
 *                threads(%tx, %ty, %tz) in (%sx = %c256, %c1, %c1) {
 *       %i = %bx * 256 + %tx
 *       scf.if %i < %n {                                      (n: the loop's iterations)
 *         %r = %c0 + %i * %c1
 *         ... row %r ...                                      (nested scf.parallel: scf.for)
 *       }
 *       gpu.terminator
 *     }
 *     return
 *   }
 * Each top-level scf.parallel becomes one launch, an iteration a thread (a multi-dimensional one
 * is numbered last dimension fastest); a top-level memref.copy becomes such a loop first. One that
 * holds parallel loops (and besides them only arithmetic and loads) maps onto two levels instead:
 * a block an outer iteration, the inner loops' iterations its threads, a gpu.barrier between two
 * inner loops (launch_two_level). The other top-level work of a function — serial loops, loads
 * and stores, each run of it between parallel loops — becomes a launch of one thread.
 * Constants, index arithmetic and views of memrefs (memref.view, subview, collapse_shape ...)
 * stay on the host, hoisted to the function's start; func.call and func.return stay in place.
 * Kernels run in program order on one stream, so launches need no other synchronisation.
 *
 * A value made inside one launch and read outside it cannot exist on the host: the pass
 * reports it as an error (a kernel builder must keep such work within one loop).
 *
 * The launches then go either to the GPU (gpu-kernel-outlining, convert-gpu-to-nvvm,
 * gpu-module-to-binary: compiler/target_cuda.c) or, for tests, back to CPU loops over blocks
 * and threads (perft-gpu-host, gpu_host.c).
 */
#include "passes.h"
#include "external_pass.h"
#include "ir_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS_PER_BLOCK = 256, MAX_INNER_LOOPS = 64 };

static int name_starts(MlirOperation op, const char *prefix) {
  MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(op));
  size_t n = strlen(prefix);
  return name.length >= n && !memcmp(name.data, prefix, n);
}

/* Ops the host may run: pure index/float arithmetic and views of memrefs (no memory read). */
static int host_pure_kind(MlirOperation op) {
  static const char *const views[] = {"memref.view", "memref.subview", "memref.collapse_shape",
                                      "memref.expand_shape", "memref.cast", "memref.reinterpret_cast",
                                      "memref.extract_aligned_pointer_as_index", NULL};
  if (name_starts(op, "arith.")) return 1;
  for (int i = 0; views[i]; i++)
    if (op_is(op, views[i])) return 1;
  return 0;
}

/* Whether v is a function argument or made by host-pure ops from such (at the top level). */
static int is_host_value(MlirValue v, MlirBlock body, int depth) {
  if (mlirValueIsABlockArgument(v)) return mlirBlockEqual(mlirBlockArgumentGetOwner(v), body);
  MlirOperation op = mlirOpResultGetOwner(v);
  if (!mlirBlockEqual(mlirOperationGetBlock(op), body) || !host_pure_kind(op) || depth > 64) return 0;
  for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++)
    if (!is_host_value(mlirOperationGetOperand(op, i), body, depth + 1)) return 0;
  return 1;
}

static int stays_on_host(MlirOperation op, MlirBlock body) {
  if (op_is(op, "func.call") || op_is(op, "func.return")) return 1;
  if (!host_pure_kind(op)) return 0;
  for (intptr_t i = 0; i < mlirOperationGetNumResults(op); i++)
    if (!is_host_value(mlirOperationGetResult(op, i), body, 0)) return 0;
  return mlirOperationGetNumResults(op) > 0;
}

/* The op of `body` that holds op (op itself when it is at the top level), or null. */
static MlirOperation top_level_ancestor(MlirOperation op, MlirBlock body) {
  while (!mlirOperationIsNull(op) && !mlirBlockEqual(mlirOperationGetBlock(op), body))
    op = mlirOperationGetParentOperation(op);
  return op;
}

/* ---- building blocks ---- */

static MlirValue index_op(Builder *b, const char *name, MlirValue x, MlirValue y) {
  MlirValue operands[2] = {x, y};
  return build_value(b, name, 2, operands, mlirValueGetType(x), 0, NULL);
}

/* gpu.launch of grid × 1 × 1 blocks of `threads` × 1 × 1 threads before b's anchor; *body is its
 * block (arguments: block ids x y z, thread ids x y z, grid sizes, block sizes), *terminator its
 * gpu.terminator. */
static MlirOperation build_launch(Builder *b, MlirValue grid, MlirValue threads, MlirBlock *body,
                                  MlirOperation *terminator) {
  MlirValue one = build_index_constant(b, 1);
  MlirValue sizes[6] = {grid, one, one, threads, one, one};
  MlirNamedAttribute segments = named_attribute(
      b->context, "operandSegmentSizes", parse_attribute(b->context, "array<i32: 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0>"));
  MlirType types[12];
  for (int i = 0; i < 12; i++) types[i] = mlirIndexTypeGet(b->context);
  MlirOperation launch = build_region_op(b, "gpu.launch", 6, sizes, 1, &segments, 12, types, body);
  Builder inner = {.context = b->context, .block = *body, .anchor = null_operation(), .location = b->location};
  *terminator = build_op(&inner, "gpu.terminator", 0, NULL, 0, NULL, 0, NULL);
  return launch;
}

/* Moves op and the ops after it up to (not including) `end` before `anchor`. */
static void move_before(MlirOperation op, MlirOperation end, MlirOperation anchor) {
  while (!mlirOperationIsNull(op) && !mlirOperationEqual(op, end)) {
    MlirOperation next = mlirOperationGetNextInBlock(op);
    mlirOperationMoveBefore(op, anchor);
    op = next;
  }
}

/* scf.parallel → nested scf.for (the same iterations, one after another); nested ones too. */
static void serialize_parallel(MlirOperation parallel) {
  intptr_t dims = (mlirOperationGetNumOperands(parallel)) / 3;
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(parallel, 0));
  Builder b = builder_before(parallel, mlirOperationGetLocation(parallel));
  MlirType index = mlirIndexTypeGet(b.context);
  MlirOperation innermost_yield = null_operation();
  for (intptr_t d = 0; d < dims; d++) {
    MlirValue bounds[3] = {mlirOperationGetOperand(parallel, d), mlirOperationGetOperand(parallel, dims + d),
                           mlirOperationGetOperand(parallel, 2 * dims + d)};
    MlirBlock loop_body;
    build_region_op(&b, "scf.for", 3, bounds, 0, NULL, 1, &index, &loop_body);
    Builder inner = {.context = b.context, .block = loop_body, .anchor = null_operation(), .location = b.location};
    innermost_yield = build_op(&inner, "scf.yield", 0, NULL, 0, NULL, 0, NULL);
    mlirValueReplaceAllUsesOfWith(mlirBlockGetArgument(body, d), mlirBlockGetArgument(loop_body, 0));
    b = builder_before(innermost_yield, b.location);
  }
  move_before(mlirBlockGetFirstOperation(body), mlirBlockGetTerminator(body), innermost_yield);
  mlirOperationDestroy(parallel);
}

/* Every scf.parallel inside op becomes scf.for loops (innermost first, so outer ones move whole). */
static void serialize_nested(MlirOperation op) {
  static const char *const parallel[] = {"scf.parallel", NULL};
  size_t n;
  MlirOperation *loops = ops_named(op, parallel, &n);
  for (size_t i = 0; i < n; i++) serialize_parallel(loops[i]);
  free(loops);
}

/* Whether a result of an op in [first, end) is read outside that range; *reader gets the reader. */
static int escapes(MlirOperation first, MlirOperation end, MlirBlock body, MlirOperation *reader) {
  for (MlirOperation op = first; !mlirOperationEqual(op, end); op = mlirOperationGetNextInBlock(op))
    for (intptr_t r = 0; r < mlirOperationGetNumResults(op); r++)
      for (MlirOpOperand use = mlirValueGetFirstUse(mlirOperationGetResult(op, r)); !mlirOpOperandIsNull(use);
           use = mlirOpOperandGetNextUse(use)) {
        MlirOperation top = top_level_ancestor(mlirOpOperandGetOwner(use), body);
        int inside = 0;
        for (MlirOperation o = first; !mlirOperationEqual(o, end) && !inside; o = mlirOperationGetNextInBlock(o))
          inside = mlirOperationEqual(o, top);
        if (!inside) {
          *reader = mlirOpOperandGetOwner(use);
          return 1;
        }
      }
  return 0;
}

/* Whether an operand of op (or of an op inside it) is made by a device op at the top level. */
static int reads_device_value(MlirOperation op, MlirBlock body, MlirOperation *maker);

typedef struct {
  MlirBlock body;
  MlirOperation maker;
} DeviceRead;

static MlirWalkResult check_operands(MlirOperation op, void *data) {
  DeviceRead *read = data;
  for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++) {
    MlirValue v = mlirOperationGetOperand(op, i);
    if (mlirValueIsABlockArgument(v)) continue;
    MlirOperation def = mlirOpResultGetOwner(v);
    if (mlirBlockEqual(mlirOperationGetBlock(def), read->body) && !is_host_value(v, read->body, 0)) {
      read->maker = def;
      return MlirWalkResultInterrupt;
    }
  }
  return MlirWalkResultAdvance;
}

static int reads_device_value(MlirOperation op, MlirBlock body, MlirOperation *maker) {
  DeviceRead read = {.body = body, .maker = null_operation()};
  mlirOperationWalk(op, check_operands, &read, MlirWalkPreOrder);
  *maker = read.maker;
  return !mlirOperationIsNull(read.maker);
}

/* Static allocas (a thread's scratch, like attention's row of scores) go to the start of their
 * launch, once a thread; the stack save/restore around them goes (NVPTX has none, and a buffer
 * made once needs none). */
static void hoist_allocas(MlirOperation launch, MlirBlock launch_body) {
  static const char *const stack_ops[] = {"memref.alloca", "llvm.intr.stacksave", "llvm.intr.stackrestore", NULL};
  size_t n;
  MlirOperation *found = ops_named(launch, stack_ops, &n);
  for (size_t i = n; i-- > 0;) /* restores before the saves they read */
    if (op_is(found[i], "llvm.intr.stackrestore")) mlirOperationDestroy(found[i]);
  for (size_t i = 0; i < n; i++)
    if (op_is(found[i], "llvm.intr.stacksave")) mlirOperationDestroy(found[i]);
  for (size_t i = n; i-- > 0;)
    if (op_is(found[i], "memref.alloca") && mlirOperationGetNumOperands(found[i]) == 0)
      mlirOperationMoveBefore(found[i], mlirBlockGetFirstOperation(launch_body));
  free(found);
}

/* The ops [first, end) as a launch of one thread. */
static void launch_serial(MlirOperation first, MlirOperation end) {
  Builder b = builder_before(first, mlirOperationGetLocation(first));
  MlirBlock launch_body;
  MlirOperation terminator, launch = build_launch(&b, build_index_constant(&b, 1), build_index_constant(&b, 1), &launch_body,
                                                  &terminator);
  move_before(first, end, terminator);
  serialize_nested(launch);
  hoist_allocas(launch, launch_body);
}

/* The memref a view-like op chain starts from (a kernel function's argument, usually). */
static MlirValue root_memref(MlirValue v) {
  while (!mlirValueIsABlockArgument(v)) {
    MlirOperation op = mlirOpResultGetOwner(v);
    if (!(op_is(op, "memref.collapse_shape") || op_is(op, "memref.expand_shape") || op_is(op, "memref.subview") ||
          op_is(op, "memref.cast") || op_is(op, "memref.reinterpret_cast")))
      break;
    v = mlirOperationGetOperand(op, 0);
  }
  return v;
}

/* What an op reads and whether it writes: the root memrefs of its loads (up to 32) and of its
 * stores; `unknown` when it holds an op that may write anything (a call). */
typedef struct {
  MlirValue read[32], written[32];
  int num_read, num_written, unknown;
} Effects;

static void add_root(MlirValue *list, int *count, int *unknown, MlirValue memref) {
  MlirValue root = root_memref(memref);
  for (int i = 0; i < *count; i++)
    if (mlirValueEqual(list[i], root)) return;
  if (*count == 32) *unknown = 1;
  else list[(*count)++] = root;
}

static MlirWalkResult collect_effects(MlirOperation op, void *data) {
  Effects *e = data;
  if (op_is(op, "memref.load") || op_is(op, "vector.load"))
    add_root(e->read, &e->num_read, &e->unknown, mlirOperationGetOperand(op, 0));
  else if (op_is(op, "memref.store") || op_is(op, "vector.store"))
    add_root(e->written, &e->num_written, &e->unknown, mlirOperationGetOperand(op, 1));
  else if (!(host_pure_kind(op) || name_starts(op, "scf.") || name_starts(op, "math.") || op_is(op, "memref.alloca") ||
             name_starts(op, "llvm.intr.stack")))
    e->unknown = 1;
  return MlirWalkResultAdvance;
}

static Effects effects_of(MlirOperation op) {
  Effects e = {.num_read = 0, .num_written = 0, .unknown = 0};
  mlirOperationWalk(op, collect_effects, &e, MlirWalkPreOrder);
  return e;
}

static int writes_any(const Effects *writer, const Effects *reader) {
  if (writer->unknown) return 1;
  for (int w = 0; w < writer->num_written; w++)
    for (int r = 0; r < reader->num_read; r++)
      if (mlirValueEqual(writer->written[w], reader->read[r])) return 1;
  return 0;
}

/* Iterations of an scf.parallel (all its dimensions) from b's position; counts[d] gets each one's. */
static MlirValue iteration_count(Builder *b, MlirOperation parallel, MlirValue *counts) {
  intptr_t dims = mlirOperationGetNumOperands(parallel) / 3;
  IR_CHECK(dims <= 8, "perft-gpu-launch: an scf.parallel of more than 8 dimensions");
  MlirValue total = build_index_constant(b, 1);
  for (intptr_t d = 0; d < dims; d++) { /* ceil((upper - lower) / step) */
    MlirValue lower = mlirOperationGetOperand(parallel, d), upper = mlirOperationGetOperand(parallel, dims + d),
              step = mlirOperationGetOperand(parallel, 2 * dims + d);
    counts[d] = index_op(b, "arith.ceildivsi", index_op(b, "arith.subi", upper, lower), step);
    total = index_op(b, "arith.muli", total, counts[d]);
  }
  return total;
}

/* Replaces the induction variables of `parallel` by those of its iteration number i (the last
 * dimension fastest), built with b. */
static void bind_induction_variables(Builder *b, MlirOperation parallel, const MlirValue *counts, MlirValue i) {
  intptr_t dims = mlirOperationGetNumOperands(parallel) / 3;
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(parallel, 0));
  MlirValue rest = i;
  for (intptr_t d = dims; d-- > 0;) {
    MlirValue index = dims == 1 ? rest : index_op(b, "arith.remsi", rest, counts[d]);
    if (d > 0) rest = index_op(b, "arith.divsi", rest, counts[d]);
    MlirValue iv = index_op(b, "arith.addi", mlirOperationGetOperand(parallel, d),
                            index_op(b, "arith.muli", index, mlirOperationGetOperand(parallel, 2 * dims + d)));
    mlirValueReplaceAllUsesOfWith(mlirBlockGetArgument(body, d), iv);
  }
}

/* Whether a parallel loop holds parallel loops and, besides them, only index arithmetic, views and
 * loads of what the inner loops do not write (an expert's row range): then its iterations can be
 * blocks and the inner loops' iterations the blocks' threads (every thread of a block does the
 * outer work, alike). */
static int nests_parallel_loops(MlirOperation parallel) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(parallel, 0));
  MlirOperation terminator = mlirBlockGetTerminator(body);
  int inner = 0;
  Effects outer = {.num_read = 0, .num_written = 0, .unknown = 0};
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, terminator);
       op = mlirOperationGetNextInBlock(op)) {
    if (op_is(op, "scf.parallel")) inner++;
    else if (op_is(op, "memref.load")) add_root(outer.read, &outer.num_read, &outer.unknown, mlirOperationGetOperand(op, 0));
    else if (!host_pure_kind(op)) return 0;
  }
  if (inner == 0 || inner > MAX_INNER_LOOPS || outer.unknown) return 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, terminator);
       op = mlirOperationGetNextInBlock(op))
    if (op_is(op, "scf.parallel")) {
      Effects q = effects_of(op);
      if (writes_any(&q, &outer)) return 0;
    }
  return 1;
}

/* The value of an index constant, in *value; 0 when v is not one. */
static int constant_index(MlirValue v, int64_t *value) {
  if (!mlirValueIsAOpResult(v) || !op_is(mlirOpResultGetOwner(v), "arith.constant")) return 0;
  MlirAttribute a = mlirOperationGetAttributeByName(mlirOpResultGetOwner(v), str("value"));
  if (!mlirAttributeIsAInteger(a)) return 0;
  *value = mlirIntegerAttrGetValueInt(a);
  return 1;
}

/* The threads of a two-level launch: 256, or fewer (a multiple of a warp, 32) when every inner loop
 * has a constant trip count below that — a block of 32 lanes then runs as one warp, not one busy
 * warp of eight. */
static int64_t block_threads(MlirOperation parallel) {
  int64_t most = 0;
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(parallel, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
    if (!op_is(op, "scf.parallel")) continue;
    intptr_t dims = mlirOperationGetNumOperands(op) / 3;
    int64_t trips = 1;
    for (intptr_t d = 0; d < dims; d++) {
      int64_t lower, upper, step;
      if (!constant_index(mlirOperationGetOperand(op, d), &lower) ||
          !constant_index(mlirOperationGetOperand(op, dims + d), &upper) ||
          !constant_index(mlirOperationGetOperand(op, 2 * dims + d), &step) || step < 1)
        return THREADS_PER_BLOCK;
      trips *= upper > lower ? (upper - lower + step - 1) / step : 0;
    }
    if (trips > most) most = trips;
  }
  int64_t warps = (most + 31) / 32;
  return warps < 1 ? 32 : warps * 32 < THREADS_PER_BLOCK ? warps * 32 : THREADS_PER_BLOCK;
}

/* A top-level scf.parallel that nests parallel loops as a launch of a block an outer iteration;
 * each inner loop's iterations spread over the block's threads (thread t takes t, t + 256, ...;
 * fewer threads when every inner loop is shorter: block_threads), a gpu.barrier between one inner
 * loop and the next (the second may read what the first wrote):
 *   gpu.launch blocks(%bx, ...) in (%n_outer, 1, 1) threads(%tx, ...) in (256, 1, 1) {
 *     %outer_iv = lower + %bx * step ; ... pure ops ...
 *     scf.for %t = %tx to %n_inner step 256 { %inner_iv = ... ; inner body }
 *     gpu.barrier
 *     scf.for %t = %tx to %n_inner2 step 256 { ... }
 *   } */
static void launch_two_level(MlirOperation parallel) {
  Builder b = builder_before(parallel, mlirOperationGetLocation(parallel));
  MlirValue counts[8], total = iteration_count(&b, parallel, counts);
  MlirValue threads = build_index_constant(&b, block_threads(parallel));
  MlirValue blocks = index_op(&b, "arith.maxsi", total, build_index_constant(&b, 1));
  MlirBlock launch_body;
  MlirOperation terminator, launch = build_launch(&b, blocks, threads, &launch_body, &terminator);
  Builder in = builder_before(terminator, b.location);
  MlirValue block = mlirBlockGetArgument(launch_body, 0), thread = mlirBlockGetArgument(launch_body, 3);
  bind_induction_variables(&in, parallel, counts, block);
  /* a block past the end (only when the loop has no iteration at all) runs no inner iteration */
  MlirNamedAttribute less_than = named_attribute(b.context, "predicate", parse_attribute(b.context, "2 : i64"));
  MlirValue in_range =
      build_value(&in, "arith.cmpi", 2, (MlirValue[]){block, total}, mlirIntegerTypeGet(b.context, 1), 1, &less_than);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(parallel, 0));
  move_before(mlirBlockGetFirstOperation(body), mlirBlockGetTerminator(body), terminator);
  mlirOperationDestroy(parallel);
  /* the inner loops, now at the launch body's top level */
  MlirOperation inner[MAX_INNER_LOOPS];
  int num_inner = 0;
  for (MlirOperation op = mlirBlockGetFirstOperation(launch_body); !mlirOperationEqual(op, terminator);
       op = mlirOperationGetNextInBlock(op))
    if (op_is(op, "scf.parallel")) {
      IR_CHECK(num_inner < MAX_INNER_LOOPS, "perft-gpu-launch: too many inner loops"); /* nests_parallel_loops checked */
      inner[num_inner++] = op;
    }
  MlirType index = mlirIndexTypeGet(b.context);
  for (int q = 0; q < num_inner; q++) {
    Builder at = builder_before(inner[q], b.location);
    MlirValue inner_counts[8], n = iteration_count(&at, inner[q], inner_counts);
    n = build_value(&at, "arith.select", 3, (MlirValue[]){in_range, n, build_index_constant(&at, 0)}, index, 0, NULL);
    MlirBlock loop_body;
    build_region_op(&at, "scf.for", 3, (MlirValue[]){thread, n, threads}, 0, NULL, 1, &index, &loop_body);
    Builder loop = {.context = b.context, .block = loop_body, .anchor = null_operation(), .location = b.location};
    MlirOperation yield = build_op(&loop, "scf.yield", 0, NULL, 0, NULL, 0, NULL);
    loop = builder_before(yield, b.location);
    bind_induction_variables(&loop, inner[q], inner_counts, mlirBlockGetArgument(loop_body, 0));
    MlirBlock inner_body = mlirRegionGetFirstBlock(mlirOperationGetRegion(inner[q], 0));
    move_before(mlirBlockGetFirstOperation(inner_body), mlirBlockGetTerminator(inner_body), yield);
    if (q + 1 < num_inner) build_op(&at, "gpu.barrier", 0, NULL, 0, NULL, 0, NULL);
    mlirOperationDestroy(inner[q]);
  }
  serialize_nested(launch);
  hoist_allocas(launch, launch_body);
}

/* A top-level scf.parallel as a launch with one thread an iteration (see the file's comment). */
static void launch_parallel(MlirOperation parallel) {
  if (nests_parallel_loops(parallel)) {
    launch_two_level(parallel);
    return;
  }
  Builder b = builder_before(parallel, mlirOperationGetLocation(parallel));
  MlirValue counts[8], total = iteration_count(&b, parallel, counts);
  MlirValue threads = build_index_constant(&b, THREADS_PER_BLOCK);
  MlirValue blocks =
      index_op(&b, "arith.maxsi", index_op(&b, "arith.ceildivsi", total, threads), build_index_constant(&b, 1));
  MlirBlock launch_body;
  MlirOperation terminator, launch = build_launch(&b, blocks, threads, &launch_body, &terminator);
  Builder in = builder_before(terminator, b.location);
  MlirValue i = index_op(&in, "arith.addi", index_op(&in, "arith.muli", mlirBlockGetArgument(launch_body, 0),
                                                     mlirBlockGetArgument(launch_body, 9)),
                         mlirBlockGetArgument(launch_body, 3));
  MlirNamedAttribute less_than = named_attribute(b.context, "predicate", parse_attribute(b.context, "2 : i64")); /* slt */
  MlirValue in_range =
      build_value(&in, "arith.cmpi", 2, (MlirValue[]){i, total}, mlirIntegerTypeGet(b.context, 1), 1, &less_than);
  MlirRegion regions[2] = {mlirRegionCreate(), mlirRegionCreate()}; /* then, and an empty else */
  MlirBlock then_block = mlirBlockCreate(0, NULL, NULL);
  mlirRegionAppendOwnedBlock(regions[0], then_block);
  MlirOperationState state = mlirOperationStateGet(str("scf.if"), b.location);
  mlirOperationStateAddOperands(&state, 1, &in_range);
  mlirOperationStateAddOwnedRegions(&state, 2, regions);
  MlirOperation branch = mlirOperationCreate(&state);
  IR_CHECK(!mlirOperationIsNull(branch), "scf.if");
  builder_insert(&in, branch);
  Builder then = {.context = b.context, .block = then_block, .anchor = null_operation(), .location = b.location};
  MlirOperation yield = build_op(&then, "scf.yield", 0, NULL, 0, NULL, 0, NULL);
  then = builder_before(yield, b.location);
  bind_induction_variables(&then, parallel, counts, i);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(parallel, 0));
  move_before(mlirBlockGetFirstOperation(body), mlirBlockGetTerminator(body), yield);
  mlirOperationDestroy(parallel);
  serialize_nested(launch);
  hoist_allocas(launch, launch_body);
}

/* Whether every read of op's results is inside `loop`'s body (and op has results): not the loop's
 * own bounds, which must exist before it. */
static int read_only_by(MlirOperation op, MlirOperation loop, MlirBlock body) {
  for (intptr_t r = 0; r < mlirOperationGetNumResults(op); r++)
    for (MlirOpOperand use = mlirValueGetFirstUse(mlirOperationGetResult(op, r)); !mlirOpOperandIsNull(use);
         use = mlirOpOperandGetNextUse(use)) {
      MlirOperation reader = mlirOpOperandGetOwner(use);
      if (mlirOperationEqual(reader, loop) || !mlirOperationEqual(top_level_ancestor(reader, body), loop)) return 0;
    }
  return mlirOperationGetNumResults(op) > 0;
}

/* Work before a parallel loop whose results only that loop reads and which only reads memory —
 * a kernel's scalar argument like a dropout seed, or a count the loop divides by — moves into
 * the loop: each thread computes it (redundantly, but with no second kernel and no buffer to
 * pass it through). Only when nothing from it to the loop, the loop included, writes what it reads. */
static void absorb_scalar_work(MlirOperation parallel, MlirBlock body) {
  MlirBlock loop_body = mlirRegionGetFirstBlock(mlirOperationGetRegion(parallel, 0));
  int count = 0, capacity = 0;
  MlirOperation *before = NULL; /* the ops before the loop, in order (the C API has no previous-op call) */
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationEqual(op, parallel);
       op = mlirOperationGetNextInBlock(op)) {
    if (count == capacity) {
      capacity = 2 * capacity + 64;
      before = realloc(before, (size_t)capacity * sizeof *before);
      IR_CHECK(before != NULL, "perft-gpu-launch: out of memory");
    }
    before[count++] = op;
  }
  Effects loop = effects_of(parallel);
  for (int c = count; c-- > 0;) {
    MlirOperation op = before[c];
    if (mlirOperationIsNull(op) || stays_on_host(op, body) || !read_only_by(op, parallel, body)) continue;
    Effects mine = effects_of(op);
    if (mine.unknown || mine.num_written > 0) continue;
    int conflict = writes_any(&loop, &mine);
    for (int later = c + 1; later < count && !conflict; later++) {
      if (mlirOperationIsNull(before[later])) continue; /* moved into the loop already */
      Effects between = effects_of(before[later]);
      conflict = writes_any(&between, &mine);
    }
    if (conflict) continue;
    mlirOperationMoveBefore(op, mlirBlockGetFirstOperation(loop_body));
    before[c] = null_operation();
  }
  free(before);
}

/* A memref.copy of rank >= 1 (results copied into their output buffers) as a parallel loop over
 * its elements, so that it becomes a thread an element, not a copy on one thread:
 *   scf.parallel (%i, %j) = (0, 0) to (M, N) step (1, 1) { dst[%i, %j] = src[%i, %j] } */
static void copy_to_parallel_loop(MlirOperation copy) {
  MlirValue source = mlirOperationGetOperand(copy, 0), target = mlirOperationGetOperand(copy, 1);
  MlirType type = mlirValueGetType(source);
  intptr_t rank = mlirShapedTypeGetRank(type);
  if (rank == 0 || rank > 8 || !mlirShapedTypeHasStaticShape(type)) return;
  Builder b = builder_before(copy, mlirOperationGetLocation(copy));
  MlirValue bounds[24];
  MlirType types[8];
  for (intptr_t d = 0; d < rank; d++) {
    bounds[d] = build_index_constant(&b, 0);
    bounds[rank + d] = build_index_constant(&b, mlirShapedTypeGetDimSize(type, d));
    bounds[2 * rank + d] = build_index_constant(&b, 1);
    types[d] = mlirIndexTypeGet(b.context);
  }
  char segments[64];
  snprintf(segments, sizeof segments, "array<i32: %d, %d, %d, 0>", (int)rank, (int)rank, (int)rank);
  MlirNamedAttribute sizes = named_attribute(b.context, "operandSegmentSizes", parse_attribute(b.context, segments));
  MlirBlock body;
  build_region_op(&b, "scf.parallel", (int)(3 * rank), bounds, 1, &sizes, (int)rank, types, &body);
  Builder in = {.context = b.context, .block = body, .anchor = null_operation(), .location = b.location};
  MlirValue operands[10];
  operands[0] = source;
  for (intptr_t d = 0; d < rank; d++) operands[1 + d] = mlirBlockGetArgument(body, d);
  MlirValue value = build_value(&in, "memref.load", (int)(1 + rank), operands, mlirShapedTypeGetElementType(type), 0, NULL);
  operands[0] = value;
  operands[1] = target;
  for (intptr_t d = 0; d < rank; d++) operands[2 + d] = mlirBlockGetArgument(body, d);
  build_op(&in, "memref.store", (int)(2 + rank), operands, 0, NULL, 0, NULL);
  build_op(&in, "scf.reduce", 0, NULL, 0, NULL, 0, NULL);
  mlirOperationDestroy(copy);
}

static int crossing_error(MlirOperation reader) {
  mlirEmitError(mlirOperationGetLocation(reader),
                "perft-gpu-launch: this op reads a value made in another GPU kernel (keep the work in one loop)");
  return 0;
}

/* 0 on failure (diagnosed). */
static int launch_function(MlirOperation func) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
  if (mlirBlockIsNull(body)) return 1;
  for (MlirOperation op = mlirBlockGetFirstOperation(body), next; !mlirOperationIsNull(op); op = next) {
    next = mlirOperationGetNextInBlock(op);
    if (op_is(op, "memref.copy")) copy_to_parallel_loop(op);
  }
  /* host-pure ops first, in order (they read only arguments and each other) */
  MlirOperation first_other = null_operation();
  for (MlirOperation op = mlirBlockGetFirstOperation(body), next; !mlirOperationIsNull(op); op = next) {
    next = mlirOperationGetNextInBlock(op);
    int pure = stays_on_host(op, body) && !op_is(op, "func.call") && !op_is(op, "func.return");
    if (!pure && mlirOperationIsNull(first_other)) first_other = op;
    else if (pure && !mlirOperationIsNull(first_other)) mlirOperationMoveBefore(op, first_other);
  }
  for (MlirOperation op = first_other; !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    if (op_is(op, "scf.parallel")) absorb_scalar_work(op, body);
  first_other = null_operation(); /* the absorbed ops may have been first */
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op) && mlirOperationIsNull(first_other);
       op = mlirOperationGetNextInBlock(op))
    if (!stays_on_host(op, body) || op_is(op, "func.call") || op_is(op, "func.return")) first_other = op;
  /* then runs of device work between host ops, and each top-level scf.parallel */
  MlirOperation run = null_operation();
  for (MlirOperation op = first_other, next; !mlirOperationIsNull(op); op = next) {
    next = mlirOperationGetNextInBlock(op);
    int device = !stays_on_host(op, body);
    int parallel = op_is(op, "scf.parallel");
    for (intptr_t i = 0; parallel && i < mlirOperationGetNumOperands(op); i++)
      if (!is_host_value(mlirOperationGetOperand(op, i), body, 0)) {
        mlirEmitError(mlirOperationGetLocation(op),
                      "perft-gpu-launch: the bounds of this parallel loop are made on the device");
        return 0;
      }
    MlirOperation reader;
    if (!mlirOperationIsNull(run) && (!device || parallel)) {
      if (escapes(run, op, body, &reader)) return crossing_error(reader);
      launch_serial(run, op);
      run = null_operation();
    }
    if (parallel) {
      if (reads_device_value(op, body, &reader)) return crossing_error(op);
      launch_parallel(op);
    } else if (device && mlirOperationIsNull(run)) {
      run = op;
    }
  }
  return 1;
}

static void launch_run(MlirOperation module, MlirExternalPass pass, void *options) {
  (void)options;
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    if (op_is(op, "func.func") && !launch_function(op)) {
      mlirExternalPassSignalFailure(pass);
      return;
    }
}

MlirPass perft_create_gpu_launch_pass(void) {
  return perft_module_pass("PerftGpuLaunch", "perft-gpu-launch",
                           "each function's loops become gpu.launch ops (parallel loops: a thread an iteration)",
                           launch_run, NULL, 0);
}
