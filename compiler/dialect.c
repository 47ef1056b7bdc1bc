/* dialect.c — the `perft` dialect, defined in IRDL and loaded at start-up.
 *
 * The dialect holds what upstream MLIR lacks: routing (top_k, dispatch,
 * grouped_matmul, combine), the losses, the activations we differentiate,
 * and the backward op of each. Dense products and elementwise arithmetic
 * are upstream linalg ops. Operand and result types are checked by the
 * front end and by the passes; IRDL fixes the arity.
 *
 * Ops and their shapes (T tokens, E experts, k per token, R = T*k rows):
 *   scale(x) {factor}                 x * factor
 *   silu(x), silu_grad(x, dy)
 *   softmax(x), softmax_grad(y, dy)   along the last axis
 *   top_k(p[T,E]) {k, renormalize}    -> w[T,k], idx[T,k] i32
 *   top_k_grad(p, idx, w, dw) {renormalize} -> dp[T,E]
 *   dispatch(x[T,D], idx[T,k]) {num_experts} -> rows[R,D], perm[R] i32, offsets[E+1] i32
 *   dispatch_grad(drows[R,D], perm)   -> dx[T,D]
 *   grouped_matmul(rows[R,K], bank, offsets) {transpose_w} -> [R,N]
 *        bank[E,N,K] when transpose_w (rows @ bank[e]^T), else bank[E,K,N]
 *   grouped_matmul_grad_weight(dy[R,N], rows[R,K], offsets) {transpose_w} -> dbank
 *   combine(rows[R,D], perm, w[T,k])  -> y[T,D]
 *   combine_grad_rows(dy[T,D], perm, w) -> drows[R,D]
 *   combine_grad_weights(dy[T,D], rows[R,D], perm) -> dw[T,k]
 *   load_balance(p[T,E], idx) {num_experts} -> scalar;  load_balance_grad(idx, dl) -> dp[T,E]
 *   mse(y, target) -> scalar;  mse_grad(y, target, dl) -> dy
 *   rmsnorm(x[T,D], w[D]) {eps};  rmsnorm_grad_input(x, w, dy) -> dx;  rmsnorm_grad_weight(x, dy) -> dw
 *   embedding(table[V,D], ids[T] i32) -> [T,D];  embedding_grad(ids, dy) -> dtable[V,D]
 *   cross_entropy(logits[T,V], labels[T] i32) -> scalar;  cross_entropy_grad(logits, labels, dl)
 *   dropout(x, seed[1] i32) {p};  dropout_grad(dy, seed) {p}   (seed 0: identity)
 */
#include "dialect.h"

#include "diagnostics.h"
#include "ir_builder.h"

#include <mlir-c/Diagnostics.h>
#include <mlir-c/Dialect/IRDL.h>
#include <mlir-c/RegisterEverything.h>
#include <stdio.h>
#include <string.h>

/* Every operand and result gets its own `irdl.any`: one shared constraint
 * variable would force all of them to the same type. */
#define ANY(i) "    %" #i " = irdl.any\n"
#define OP(name, operands, results)                                                          \
  "  irdl.operation @" name " {\n" ANY(a) ANY(b) ANY(c) ANY(d) ANY(r) ANY(s) ANY(t)        \
  "    irdl.operands(" operands ")\n    irdl.results(" results ")\n  }\n"
#define A1 "%a"
#define A2 "%a, %b"
#define A3 "%a, %b, %c"
#define A4 "%a, %b, %c, %d"
#define R1 "%r"
#define R2 "%r, %s"
#define R3 "%r, %s, %t"

const char perft_dialect_irdl[] =
    "irdl.dialect @perft {\n"
    OP("scale", A1, R1) OP("silu", A1, R1) OP("silu_grad", A2, R1)
    OP("softmax", A1, R1) OP("softmax_grad", A2, R1)
    OP("top_k", A1, R2) OP("top_k_grad", A4, R1)
    OP("dispatch", A2, R3) OP("dispatch_grad", A2, R1)
    OP("grouped_matmul", A3, R1) OP("grouped_matmul_grad_weight", A3, R1)
    OP("combine", A3, R1) OP("combine_grad_rows", A3, R1) OP("combine_grad_weights", A3, R1)
    OP("load_balance", A2, R1) OP("load_balance_grad", A2, R1)
    OP("mse", A2, R1) OP("mse_grad", A3, R1)
    OP("rmsnorm", A2, R1) OP("rmsnorm_grad_input", A3, R1) OP("rmsnorm_grad_weight", A2, R1)
    OP("embedding", A2, R1) OP("embedding_grad", A2, R1)
    OP("cross_entropy", A2, R1) OP("cross_entropy_grad", A3, R1)
    OP("dropout", A2, R1) OP("dropout_grad", A2, R1)
    "}\n";

static void append_string(MlirStringRef s, void *buffer) {
  size_t used = strlen(buffer), room = 511 - used;
  size_t n = s.length < room ? s.length : room;
  memcpy((char *)buffer + used, s.data, n);
  ((char *)buffer)[used + n] = 0;
}

static void print_string(MlirStringRef s, void *stream) { fwrite(s.data, 1, s.length, stream); }

/* MLIR diagnostics in the same form as the front end's: `file:line:col: error: message`,
 * then the source line and a caret when the location is a file position. */
static MlirLogicalResult print_diagnostic(MlirDiagnostic diagnostic, void *user_data) {
  static const char *severity[] = {"error", "warning", "note", "remark"};
  MlirDiagnosticSeverity level = mlirDiagnosticGetSeverity(diagnostic);
  char location[512] = "";
  mlirLocationPrint(mlirDiagnosticGetLocation(diagnostic), append_string, location);
  char file[400];
  int line = 0, column = 0;
  /* A FileLineColLoc prints as loc("path":line:col). */
  if (sscanf(location, "loc(\"%399[^\"]\":%d:%d)", file, &line, &column) == 3)
    fprintf(stderr, "%s:%d:%d: ", file, line, column);
  else
    fprintf(stderr, "perftc: ");
  fprintf(stderr, "%s: ", severity[level <= MlirDiagnosticRemark ? level : 0]);
  mlirDiagnosticPrint(diagnostic, print_string, stderr);
  fputc('\n', stderr);
  if (line > 0) diag_quote_source_line(stderr, file, line, column);
  return mlirLogicalResultSuccess();
}

MlirContext perft_context_create(void) {
  MlirDialectRegistry registry = mlirDialectRegistryCreate();
  mlirRegisterAllDialects(registry);
  MlirContext context = mlirContextCreateWithRegistry(registry, false);
  mlirDialectRegistryDestroy(registry);
  mlirContextLoadAllAvailableDialects(context);
  mlirRegisterAllLLVMTranslations(context);
  mlirRegisterAllPasses();
  mlirContextAttachDiagnosticHandler(context, print_diagnostic, NULL, NULL);

  MlirModule definition = mlirModuleCreateParse(context, str(perft_dialect_irdl));
  IR_CHECK(!mlirModuleIsNull(definition), "parse the perft IRDL definition");
  IR_CHECK(mlirLogicalResultIsSuccess(mlirLoadIRDLDialects(definition)), "load the perft dialect");
  mlirModuleDestroy(definition);
  return context;
}
