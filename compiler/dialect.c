/* dialect.c — the `perft` and `perft_buffer` dialects, defined in IRDL from the op table
 * (passes/op_table.c) and loaded when a context is created; MLIR diagnostics in perft's form.
 *
 * `perft` holds the ops on tensors that upstream MLIR lacks: routing (top_k, dispatch,
 * grouped_matmul, combine), the losses, the activations we differentiate, and the backward
 * op of each. `perft_buffer` holds the same ops in destination-passing style on memrefs,
 * as perft-bufferize writes them. Dense products and elementwise arithmetic are upstream
 * linalg ops. The ops, their operands and shapes are listed once, in op_table.c.
 */
#include "dialect.h"

#include "diagnostics.h"
#include "ir_builder.h"
#include "op_table.h"

#include <mlir-c/Diagnostics.h>
#include <mlir-c/Dialect/IRDL.h>
#include <mlir-c/RegisterEverything.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void append_string(MlirStringRef s, void *buffer) {
  size_t used = strlen(buffer), room = 511 - used;
  size_t n = s.length < room ? s.length : room;
  memcpy((char *)buffer + used, s.data, n);
  ((char *)buffer)[used + n] = 0;
}

static void print_string(MlirStringRef s, void *stream) { fwrite(s.data, 1, s.length, stream); }

/* IRDL's messages do not name the op; its "see current operation" note does. Writes
 * "'perft.softmax' op " into `prefix` when the message lacks such a prefix. */
static void op_prefix(MlirDiagnostic diagnostic, char *prefix, size_t size) {
  prefix[0] = 0;
  char message[512] = ""; /* append_string fills 512-byte buffers */
  mlirDiagnosticPrint(diagnostic, append_string, message);
  if (message[0] == '\'') return; /* already "'name' op ..." */
  for (intptr_t i = 0; i < mlirDiagnosticGetNumNotes(diagnostic); i++) {
    char note[512] = "";
    mlirDiagnosticPrint(mlirDiagnosticGetNote(diagnostic, i), append_string, note);
    const char *quote = strstr(note, "see current operation:") ? strchr(note, '"') : NULL;
    const char *end = quote ? strchr(quote + 1, '"') : NULL;
    if (end) snprintf(prefix, size, "'%.*s' op ", (int)(end - quote - 1), quote + 1);
    if (end) return;
  }
}

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
  char prefix[160];
  op_prefix(diagnostic, prefix, sizeof prefix);
  fprintf(stderr, "%s: %s", severity[level <= MlirDiagnosticRemark ? level : 0], prefix);
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

  if (!op_table_check(op_table, OP_COUNT, stderr)) exit(70);
  char *irdl = op_table_irdl();
  MlirModule definition = mlirModuleCreateParse(context, str(irdl));
  free(irdl);
  IR_CHECK(!mlirModuleIsNull(definition), "parse the perft IRDL definition");
  IR_CHECK(mlirLogicalResultIsSuccess(mlirLoadIRDLDialects(definition)), "load the perft dialect");
  mlirModuleDestroy(definition);
  return context;
}
