/* report.c — see report.h.
 *
 * FLOPs count GEMMs only, as PERFORMANCE.md does, from each op's table entry
 * (op_table.c): a matmul C[M,N] = A·B over K is 2·M·N·K; a grouped matmul over R
 * dispatched rows is 2·R·N·K (each row meets one expert). Backward = @train_step −
 * @forward. Per token = / tokens.
 */
#include "report.h"

#include "ir_builder.h"
#include "op_table.h"
#include "passes.h"

#include <string.h>

static double function_flops(MlirOperation func) {
  double total = 0;
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op);
       op = mlirOperationGetNextInBlock(op)) {
    const OpInfo *info = op_info_of(op);
    if (info && info->flops) total += info->flops(op);
  }
  return total;
}


/* `digits` ("-1234567") into `buffer` with a comma every three digits ("-1,234,567"). */
static const char *group_digits(const char *digits, char *buffer) {
  size_t n = strlen(digits), j = 0;
  for (size_t i = 0; i < n; i++) {
    buffer[j++] = digits[i];
    if (i + 1 < n && digits[i] != '-' && (n - i - 1) % 3 == 0) buffer[j++] = ',';
  }
  buffer[j] = 0;
  return buffer;
}

/* "1,234,567"; a magnitude of 10^18 or more (a FLOP count as a double) in scientific notation. */
static const char *with_commas(double v, char *buffer) {
  char digits[32];
  if (!(v > -1e18 && v < 1e18)) {
    snprintf(buffer, NUMBER_TEXT, "%.6g", v);
    return buffer;
  }
  snprintf(digits, sizeof digits, "%.0f", v);
  return group_digits(digits, buffer);
}

const char *count_text(int64_t count, int overflow, char *buffer) {
  char digits[32];
  if (overflow) {
    snprintf(buffer, NUMBER_TEXT, "more than 9,223,372,036,854,775,807");
    return buffer;
  }
  snprintf(digits, sizeof digits, "%lld", (long long)count);
  return group_digits(digits, buffer);
}

/* The elements of a ranked tensor in *elements: 0 on an overflow (or a dynamic size). */
static int tensor_elements(MlirType type, int64_t *elements) {
  int64_t n = 1;
  for (intptr_t i = 0; i < mlirShapedTypeGetRank(type); i++) {
    int64_t size = mlirShapedTypeGetDimSize(type, i);
    if (size < 0 || __builtin_mul_overflow(n, size, &n)) return 0;
  }
  *elements = n;
  return 1;
}

static int kind_index(const KernelCounts *c, MlirStringRef name) {
  for (int j = 0; j < c->kinds; j++)
    if (c->names[j].length == name.length && !memcmp(c->names[j].data, name.data, name.length)) return j;
  return -1;
}

/* Adds the bytes of `type` (0 for anything but a ranked tensor) to *total; 0 on an overflow. */
static int add_tensor_bytes(MlirType type, int64_t *total) {
  if (!mlirTypeIsARankedTensor(type)) return 1;
  int64_t elements, bytes;
  return tensor_elements(type, &elements) &&
         !__builtin_mul_overflow(elements, mlirTypeIsAF64(mlirShapedTypeGetElementType(type)) ? 8 : 4, &bytes) &&
         !__builtin_add_overflow(*total, bytes, total);
}

void report_count_kernels(MlirModule module, KernelCounts *c) {
  *c = (KernelCounts){0};
  MlirOperation step = perft_find_function(mlirModuleGetOperation(module), "train_step");
  if (mlirOperationIsNull(step)) return;
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(step, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
    if (op_is(op, "tensor.empty") || op_is(op, "arith.constant") || op_is(op, "func.return")) continue;
    MlirStringRef name = mlirIdentifierStr(mlirOperationGetName(op));
    int j = kind_index(c, name);
    if (j < 0 && c->kinds < REPORT_MAX_KINDS) {
      j = c->kinds++;
      c->names[j] = name; /* identifiers live as long as the context */
      c->counts[j] = 0;
    }
    if (j >= 0) c->counts[j]++;
    c->total++;
    for (intptr_t r = 0; r < mlirOperationGetNumResults(op) && !c->bytes_overflow; r++)
      if (!add_tensor_bytes(mlirValueGetType(mlirOperationGetResult(op, r)), &c->bytes)) c->bytes_overflow = 1;
  }
}

/* The parameters of @forward, in elements: base (not made by a strategy) or adapter, frozen or
 * trainable, and the sums the report prints. */
typedef struct {
  int64_t base_frozen, base_trainable, adapter_frozen, adapter_trainable;
  int64_t base, adapters, trainable;
} ParameterCounts;

