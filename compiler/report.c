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

static const char *with_commas(double v, char *buffer) {
  char digits[64];
  snprintf(digits, sizeof digits, "%.0f", v);
  size_t n = strlen(digits), j = 0;
  for (size_t i = 0; i < n; i++) {
    buffer[j++] = digits[i];
    if (i + 1 < n && (n - i - 1) % 3 == 0) buffer[j++] = ',';
  }
  buffer[j] = 0;
  return buffer;
}

static int kind_index(const KernelCounts *c, MlirStringRef name) {
  for (int j = 0; j < c->kinds; j++)
    if (c->names[j].length == name.length && !memcmp(c->names[j].data, name.data, name.length)) return j;
  return -1;
}

static double tensor_bytes(MlirType type) {
  if (!mlirTypeIsARankedTensor(type)) return 0;
  return (double)shaped_num_elements(type) * (mlirTypeIsAF64(mlirShapedTypeGetElementType(type)) ? 8.0 : 4.0);
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
    for (intptr_t r = 0; r < mlirOperationGetNumResults(op); r++)
      c->bytes += tensor_bytes(mlirValueGetType(mlirOperationGetResult(op, r)));
  }
}

int report_print(MlirModule module, const char *title, const KernelCounts *before, FILE *out) {
  MlirOperation module_op = mlirModuleGetOperation(module);
  MlirOperation forward = perft_find_function(module_op, "forward");
  MlirOperation step = perft_find_function(module_op, "train_step");
  if (mlirOperationIsNull(forward) || mlirOperationIsNull(step)) return 0;

  double base_frozen = 0, base_trainable = 0, adapter_frozen = 0, adapter_trainable = 0;
  MlirAttribute args = mlirOperationGetAttributeByName(forward, str("arg_attrs"));
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(forward, 0));
  for (intptr_t i = 0; i < mlirBlockGetNumArguments(body); i++) {
    MlirAttribute d = mlirArrayAttrGetElement(args, i);
    if (mlirAttributeIsNull(mlirDictionaryAttrGetElementByName(d, str("perft.param")))) continue;
    double n = (double)shaped_num_elements(mlirValueGetType(mlirBlockGetArgument(body, i)));
    MlirAttribute t = mlirDictionaryAttrGetElementByName(d, str("perft.trainable"));
    int trainable = !mlirAttributeIsNull(t) && mlirBoolAttrGetValue(t);
    int adapter = !mlirAttributeIsNull(mlirDictionaryAttrGetElementByName(d, str("perft.adapter")));
    *(adapter ? (trainable ? &adapter_trainable : &adapter_frozen) : (trainable ? &base_trainable : &base_frozen)) += n;
  }
  double base = base_frozen + base_trainable, trainable = base_trainable + adapter_trainable;
  MlirAttribute tokens_attr = mlirOperationGetAttributeByName(module_op, str("perft.tokens"));
  double tokens = mlirAttributeIsNull(tokens_attr) ? 1.0 : (double)mlirIntegerAttrGetValueInt(tokens_attr);
  double forward_flops = function_flops(forward), backward_flops = function_flops(step) - forward_flops;

  char a[64], b[64], c[64];
  fprintf(out, "perft report: %s\n", title);
  fprintf(out, "parameters\n");
  fprintf(out, "  base model        %s (frozen %s, trainable %s)\n", with_commas(base, a), with_commas(base_frozen, b),
          with_commas(base_trainable, c));
  fprintf(out, "  adapters          %s\n", with_commas(adapter_frozen + adapter_trainable, a));
  fprintf(out, "  trainable         %s (%.4f%% of the base)\n", with_commas(trainable, a),
          base > 0 ? 100.0 * trainable / base : 0.0);
  fprintf(out, "GEMM FLOPs per token (%.0f tokens per step)\n", tokens);
  fprintf(out, "  forward           %s\n", with_commas(forward_flops / tokens, a));
  fprintf(out, "  backward          %s\n", with_commas(backward_flops / tokens, a));
  KernelCounts after;
  report_count_kernels(module, &after);
  fprintf(out, "kernels of @train_step (one per op): %s before fusion, %s after\n", with_commas(before->total, a),
          with_commas(after.total, b));
  fprintf(out, "intermediates written per step: %s bytes before fusion, %s after (%s saved)\n",
          with_commas(before->bytes, a), with_commas(after.bytes, b), with_commas(before->bytes - after.bytes, c));
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
