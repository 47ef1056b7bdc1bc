/* emit_optimizer.c — the perft-emit-optimizer pass: AdamW and the gradient norm as generated
 * kernels (GPU targets), so the optimizer runs where the gradients are.
 *
 * Before (perft-emit-kernels' output): @train_step's gradient results, in argument order:
 *   func.func @train_step(..., %dA: memref<4x8x96xf32> {perft.result = "grad ad.A"},
 *                              %dB: memref<4x96x8xf32> {perft.result = "grad ad.B"}, ...)
 * After: two more entry points (codegen wraps them as perft_grad_norm and perft_adamw, docs/ABI.md),
 * each calling one kernel function per distinct gradient size:
 *   func.func @grad_norm(%g0: memref<3072xf32>, %g1: memref<3072xf32>,
 *                        %s0: memref<256xf64>, %s1: memref<256xf64>, %scratch: memref<0xf64>) {
 *     call @perft_grad_norm_3072(%g0, %s0, %scratch)  (lane l of 256: Σ over i ≡ l mod 256 of (double) g[i]²
 *     call @perft_grad_norm_3072(%g1, %s1, %scratch)   in each chunk, the chunks in order: optimizer.h)
 *   }
 *   func.func @adamw(%p0, %g0, %m0, %v0, %p1, %g1, %m1, %v1 : memref<3072xf32>..., %c: memref<10xf32>) {
 *     call @perft_adamw_3072(%p0, %g0, %m0, %v0, %c)   (a thread an element)
 *     call @perft_adamw_3072(%p1, %g1, %m1, %v1, %c)
 *   }
 * Each tensor is flat (the ABI passes bare pointers). The runtime adds the partial sums of squares
 * in order on the host and takes the square root (the clipping factor needs it before the update),
 * then fills %c with the step's constants (runtime/optimizer.h's AdamwConstants, read here field by field)
 * and calls @adamw. The kernels compute exactly what runtime/optimizer.c's adamw_update computes,
 * in its order, each operation rounded as written (strict: no reassociation, no contraction), so
 * cuda-host's optimizer gives the CPU target's numbers bit for bit; the gradient norm's partial
 * sums change only the order of a double sum.
 * The pass also sets the module attributes perft.optimizer_lanes (256) and perft.optimizer_scratch
 * (the doubles of the norm's scratch: 256 for each chunk of the gradient with the most, 0 when every
 * gradient is one chunk), which perft-manifest writes as the record `optimizer device 256 SCRATCH`:
 * the runtime then uses these entry points. An f64
 * program (perftc --dtype=f64: objects for gradient checks, which no executable trains) gets none.
 */
#include "passes.h"
#include "external_pass.h"
#include "loop_builder.h"
#include "../runtime/optimizer.h" /* AdamwConstants: the order the kernels read the constants in */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* each field's index among the floats of runtime/optimizer.h's AdamwConstants */
#define ADAMW(field) ((int)(offsetof(AdamwConstants, field) / sizeof(float)))

typedef struct {
  MlirContext context;
  MlirOperation before; /* new functions go in before it */
  int64_t *sizes;       /* the sizes that have kernel functions */
  int num_sizes;
  int64_t scratch;      /* the norm's scratch: doubles, for the gradient with the most chunks */
} Emitter;

static Kernel kernel_at(MlirContext context, MlirOperation terminator) {
  return (Kernel){.b = {.context = context, .block = mlirOperationGetBlock(terminator), .anchor = terminator,
                        .location = mlirLocationUnknownGet(context)},
                  .index = mlirIndexTypeGet(context), .f = mlirF32TypeGet(context),
                  .i32 = mlirIntegerTypeGet(context, 32), .i1 = mlirIntegerTypeGet(context, 1),
                  .strict = 1, .gpu = 1};
}

static MlirType flat(MlirContext context, int64_t n, MlirType element) {
  return mlirMemRefTypeContiguousGet(element, 1, &n, mlirAttributeGetNull());
}

