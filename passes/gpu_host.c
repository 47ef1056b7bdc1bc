/* gpu_host.c — the perft-gpu-host pass: gpu.launch bodies run on the CPU, for tests.
 *
 * Before (perft-gpu-launch's output):
 *   gpu.launch blocks(%bx, %by, %bz) in (%gx = %g, %gy = %c1, %gz = %c1)
 *              threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
 *     ... body over %bx, %tx, %sx ...
 *     gpu.terminator
 *   }
 * After:
 *   scf.parallel (%bz, %by, %bx) = (%c0, %c0, %c0) to (%gz, %gy, %g) step (%c1, %c1, %c1) {
 *     scf.for %tz = %c0 to %c1 step %c1 {
 *       scf.for %ty = %c0 to %c1 step %c1 {
 *         scf.for %tx = %c0 to %c256 step %c1 {
 *           ... the same body, %sx etc. replaced by the launch's sizes ...
 *         }
 *       }
 *     }
 *     scf.reduce
 *   }
 * The blocks of a launch are independent, so they run on CPU threads (convert-scf-to-openmp);
 * the threads of one block run one after another, each whole, in order of their ids.
 * A barrier orders the threads of a block: when the body's top level holds gpu.barrier ops,
 * each stretch between two barriers becomes its own loop over the threads, so every thread
 * finishes one stretch before any starts the next, as on the GPU. A value made in one stretch
 * and read in a later one is recomputed there when it is pure index arithmetic (thread ids,
 * sizes, constants); any other such value, and a barrier inside a loop or a branch, is an error.
 *
 * The arithmetic and indexing of every generated GPU kernel are thereby executed in CI, on
 * the CPU, by the same tests (gradchecks, the independent reference, fusion on/off) as the
 * CPU target's code (compiler/target_cuda.c: target cuda-host).
 *
 * With reverse=1 (target cuda-host-reversed) every launch runs its blocks and, in each stretch, its
 * threads in the opposite order (block id g−1−b, thread id n−1−t). A GPU promises no order among
 * them, so a correct kernel gives the same bits either way; one that does not has a race — a thread
 * reading what another writes in the same stretch (a missing barrier), two threads writing one
 * element, a block reading another's output — which the forward order alone can hide
 * (tests/gpu/check_thread_order.sh compares the two on every example).
 */
#include "passes.h"
#include "external_pass.h"
#include "ir_builder.h"

#include <stdlib.h>
#include <string.h>

/* one with `num_arguments` (up to 3) index arguments */
static MlirOperation build_loop_op(Builder *b, const char *name, int num_operands, const MlirValue *operands,
                                   int num_attributes, const MlirNamedAttribute *attributes, int num_arguments,
                                   MlirBlock *body) {
  MlirType index = mlirIndexTypeGet(b->context), types[3] = {index, index, index};
  return build_region_op(b, name, num_operands, operands, num_attributes, attributes, num_arguments, types, body);
}

/* size − 1 − index, before `b`'s anchor: an id counted from the other end */
static MlirValue reversed(Builder *b, MlirValue size, MlirValue index) {
  MlirValue last = build_value(b, "arith.subi", 2, (MlirValue[]){size, build_index_constant(b, 1)},
                               mlirIndexTypeGet(b->context), 0, NULL);
  return build_value(b, "arith.subi", 2, (MlirValue[]){last, index}, mlirIndexTypeGet(b->context), 0, NULL);
}

/* scf.for %t = 0 to size (x) scf.for ... z: returns the innermost yield; ids[3] get x y z
 * (counted down when `reverse`). */
static MlirOperation thread_loops(Builder *b, const MlirValue *sizes, MlirValue *ids, int reverse) {
  MlirValue zero = build_index_constant(b, 0), one = build_index_constant(b, 1);
  Builder at = *b;
  MlirOperation yield = null_operation();
  for (int d = 2; d >= 0; d--) { /* z outermost, x innermost: ids in the order the GPU numbers them */
    MlirBlock body;
    build_loop_op(&at, "scf.for", 3, (MlirValue[]){zero, sizes[d], one}, 0, NULL, 1, &body);
    Builder inner = {.context = b->context, .block = body, .anchor = null_operation(), .location = b->location};
    yield = build_op(&inner, "scf.yield", 0, NULL, 0, NULL, 0, NULL);
    ids[d] = mlirBlockGetArgument(body, 0);
    at = builder_before(yield, b->location);
  }
  for (int d = 0; reverse && d < 3; d++) ids[d] = reversed(&at, sizes[d], ids[d]);
  return yield;
}

static int is_pure_index_op(MlirOperation op) {
  MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(op));
  return name.length > 6 && !memcmp(name.data, "arith.", 6);
}

typedef struct {
  MlirBlock launch_body;
  MlirOperation first, end; /* the stretch */
  int ok;
} Stretch;

