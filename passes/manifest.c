/* manifest.c — the perft-manifest pass: the program's ABI, read off the lowered functions.
 *
 * Before (perft-emit-kernels' output):
 *   func.func @train_step(%w: memref<4x3xf32> {perft.param = "w", perft.trainable = true, perft.init = "zeros"},
 *                         %x: memref<5x4xf32> {perft.input = "x"},
 *                         %l: memref<f32> {perft.result = "loss"},
 *                         %dw: memref<4x3xf32> {perft.result = "grad w"},
 *                         %ws: memref<256xi8> {perft.workspace}) attributes {perft.workspace_bytes = 256} {...}
 * After:
 *   module attributes {perft.manifest = "perft-manifest 1\nparam w 4x3 trainable zeros\ninput x 5x4\n
 *                                        grad w 4x3\ndtype f32\nworkspace 256\n"} {
 *     func.func @train_step(%w: memref<4x3xf32>, ...)      (argument attributes dropped)
 *
 * The manifest lists the buffers of perft_train_step in ABI order (docs/ABI.md); codegen
 * embeds it in the object as `perft_manifest`, and the runtime reads it to allocate and
 * load every tensor. LLVM has no use for the perft.* argument attributes, so they go.
 */
#include "passes.h"
#include "external_pass.h"
#include "ir_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void append_dims(FILE *t, MlirType shaped) {
  intptr_t rank = mlirShapedTypeGetRank(shaped);
  if (rank == 0) fprintf(t, "1");
  for (intptr_t i = 0; i < rank; i++) fprintf(t, "%s%lld", i ? "x" : "", (long long)mlirShapedTypeGetDimSize(shaped, i));
}

static MlirStringRef string_entry(MlirAttribute dictionary, const char *key) {
  MlirAttribute a = mlirDictionaryAttrGetElementByName(dictionary, str(key));
  if (mlirAttributeIsNull(a) || !mlirAttributeIsAString(a)) return (MlirStringRef){NULL, 0};
  return mlirStringAttrGetValue(a);
}

/* Each line of the module's string attribute `attribute` as a record "KIND LINE". */
static void append_records(FILE *t, MlirOperation module_op, const char *attribute, const char *kind) {
  MlirAttribute lines = mlirOperationGetAttributeByName(module_op, str(attribute));
  if (mlirAttributeIsNull(lines) || !mlirAttributeIsAString(lines)) return;
  MlirStringRef text = mlirStringAttrGetValue(lines);
  for (size_t start = 0; start < text.length;) {
    const char *end = memchr(text.data + start, '\n', text.length - start);
    size_t length = end ? (size_t)(end - text.data) - start : text.length - start;
    if (length) fprintf(t, "%s %.*s\n", kind, (int)length, text.data + start);
    start += length + 1;
  }
}