/* @perft_grad_norm_N(g: memref<N>, partial: memref<LANES x f64>, scratch: memref<S x f64>):
 * runtime/optimizer.h's partial sums (global_grad_norm squares each element so): a block a chunk
 * of g, each of its LANES threads summing every LANES-th (double) g[i]² of the chunk; with one
 * chunk straight into partial, else into scratch[c · LANES + lane], then a thread a lane adds its
 * chunks' sums in order (one thread a lane over all of a large gradient would be a few hundred
 * threads walking it) */
static void emit_grad_norm(Emitter *e, int64_t n) {
  MlirType f64 = mlirF64TypeGet(e->context);
  MlirType types[3] = {flat(e->context, n, mlirF32TypeGet(e->context)), flat(e->context, NORM_LANES, f64),
                       flat(e->context, e->scratch, f64)};
  char name[64];
  snprintf(name, sizeof name, "perft_grad_norm_%lld", (long long)n);
  MlirOperation terminator, function = build_function(e->before, name, 3, types, 1, mlirLocationUnknownGet(e->context),
                                                      &terminator);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(function, 0));
  MlirValue g = mlirBlockGetArgument(body, 0), partial = mlirBlockGetArgument(body, 1), scratch = mlirBlockGetArgument(body, 2);
  Kernel kernel = kernel_at(e->context, terminator), *k = &kernel;
  int64_t chunks = norm_chunks(n), chunk = norm_chunk(n);
  MlirValue zero = build_float_constant(&k->b, f64, 0.0);
  Loop c = parallel_begin(k, index_const(k, 0), index_const(k, chunks), 1);
  Loop lane = parallel_begin(k, index_const(k, 0), index_const(k, NORM_LANES), 1);
  MlirValue first = arith(k, "arith.muli", c.iv, index_const(k, chunk));
  MlirValue end = arith(k, "arith.minsi", arith(k, "arith.addi", first, index_const(k, chunk)), index_const(k, n));
  Loop i = loop_begin_carrying(k, arith(k, "arith.addi", first, lane.iv), end, NORM_LANES, 1, &zero);
  MlirValue x = load(k, g, 1, &i.iv);
  MlirValue wide = build_value(&k->b, "arith.extf", 1, &x, f64, 0, NULL);
  MlirValue next = arith(k, "arith.addf", i.acc, arith(k, "arith.mulf", wide, wide)), sum;
  loop_end_carrying(k, &i, &next, &sum);
  if (chunks == 1) {
    store(k, sum, partial, 1, &lane.iv);
  } else {
    MlirValue at = arith(k, "arith.addi", arith(k, "arith.muli", c.iv, index_const(k, NORM_LANES)), lane.iv);
    store(k, sum, scratch, 1, &at);
  }
  parallel_end(k, &lane);
  parallel_end(k, &c);
  if (chunks == 1) return;
  Loop lane2 = parallel_begin(k, index_const(k, 0), index_const(k, NORM_LANES), 1);
  Loop over = loop_begin(k, index_const(k, 0), index_const(k, chunks), zero);
  MlirValue at = arith(k, "arith.addi", arith(k, "arith.muli", over.iv, index_const(k, NORM_LANES)), lane2.iv);
  MlirValue total = loop_end(k, &over, arith(k, "arith.addf", over.acc, load(k, scratch, 1, &at)));
  store(k, total, partial, 1, &lane2.iv);
  parallel_end(k, &lane2);
}

/* @perft_adamw_N(p, g, m, v: memref<N>, c: memref<ADAMW_CONSTANTS>): runtime/optimizer.c's
 * adamw_update, a thread an element:
 *   g' = g·scale;  m = β1·m + (1−β1)·g';  v = β2·v + ((1−β2)·g')·g'
 *   p = p·decay − (lr·(m / bias1)) / (√(v / bias2) + ε) */
