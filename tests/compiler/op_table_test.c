/* op_table_test.c — the op table's start-up check, and what is derived from the table.
 *
 * 1. The real table passes op_table_check.
 * 2. A copy with one rule, one kernel or one reason knocked out fails it, with a message
 *    naming the op and the stage (what perftc prints when it starts with such a table).
 * 3. The IRDL text derived from the table defines every perft op in both dialects.
 * 4. op_info_of finds the entry of an op in the tensor form and in the buffer form.
 * Ends with one verdict line.
 */
#include "dialect.h"
#include "op_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void expect(int ok, const char *what) {
  printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
  failures += !ok;
}

/* Runs op_table_check on `table`; returns its verdict and what it printed in `message`. */
static int check(const OpInfo *table, char *message, size_t size) {
  FILE *err = tmpfile();
  int ok = op_table_check(table, OP_COUNT, err);
  rewind(err);
  size_t n = fread(message, 1, size - 1, err);
  message[n] = 0;
  fclose(err);
  return ok;
}

int main(void) {
  static OpInfo copy[OP_COUNT];
  char message[1024];

  expect(check(op_table, message, sizeof message) && message[0] == 0, "the real table passes the start-up check");

  memcpy(copy, op_table, sizeof copy);
  copy[OP_RMSNORM].backward = NULL;
  expect(!check(copy, message, sizeof message) &&
             strstr(message, "'perft.rmsnorm' has no backward rule and does not say why"),
         "a differentiable op without its rule is refused, naming it");

  memcpy(copy, op_table, sizeof copy);
  copy[OP_SOFTMAX].kernel[TARGET_CPU] = NULL;
  expect(!check(copy, message, sizeof message) &&
             strstr(message, "'perft.softmax' has no kernel for the cpu target"),
         "an op without a kernel for a target is refused, naming both");

  memcpy(copy, op_table, sizeof copy);
  copy[OP_SILU_GRAD].no_backward = NULL;
  expect(!check(copy, message, sizeof message) && strstr(message, "'perft.silu_grad'"),
         "a gradient op must say why it has no rule");

  memcpy(copy, op_table, sizeof copy);
  memset(&copy[OP_DROPOUT], 0, sizeof copy[OP_DROPOUT]);
  expect(!check(copy, message, sizeof message) && strstr(message, "op number"),
         "an id without an entry is refused");

  char *irdl = op_table_irdl();
  int all = 1;
  for (int i = 0; i < OP_COUNT; i++) {
    if (op_table[i].upstream) continue;
    char line[128];
    snprintf(line, sizeof line, "irdl.operation @%s {", strchr(op_table[i].name, '.') + 1);
    const char *first = strstr(irdl, line);
    all &= first != NULL && strstr(first + 1, line) != NULL; /* once per dialect */
  }
  expect(all && strstr(irdl, "irdl.dialect @perft_buffer {"), "IRDL defines every perft op in both dialects");
  free(irdl);

  MlirContext context = perft_context_create();
  MlirModule module = mlirModuleCreateParse(
      context, mlirStringRefCreateFromCString(
                   "func.func @f(%x: tensor<4x3xf32>, %m: memref<4x3xf32>, %n: memref<4x3xf32>) -> tensor<4x3xf32> {\n"
                   "  %y = \"perft.softmax\"(%x) : (tensor<4x3xf32>) -> tensor<4x3xf32>\n"
                   "  \"perft_buffer.softmax\"(%m, %n) : (memref<4x3xf32>, memref<4x3xf32>) -> ()\n"
                   "  return %y : tensor<4x3xf32>\n}\n"));
  expect(!mlirModuleIsNull(module), "both forms parse and verify with the loaded dialects");
  if (!mlirModuleIsNull(module)) {
    MlirOperation func = mlirBlockGetFirstOperation(mlirModuleGetBody(module));
    MlirOperation tensor_form = mlirBlockGetFirstOperation(mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0)));
    MlirOperation buffer_form = mlirOperationGetNextInBlock(tensor_form);
    const OpInfo *a = op_info_of(tensor_form), *b = op_info_of(buffer_form);
    expect(a == &op_table[OP_SOFTMAX] && b == a && !op_is_buffer_form(tensor_form, a) && op_is_buffer_form(buffer_form, b),
           "op_info_of finds perft.softmax in both forms");
    mlirModuleDestroy(module);
  }
  mlirContextDestroy(context);

  printf("op table: %s (%d failure%s)\n", failures ? "FAIL" : "PASS", failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