static int in_stretch(MlirOperation top, const Stretch *s) {
  for (MlirOperation o = s->first; !mlirOperationIsNull(o) && !mlirOperationEqual(o, s->end);
       o = mlirOperationGetNextInBlock(o))
    if (mlirOperationEqual(o, top)) return 1;
  return 0;
}

static MlirOperation top_of(MlirOperation op, MlirBlock block) {
  while (!mlirOperationIsNull(op) && !mlirBlockEqual(mlirOperationGetBlock(op), block))
    op = mlirOperationGetParentOperation(op);
  return op;
}

static MlirWalkResult fix_operands(MlirOperation op, void *data) {
  Stretch *s = data;
  for (intptr_t i = 0; i < mlirOperationGetNumOperands(op); i++) {
    MlirValue v = mlirOperationGetOperand(op, i);
    if (mlirValueIsABlockArgument(v)) continue;
    MlirOperation def = mlirOpResultGetOwner(v);
    if (!mlirBlockEqual(mlirOperationGetBlock(def), s->launch_body) || in_stretch(def, s)) continue;
    if (!is_pure_index_op(def)) {
      mlirEmitError(mlirOperationGetLocation(op),
                    "perft-gpu-host: a value made before a gpu.barrier is read after it (keep it in memory)");
      s->ok = 0;
      return MlirWalkResultInterrupt;
    }
    MlirOperation copy = mlirOperationClone(def);
    mlirBlockInsertOwnedOperationBefore(s->launch_body, s->first, copy);
    mlirOperationSetOperand(op, i, mlirOperationGetResult(copy, mlirOpResultGetResultNumber(v)));
    Stretch inner = {.launch_body = s->launch_body, .first = copy, .end = s->end, .ok = 1};
    fix_operands(copy, &inner); /* what the copy reads, recursively */
    if (!inner.ok) {
      s->ok = 0;
      return MlirWalkResultInterrupt;
    }
    s->first = inner.first;
  }
  return MlirWalkResultAdvance;
}

/* Clones to the start of the stretch [first, end) the pure ops of earlier stretches that its ops
 * read; 0 (diagnosed) when such a value is not pure. */
static int rematerialize(MlirOperation first, MlirOperation end, MlirBlock launch_body) {
  Stretch s = {.launch_body = launch_body, .first = first, .end = end, .ok = 1};
  for (MlirOperation op = first; s.ok && !mlirOperationEqual(op, end); op = mlirOperationGetNextInBlock(op))
    mlirOperationWalk(op, fix_operands, &s, MlirWalkPreOrder);
  return s.ok;
}

typedef struct {
  int nested_barrier;
  MlirOperation where;
} BarrierSearch;

static MlirWalkResult find_nested_barrier(MlirOperation op, void *data) {
  BarrierSearch *search = data;
  if (op_is(op, "gpu.barrier")) {
    search->nested_barrier = 1;
    search->where = op;
    return MlirWalkResultInterrupt;
  }
  return MlirWalkResultAdvance;
}