static void emit_adamw(Emitter *e, int64_t n) {
  MlirType f32 = mlirF32TypeGet(e->context), tensor = flat(e->context, n, f32);
  MlirType types[5] = {tensor, tensor, tensor, tensor, flat(e->context, ADAMW_CONSTANTS, f32)};
  char name[64];
  snprintf(name, sizeof name, "perft_adamw_%lld", (long long)n);
  MlirOperation terminator, function = build_function(e->before, name, 5, types, 1, mlirLocationUnknownGet(e->context),
                                                      &terminator);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(function, 0));
  MlirValue p = mlirBlockGetArgument(body, 0), g = mlirBlockGetArgument(body, 1), m = mlirBlockGetArgument(body, 2),
            v = mlirBlockGetArgument(body, 3), constants = mlirBlockGetArgument(body, 4);
  Kernel kernel = kernel_at(e->context, terminator), *k = &kernel;
  Loop i = parallel_begin(k, index_const(k, 0), index_const(k, n), 1);
  MlirValue c[ADAMW_CONSTANTS];
  for (int j = 0; j < ADAMW_CONSTANTS; j++) {
    MlirValue at = index_const(k, j);
    c[j] = load(k, constants, 1, &at);
  }
#define MULF(a, b) arith(k, "arith.mulf", a, b)
#define ADDF(a, b) arith(k, "arith.addf", a, b)
#define DIVF(a, b) arith(k, "arith.divf", a, b)
  MlirValue grad = MULF(load(k, g, 1, &i.iv), c[ADAMW(scale)]);
  MlirValue m_new = ADDF(MULF(c[ADAMW(beta1)], load(k, m, 1, &i.iv)), MULF(c[ADAMW(one_minus_beta1)], grad));
  store(k, m_new, m, 1, &i.iv);
  MlirValue v_new = ADDF(MULF(c[ADAMW(beta2)], load(k, v, 1, &i.iv)), MULF(MULF(c[ADAMW(one_minus_beta2)], grad), grad));
  store(k, v_new, v, 1, &i.iv);
  MlirValue m_hat = DIVF(m_new, c[ADAMW(bias1)]), v_hat = DIVF(v_new, c[ADAMW(bias2)]);
  MlirValue step = DIVF(MULF(c[ADAMW(lr)], m_hat), ADDF(unary(k, "math.sqrt", v_hat), c[ADAMW(epsilon)]));
  MlirValue p_new = arith(k, "arith.subf", MULF(load(k, p, 1, &i.iv), c[ADAMW(decay)]), step);
  store(k, p_new, p, 1, &i.iv);
#undef MULF
#undef ADDF
#undef DIVF
  parallel_end(k, &i);
}

/* The kernel functions for gradients of n elements, made once. */
static void kernels_for(Emitter *e, int64_t n) {
  for (int i = 0; i < e->num_sizes; i++)
    if (e->sizes[i] == n) return;
  e->sizes = realloc(e->sizes, (size_t)(e->num_sizes + 1) * sizeof(int64_t));
  IR_CHECK(e->sizes != NULL, "out of memory");
  e->sizes[e->num_sizes++] = n;
  emit_grad_norm(e, n);
  emit_adamw(e, n);
}

/* func.func @name(types) whose body calls `callee_prefix`N(arguments picked by `pick`) per gradient */
static void emit_entry(Emitter *e, const char *name, int num_types, const MlirType *types, int num_grads,
                       const int64_t *sizes, const char *callee_prefix, int per_call, int (*pick)(int g, int j, int G)) {
  MlirOperation terminator, function = build_function(e->before, name, num_types, types, 0,
                                                      mlirLocationUnknownGet(e->context), &terminator);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(function, 0));
  Builder b = {.context = e->context, .block = body, .anchor = terminator, .location = mlirLocationUnknownGet(e->context)};
  for (int g = 0; g < num_grads; g++) {
    MlirValue operands[5];
    for (int j = 0; j < per_call; j++) operands[j] = mlirBlockGetArgument(body, pick(g, j, num_grads));
    char callee[64];
    snprintf(callee, sizeof callee, "%s%lld", callee_prefix, (long long)sizes[g]);
    MlirNamedAttribute attribute = named_attribute(e->context, "callee", mlirFlatSymbolRefAttrGet(e->context, str(callee)));
    build_op(&b, "func.call", per_call, operands, 0, NULL, 1, &attribute);
  }
}