/* Adds each param argument of `forward` to *counts; 0 after an error (stderr) on an overflow. */
static int count_parameters(MlirOperation forward, ParameterCounts *counts) {
  *counts = (ParameterCounts){0};
  MlirAttribute args = mlirOperationGetAttributeByName(forward, str("arg_attrs"));
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(forward, 0));
  for (intptr_t i = 0; i < mlirBlockGetNumArguments(body); i++) {
    MlirAttribute d = mlirArrayAttrGetElement(args, i);
    MlirAttribute name = mlirDictionaryAttrGetElementByName(d, str("perft.param"));
    if (mlirAttributeIsNull(name)) continue;
    MlirAttribute t = mlirDictionaryAttrGetElementByName(d, str("perft.trainable"));
    int trainable = !mlirAttributeIsNull(t) && mlirBoolAttrGetValue(t);
    int adapter = !mlirAttributeIsNull(mlirDictionaryAttrGetElementByName(d, str("perft.adapter")));
    int64_t *sum = adapter ? (trainable ? &counts->adapter_trainable : &counts->adapter_frozen)
                           : (trainable ? &counts->base_trainable : &counts->base_frozen);
    int64_t n;
    if (!tensor_elements(mlirValueGetType(mlirBlockGetArgument(body, i)), &n) || __builtin_add_overflow(*sum, n, sum)) {
      MlirStringRef text = mlirStringAttrGetValue(name);
      fprintf(stderr, "perftc: error: --report: the parameter count passes 2^63 - 1 at '%.*s'\n", (int)text.length,
              text.data);
      return 0;
    }
  }
  if (__builtin_add_overflow(counts->base_frozen, counts->base_trainable, &counts->base) |
      __builtin_add_overflow(counts->base_trainable, counts->adapter_trainable, &counts->trainable) |
      __builtin_add_overflow(counts->adapter_frozen, counts->adapter_trainable, &counts->adapters)) {
    fprintf(stderr, "perftc: error: --report: the parameter count passes 2^63 - 1\n");
    return 0;
  }
  return 1;
}

/* parameters: base model, adapters, trainable */
static void print_parameters(const ParameterCounts *p, FILE *out) {
  char a[NUMBER_TEXT], b[NUMBER_TEXT], c[NUMBER_TEXT];
  fprintf(out, "parameters\n");
  fprintf(out, "  base model        %s (frozen %s, trainable %s)\n", count_text(p->base, 0, a),
          count_text(p->base_frozen, 0, b), count_text(p->base_trainable, 0, c));
  fprintf(out, "  adapters          %s\n", count_text(p->adapters, 0, a));
  fprintf(out, "  trainable         %s (%.4f%% of the base)\n", count_text(p->trainable, 0, a),
          p->base > 0 ? 100.0 * (double)p->trainable / (double)p->base : 0.0);
}

static void print_flops(MlirOperation module_op, MlirOperation forward, MlirOperation step, FILE *out) {
  MlirAttribute tokens_attr = mlirOperationGetAttributeByName(module_op, str("perft.tokens"));
  double tokens = mlirAttributeIsNull(tokens_attr) ? 1.0 : (double)mlirIntegerAttrGetValueInt(tokens_attr);
  double forward_flops = function_flops(forward), backward_flops = function_flops(step) - forward_flops;
  char a[NUMBER_TEXT];
  fprintf(out, "GEMM FLOPs per token (%.0f tokens per step)\n", tokens);
  fprintf(out, "  forward           %s\n", with_commas(forward_flops / tokens, a));
  fprintf(out, "  backward          %s\n", with_commas(backward_flops / tokens, a));
}

static void print_bytes(const KernelCounts *before, const KernelCounts *after, FILE *out) {
  char a[NUMBER_TEXT], b[NUMBER_TEXT], c[NUMBER_TEXT];
  int64_t saved = 0;
  int unknown = before->bytes_overflow || after->bytes_overflow ||
                __builtin_sub_overflow(before->bytes, after->bytes, &saved);
  fprintf(out, "intermediates written per step: %s bytes before fusion, %s after (%s saved)\n",
          count_text(before->bytes, before->bytes_overflow, a), count_text(after->bytes, after->bytes_overflow, b),
          unknown ? "unknown" : count_text(saved, 0, c));
}

int report_print(MlirModule module, const char *title, const KernelCounts *before, FILE *out) {
  MlirOperation module_op = mlirModuleGetOperation(module);
  MlirOperation forward = perft_find_function(module_op, "forward");
  MlirOperation step = perft_find_function(module_op, "train_step");
  ParameterCounts parameters;
  if (mlirOperationIsNull(forward) || mlirOperationIsNull(step) || !count_parameters(forward, &parameters)) return 0;
  fprintf(out, "perft report: %s\n", title);
  print_parameters(&parameters, out);
  print_flops(module_op, forward, step, out);
  KernelCounts after;
  report_count_kernels(module, &after);
  char a[NUMBER_TEXT], b[NUMBER_TEXT];
  fprintf(out, "kernels of @train_step (one per op): %s before fusion, %s after\n", count_text(before->total, 0, a),
          count_text(after.total, 0, b));
  print_bytes(before, &after, out);
  fprintf(out, "  %-34s %7s %7s\n", "op", "before", "after");
  KernelCounts all = *before; /* every kind, in the order it first appears before fusion, then after */
  for (int j = 0; j < after.kinds; j++)
    if (kind_index(&all, after.names[j]) < 0 && all.kinds < REPORT_MAX_KINDS) {
      all.names[all.kinds] = after.names[j];
      all.counts[all.kinds++] = 0;
    }
  for (int j = 0; j < all.kinds; j++) {
    int i = kind_index(before, all.names[j]), k = kind_index(&after, all.names[j]);
    fprintf(out, "  %-34.*s %7s %7s\n", (int)all.names[j].length, all.names[j].data,
            i < 0 ? "-" : (snprintf(a, sizeof a, "x%d", before->counts[i]), a),
            k < 0 ? "-" : (snprintf(b, sizeof b, "x%d", after.counts[k]), b));
  }
  return 1;
}