/* 0 on failure (diagnosed). */
static int lower_launch(MlirOperation launch, int reverse) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(launch, 0));
  if (mlirOperationGetNumResults(launch) != 0 || mlirOperationGetNumOperands(launch) != 6 ||
      mlirBlockIsNull(body) || !mlirBlockIsNull(mlirBlockGetNextInRegion(body))) {
    mlirEmitError(mlirOperationGetLocation(launch),
                  "perft-gpu-host: only synchronous launches of one block, without clusters or dynamic shared memory");
    return 0;
  }
  /* barriers only at the body's top level */
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
    if (op_is(op, "gpu.barrier")) continue;
    BarrierSearch search = {0};
    mlirOperationWalk(op, find_nested_barrier, &search, MlirWalkPreOrder);
    if (search.nested_barrier) {
      mlirEmitError(mlirOperationGetLocation(search.where),
                    "perft-gpu-host: a gpu.barrier inside a loop or a branch (only the kernel's top level)");
      return 0;
    }
  }
  Builder b = builder_before(launch, mlirOperationGetLocation(launch));
  MlirValue grid[3], sizes[3];
  for (int d = 0; d < 3; d++) {
    grid[d] = mlirOperationGetOperand(launch, d);
    sizes[d] = mlirOperationGetOperand(launch, 3 + d);
  }
  /* the blocks: scf.parallel (z, y, x) */
  MlirValue zero = build_index_constant(&b, 0), one = build_index_constant(&b, 1);
  MlirValue bounds[9] = {zero, zero, zero, grid[2], grid[1], grid[0], one, one, one};
  MlirNamedAttribute segments = named_attribute(b.context, "operandSegmentSizes",
                                                parse_attribute(b.context, "array<i32: 3, 3, 3, 0>"));
  MlirBlock blocks_body;
  build_loop_op(&b, "scf.parallel", 9, bounds, 1, &segments, 3, &blocks_body);
  Builder in_blocks = {.context = b.context, .block = blocks_body, .anchor = null_operation(), .location = b.location};
  MlirOperation reduce = build_op(&in_blocks, "scf.reduce", 0, NULL, 0, NULL, 0, NULL);
  Builder before_reduce = builder_before(reduce, b.location);
  for (int d = 0; d < 3; d++) {
    MlirValue block_id = mlirBlockGetArgument(blocks_body, 2 - d);
    if (reverse) block_id = reversed(&before_reduce, grid[d], block_id);
    mlirValueReplaceAllUsesOfWith(mlirBlockGetArgument(body, d), block_id);
    mlirValueReplaceAllUsesOfWith(mlirBlockGetArgument(body, 6 + d), grid[d]);
    mlirValueReplaceAllUsesOfWith(mlirBlockGetArgument(body, 9 + d), sizes[d]);
  }
  /* a thread's scratch (allocas at the body's top level, perft-gpu-launch puts them there) is
   * made once a block and reused by its threads one after another; freed when the block ends */
  int barriers = 0, allocas = 0;
  MlirValue saved = {NULL};
  for (MlirOperation op = mlirBlockGetFirstOperation(body), next; !mlirOperationIsNull(op); op = next) {
    next = mlirOperationGetNextInBlock(op);
    barriers += op_is(op, "gpu.barrier");
    if (op_is(op, "memref.alloca") && mlirOperationGetNumOperands(op) == 0) {
      if (!allocas++) {
        Builder at = builder_before(reduce, b.location);
        saved = build_value(&at, "llvm.intr.stacksave", 0, NULL, parse_type(b.context, "!llvm.ptr"), 0, NULL);
      }
      mlirOperationMoveBefore(op, reduce);
    }
  }
  if (barriers && allocas) {
    mlirEmitError(mlirOperationGetLocation(launch),
                  "perft-gpu-host: a kernel with both barriers and per-thread scratch (allocas)");
    return 0;
  }
  /* the stretches between barriers: first each gets its own copies of the pure values it reads
   * from earlier ones (while all are still in the body), then each becomes a loop over the
   * block's threads */
  MlirOperation terminator = mlirBlockGetTerminator(body);
  for (MlirOperation first = mlirBlockGetFirstOperation(body); !mlirOperationEqual(first, terminator);) {
    MlirOperation end = first;
    while (!mlirOperationEqual(end, terminator) && !op_is(end, "gpu.barrier")) end = mlirOperationGetNextInBlock(end);
    if (!rematerialize(first, end, body)) return 0;
    first = mlirOperationEqual(end, terminator) ? end : mlirOperationGetNextInBlock(end);
  }
  for (MlirOperation first = mlirBlockGetFirstOperation(body); !mlirOperationEqual(first, terminator);) {
    MlirOperation end = first;
    while (!mlirOperationEqual(end, terminator) && !op_is(end, "gpu.barrier")) end = mlirOperationGetNextInBlock(end);
    MlirOperation after = mlirOperationEqual(end, terminator) ? end : mlirOperationGetNextInBlock(end);
    if (!mlirOperationEqual(first, end)) {
      Builder at = builder_before(reduce, b.location);
      MlirValue ids[3];
      MlirOperation yield = thread_loops(&at, sizes, ids, reverse);
      for (MlirOperation op = first; !mlirOperationEqual(op, end);) {
        MlirOperation next = mlirOperationGetNextInBlock(op);
        mlirOperationMoveBefore(op, yield);
        op = next;
      }
      for (int d = 0; d < 3; d++) { /* this stretch's reads of the thread ids */
        MlirValue id = mlirBlockGetArgument(body, 3 + d);
        for (MlirOpOperand use = mlirValueGetFirstUse(id), next; !mlirOpOperandIsNull(use); use = next) {
          next = mlirOpOperandGetNextUse(use);
          MlirOperation owner = mlirOpOperandGetOwner(use);
          if (!mlirOperationIsNull(top_of(owner, mlirOperationGetBlock(yield))))
            mlirOperationSetOperand(owner, mlirOpOperandGetOperandNumber(use), ids[d]);
        }
      }
    }
    if (op_is(end, "gpu.barrier")) mlirOperationDestroy(end);
    first = after;
  }
  if (allocas) {
    Builder at = builder_before(reduce, b.location);
    build_op(&at, "llvm.intr.stackrestore", 1, &saved, 0, NULL, 0, NULL);
  }
  mlirOperationDestroy(launch);
  return 1;
}

static void host_run(MlirOperation module, MlirExternalPass pass, void *options) {
  int reverse = *(const int *)options;
  static const char *const launch[] = {"gpu.launch", NULL};
  size_t n;
  MlirOperation *launches = ops_named(module, launch, &n);
  for (size_t i = 0; i < n; i++)
    if (!lower_launch(launches[i], reverse)) {
      mlirExternalPassSignalFailure(pass);
      break;
    }
  free(launches);
}

MlirPass perft_create_gpu_host_pass(int reverse) {
  return perft_module_pass("PerftGpuHost", "perft-gpu-host",
                           "gpu.launch bodies as CPU loops over blocks and threads, barriers respected (tests)",
                           host_run, &reverse, sizeof reverse);
}