/* @grad_norm(g_0 .. g_{G-1}, partial_0 .. partial_{G-1}, scratch): call g uses g_g, partial_g and
 * the scratch */
static int pick_norm(int g, int j, int G) { return j == 0 ? g : j == 1 ? G + g : 2 * G; }
/* @adamw(p_0, g_0, m_0, v_0, p_1, ..., constants): call g uses its four and the constants */
static int pick_adamw(int g, int j, int G) { return j < 4 ? 4 * g + j : 4 * G; }

static void emit_optimizer_run(MlirOperation module, MlirExternalPass pass, void *options) {
  MlirOperation step = perft_find_function(module, "train_step");
  if (mlirOperationIsNull(step) || !mlirOperationIsNull(perft_find_function(module, "adamw"))) return;
  MlirContext context = mlirOperationGetContext(module);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(step, 0));
  MlirAttribute args = mlirOperationGetAttributeByName(step, str("arg_attrs"));
  if (mlirAttributeIsNull(args)) return;
  intptr_t num_args = mlirBlockGetNumArguments(body);
  int64_t *sizes = calloc((size_t)num_args + 1, sizeof(int64_t));
  IR_CHECK(sizes != NULL, "out of memory");
  int G = 0;
  for (intptr_t i = 0; i < num_args; i++) {
    MlirAttribute result = mlirDictionaryAttrGetElementByName(mlirArrayAttrGetElement(args, i), str("perft.result"));
    if (mlirAttributeIsNull(result) || !mlirAttributeIsAString(result)) continue;
    MlirStringRef text = mlirStringAttrGetValue(result);
    if (text.length < 5 || memcmp(text.data, "grad ", 5)) continue;
    MlirType type = mlirValueGetType(mlirBlockGetArgument(body, i));
    if (!mlirTypeIsAF32(mlirShapedTypeGetElementType(type))) { /* an f64 program: an object for gradient */
      free(sizes);                                              /* checks, never trained (compiler/driver.c) */
      return;
    }
    sizes[G++] = shaped_num_elements(type);
  }
  Emitter e = {.context = context, .before = step};
  for (int g = 0; g < G; g++)
    if (norm_chunks(sizes[g]) > 1 && norm_chunks(sizes[g]) * NORM_LANES > e.scratch) e.scratch = norm_chunks(sizes[g]) * NORM_LANES;
  for (int g = 0; g < G; g++) kernels_for(&e, sizes[g]);

  MlirType f32 = mlirF32TypeGet(context), f64 = mlirF64TypeGet(context);
  MlirType *types = calloc((size_t)(4 * G + 1), sizeof(MlirType));
  IR_CHECK(types != NULL, "out of memory");
  for (int g = 0; g < G; g++) {
    types[g] = flat(context, sizes[g], f32);
    types[G + g] = flat(context, NORM_LANES, f64);
  }
  types[2 * G] = flat(context, e.scratch, f64);
  emit_entry(&e, "grad_norm", 2 * G + 1, types, G, sizes, "perft_grad_norm_", 3, pick_norm);
  for (int g = 0; g < G; g++)
    for (int j = 0; j < 4; j++) types[4 * g + j] = flat(context, sizes[g], f32);
  types[4 * G] = flat(context, ADAMW_CONSTANTS, f32);
  emit_entry(&e, "adamw", 4 * G + 1, types, G, sizes, "perft_adamw_", 5, pick_adamw);
  mlirOperationSetAttributeByName(module, str("perft.optimizer_lanes"),
                                  mlirIntegerAttrGet(mlirIntegerTypeGet(context, 64), NORM_LANES));
  mlirOperationSetAttributeByName(module, str("perft.optimizer_scratch"),
                                  mlirIntegerAttrGet(mlirIntegerTypeGet(context, 64), e.scratch));
  free(types);
  free(sizes);
  free(e.sizes);
}

MlirPass perft_create_emit_optimizer_pass(void) {
  return perft_module_pass("PerftEmitOptimizer", "perft-emit-optimizer",
                           "AdamW and the gradient norm as generated kernels (GPU targets)", emit_optimizer_run, NULL, 0);
}
