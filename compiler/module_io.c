/* module_io.c — see module_io.h. */
#include "module_io.h"

#include "ir_builder.h"

#include <stdio.h>
#include <stdlib.h>

MlirModule module_read(MlirContext context, const char *tool, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: error: cannot open '%s'\n", tool, path);
    return (MlirModule){NULL};
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
  size_t got = text ? fread(text, 1, (size_t)size, f) : 0;
  fclose(f);
  if (!text) {
    fprintf(stderr, "%s: error: cannot read '%s'\n", tool, path);
    return (MlirModule){NULL};
  }
  text[got] = 0;
  /* Parsed under the file's name, so that every diagnostic reads path:line:col. */
  MlirOperation op = mlirOperationCreateParse(context, (MlirStringRef){text, got}, str(path));
  free(text);
  if (mlirOperationIsNull(op)) return (MlirModule){NULL};
  if (op_is(op, "builtin.module")) return mlirModuleFromOperation(op);
  MlirModule m = mlirModuleCreateEmpty(mlirOperationGetLocation(op)); /* one bare op: wrap it */
  mlirBlockAppendOwnedOperation(mlirModuleGetBody(m), op);
  return m;
}

static void print_to_file(MlirStringRef s, void *stream) { fwrite(s.data, 1, s.length, stream); }

int module_write(MlirModule module, const char *path, int print_locations) {
  FILE *out = path ? fopen(path, "w") : stdout;
  if (!out) {
    perror(path);
    return 0;
  }
  MlirOpPrintingFlags flags = mlirOpPrintingFlagsCreate();
  mlirOpPrintingFlagsEnableDebugInfo(flags, print_locations, false);
  mlirOperationPrintWithFlags(mlirModuleGetOperation(module), flags, print_to_file, out);
  mlirOpPrintingFlagsDestroy(flags);
  fputc('\n', out);
  if (path) fclose(out);
  return 1;
}