static char *manifest_text(MlirOperation module_op) {
  MlirOperation step = perft_find_function(module_op, "train_step");
  MlirOperation forward = perft_find_function(module_op, "forward");
  if (mlirOperationIsNull(step) || mlirOperationIsNull(forward)) {
    mlirEmitError(mlirOperationGetLocation(module_op), "perft-manifest: the module has no @train_step and @forward to build a program from");
    return NULL;
  }
  MlirAttribute args = mlirOperationGetAttributeByName(step, str("arg_attrs"));
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(step, 0));
  char *text = NULL;
  size_t length = 0;
  FILE *t = open_memstream(&text, &length); /* the manifest, as it is written */
  IR_CHECK(t != NULL, "out of memory");
  fprintf(t, "perft-manifest 1\n");
  MlirType element = mlirF32TypeGet(mlirOperationGetContext(module_op));
  MlirAttribute tokens = mlirOperationGetAttributeByName(module_op, str("perft.tokens"));
  if (!mlirAttributeIsNull(tokens)) fprintf(t, "tokens %lld\n", (long long)mlirIntegerAttrGetValueInt(tokens));
  MlirAttribute sequence = mlirOperationGetAttributeByName(module_op, str("perft.sequence"));
  if (!mlirAttributeIsNull(sequence)) fprintf(t, "sequence %lld\n", (long long)mlirIntegerAttrGetValueInt(sequence));
  /* Records grouped by role, in argument order: params, inputs, outputs, grads. */
  const char *roles[] = {"param", "input", "output", "grad"};
  for (int role = 0; role < 4; role++) {
    for (intptr_t i = 0; i < mlirBlockGetNumArguments(body); i++) {
      MlirAttribute d = mlirArrayAttrGetElement(args, i);
      MlirType type = mlirValueGetType(mlirBlockGetArgument(body, i));
      MlirStringRef name = {0}, result = string_entry(d, "perft.result");
      if (role == 0) name = string_entry(d, "perft.param");
      if (role == 1) name = string_entry(d, "perft.input");
      if (role >= 2 && result.data) {
        size_t w = strlen(roles[role]);
        if (result.length > w + 1 && !memcmp(result.data, roles[role], w) && result.data[w] == ' ')
          name = (MlirStringRef){result.data + w + 1, result.length - w - 1};
      }
      if (!name.data) continue;
      if (mlirShapedTypeGetRank(type) >= 0 && mlirTypeIsAFloat(mlirShapedTypeGetElementType(type)) &&
          !mlirTypeIsABF16(mlirShapedTypeGetElementType(type)))
        element = mlirShapedTypeGetElementType(type);
      fprintf(t, "%s %.*s ", roles[role], (int)name.length, name.data);
      append_dims(t, type);
      if (role == 0) {
        MlirAttribute trainable = mlirDictionaryAttrGetElementByName(d, str("perft.trainable"));
        MlirStringRef init = string_entry(d, "perft.init");
        fprintf(t, " %s %.*s", !mlirAttributeIsNull(trainable) && mlirBoolAttrGetValue(trainable) ? "trainable" : "frozen",
                    (int)init.length, init.data ? init.data : "zeros");
        if (!mlirAttributeIsNull(mlirDictionaryAttrGetElementByName(d, str("perft.constant")))) fprintf(t, " constant");
        if (!mlirAttributeIsNull(mlirDictionaryAttrGetElementByName(d, str("perft.adapter")))) fprintf(t, " adapter");
        if (mlirTypeIsABF16(mlirShapedTypeGetElementType(type))) fprintf(t, " bf16");
      }
      if (role == 1 && mlirTypeIsAInteger(mlirShapedTypeGetElementType(type))) fprintf(t, " i32");
      fprintf(t, "\n");
      if (role == 1) {
        MlirAttribute range = mlirDictionaryAttrGetElementByName(d, str("perft.range"));
        if (!mlirAttributeIsNull(range))
          fprintf(t, "range %.*s %lld\n", (int)name.length, name.data, (long long)mlirIntegerAttrGetValueInt(range));
        if (!mlirAttributeIsNull(mlirDictionaryAttrGetElementByName(d, str("perft.seed"))))
          fprintf(t, "seed %.*s\n", (int)name.length, name.data);
      }
    }
  }
  const char *pairs[2][2] = {{"perft.teacher", "teacher"}, {"perft.classify", "classify"}};
  for (int i = 0; i < 2; i++) {
    MlirAttribute pair = mlirOperationGetAttributeByName(module_op, str(pairs[i][0]));
    if (mlirAttributeIsNull(pair)) continue;
    MlirStringRef first = mlirStringAttrGetValue(mlirArrayAttrGetElement(pair, 0));
    MlirStringRef second = mlirStringAttrGetValue(mlirArrayAttrGetElement(pair, 1));
    fprintf(t, "%s %.*s %.*s\n", pairs[i][1], (int)first.length, first.data, (int)second.length, second.data);
  }
  /* routers and how many experts they pick (compiler/mlirgen.c), and the `names` maps
   * (dsl/elaborate_names.c): lines of module attributes, each as a record */
  append_records(t, module_op, "perft.routing", "routing");           /* routing PARAM K */
  append_records(t, module_op, "perft.checkpoint_names", "checkpoint"); /* checkpoint MAP PARAM SLICE NAME */
  int64_t workspace = 0;
  MlirOperation funcs[2] = {step, forward};
  for (int f = 0; f < 2; f++) {
    MlirAttribute bytes = mlirOperationGetAttributeByName(funcs[f], str("perft.workspace_bytes"));
    if (!mlirAttributeIsNull(bytes) && mlirIntegerAttrGetValueInt(bytes) > workspace) workspace = mlirIntegerAttrGetValueInt(bytes);
  }
  MlirAttribute lanes = mlirOperationGetAttributeByName(module_op, str("perft.optimizer_lanes"));
  MlirAttribute scratch = mlirOperationGetAttributeByName(module_op, str("perft.optimizer_scratch"));
  if (!mlirAttributeIsNull(lanes))
    fprintf(t, "optimizer device %lld %lld\n", (long long)mlirIntegerAttrGetValueInt(lanes),
            mlirAttributeIsNull(scratch) ? 0LL : (long long)mlirIntegerAttrGetValueInt(scratch));
  fprintf(t, "dtype %s\n", mlirTypeIsAF64(element) ? "f64" : "f32");
  fprintf(t, "workspace %lld\n", (long long)workspace);
  fclose(t);
  return text;
}


static void manifest_run(MlirOperation module, MlirExternalPass pass, void *options) {
  if (!mlirAttributeIsNull(mlirOperationGetAttributeByName(module, str("perft.manifest")))) return; /* done before */
  char *text = manifest_text(module);
  if (!text) {
    mlirExternalPassSignalFailure(pass);
    return;
  }
  MlirContext context = mlirOperationGetContext(module);
  mlirOperationSetAttributeByName(module, str("perft.manifest"), mlirStringAttrGet(context, str(text)));
  free(text);
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module, 0));
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    if (op_is(op, "func.func")) mlirOperationRemoveAttributeByName(op, str("arg_attrs"));
}

MlirPass perft_create_manifest_pass(void) {
  return perft_module_pass("PerftManifest", "perft-manifest",
                           "record the ABI of @train_step and @forward as the module's perft.manifest",
                           manifest_run, NULL, 0);
}
