/* perft_opt.c — perft-opt, to perft what mlir-opt is to MLIR: run passes on a .mlir file.
 *
 *   perft-opt FILE.mlir -p 'perft-bufferize'                       one perft pass
 *   perft-opt FILE.mlir -p 'builtin.module(perft-bufferize,perft-plan-workspace{reuse=0})'
 *   perft-opt FILE.mlir -p 'perft-emit-kernels,func.func(convert-linalg-to-loops)'   mixed with upstream
 *   perft-opt --list-passes
 *
 * The input is parsed with perft's dialects loaded and checked against the op table
 * (perft-verify) before any pass runs; the result goes to stdout (or -o FILE). Errors
 * read FILE:LINE:COL: error: ..., with the source line and a caret.
 */
#include "dialect.h"
#include "module_io.h"
#include "passes.h"

#include <mlir-c/Pass.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *out) {
  fprintf(out,
          "usage: perft-opt FILE.mlir [-p PIPELINE | --pass-pipeline=PIPELINE] [-o OUT]\n"
          "                 [--print-ir-after-all] [--print-locations] | --list-passes\n"
          "  PIPELINE: comma-separated passes, perft-* and upstream, optionally in builtin.module(...)\n");
}

int main(int argc, char **argv) {
  const char *input = NULL, *output = NULL, *pipeline = NULL;
  int print_after_all = 0, print_locations = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
    else if (!strcmp(a, "--list-passes")) { printf("perft passes (upstream passes run too):\n"); perft_list_passes(stdout); return 0; }
    else if (!strcmp(a, "-p") && i + 1 < argc) pipeline = argv[++i];
    else if (!strncmp(a, "--pass-pipeline=", 16)) pipeline = a + 16;
    else if (!strcmp(a, "-o") && i + 1 < argc) output = argv[++i];
    else if (!strcmp(a, "--print-ir-after-all")) print_after_all = 1;
    else if (!strcmp(a, "--print-locations")) print_locations = 1;
    else if (a[0] == '-' && a[1]) { fprintf(stderr, "perft-opt: error: unknown option '%s'\n", a); usage(stderr); return 2; }
    else if (!input) input = a;
    else { fprintf(stderr, "perft-opt: error: more than one input file ('%s')\n", a); return 2; }
  }
  if (!input) { usage(stderr); return 2; }

  MlirContext context = perft_context_create();
  MlirModule module = module_read(context, "perft-opt", input);
  if (mlirModuleIsNull(module) || !perft_verify_module(mlirModuleGetOperation(module))) return 1;
  if (pipeline && *pipeline) {
    MlirPassManager pm = mlirPassManagerCreate(context);
    if (print_after_all) mlirPassManagerEnableIRPrinting(pm);
    int ok = perft_pipeline_add(mlirPassManagerGetAsOpPassManager(pm), pipeline, stderr) &&
             mlirLogicalResultIsSuccess(mlirPassManagerRunOnOp(pm, mlirModuleGetOperation(module)));
    mlirPassManagerDestroy(pm);
    if (!ok) return 1;
  }
  int ok = module_write(module, output, print_locations);
  mlirModuleDestroy(module);
  mlirContextDestroy(context);
  return ok ? 0 : 1;
}
