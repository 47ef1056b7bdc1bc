/* codegen.c — see codegen.h.
 *
 * The generated object holds the lowered @train_step and @forward (internal
 * linkage, inlined by LLVM into their wrappers) and the three ABI symbols:
 *
 *   void perft_train_step(void **buffers) {
 *     train_step(buffers[0], buffers[1], ..., buffers[last]);   bare pointers
 *   }
 *   void perft_forward(void **buffers)    likewise, skipping the gradient slots
 *   const char perft_manifest[] = "perft-manifest 1\n...";
 */
#include "codegen.h"

#include "ir_builder.h"
#include "passes.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <mlir-c/Pass.h>
#include <mlir-c/Target/LLVMIR.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PERFT_OPENMP_DIR
#define PERFT_OPENMP_DIR "/usr/lib/llvm-19/lib"
#endif

/* ---- manifest ---- */
typedef struct {
  char *data;
  size_t length, capacity;
} Text;

static void text_append(Text *t, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void text_append(Text *t, const char *format, ...) {
  va_list args;
  for (;;) {
    va_start(args, format);
    int n = vsnprintf(t->data + t->length, t->capacity - t->length, format, args);
    va_end(args);
    if (n >= 0 && (size_t)n < t->capacity - t->length) {
      t->length += (size_t)n;
      return;
    }
    t->capacity = t->capacity * 2 + (size_t)n + 64;
    t->data = realloc(t->data, t->capacity);
    IR_CHECK(t->data != NULL, "out of memory");
  }
}

static void append_dims(Text *t, MlirType shaped) {
  intptr_t rank = mlirShapedTypeGetRank(shaped);
  if (rank == 0) text_append(t, "1");
  for (intptr_t i = 0; i < rank; i++) text_append(t, "%s%lld", i ? "x" : "", (long long)mlirShapedTypeGetDimSize(shaped, i));
}

static MlirStringRef string_entry(MlirAttribute dictionary, const char *key) {
  MlirAttribute a = mlirDictionaryAttrGetElementByName(dictionary, str(key));
  if (mlirAttributeIsNull(a) || !mlirAttributeIsAString(a)) return (MlirStringRef){NULL, 0};
  return mlirStringAttrGetValue(a);
}

char *codegen_manifest(MlirModule module) {
  MlirOperation module_op = mlirModuleGetOperation(module);
  MlirOperation step = perft_find_function(module_op, "train_step");
  MlirOperation forward = perft_find_function(module_op, "forward");
  if (mlirOperationIsNull(step) || mlirOperationIsNull(forward)) {
    fprintf(stderr, "perftc: error: the module has no @train_step and @forward to build a program from\n");
    return NULL;
  }
  MlirAttribute args = mlirOperationGetAttributeByName(step, str("arg_attrs"));
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(step, 0));
  Text t = {0};
  text_append(&t, "perft-manifest 1\n");
  MlirType element = mlirF32TypeGet(mlirModuleGetContext(module));
  MlirAttribute tokens = mlirOperationGetAttributeByName(module_op, str("perft.tokens"));
  if (!mlirAttributeIsNull(tokens)) text_append(&t, "tokens %lld\n", (long long)mlirIntegerAttrGetValueInt(tokens));
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
      if (mlirShapedTypeGetRank(type) >= 0 && mlirTypeIsAFloat(mlirShapedTypeGetElementType(type)))
        element = mlirShapedTypeGetElementType(type);
      text_append(&t, "%s %.*s ", roles[role], (int)name.length, name.data);
      append_dims(&t, type);
      if (role == 0) {
        MlirAttribute trainable = mlirDictionaryAttrGetElementByName(d, str("perft.trainable"));
        MlirStringRef init = string_entry(d, "perft.init");
        text_append(&t, " %s %.*s", !mlirAttributeIsNull(trainable) && mlirBoolAttrGetValue(trainable) ? "trainable" : "frozen",
                    (int)init.length, init.data ? init.data : "zeros");
        if (!mlirAttributeIsNull(mlirDictionaryAttrGetElementByName(d, str("perft.adapter")))) text_append(&t, " adapter");
      }
      if (role == 1 && mlirTypeIsAInteger(mlirShapedTypeGetElementType(type))) text_append(&t, " i32");
      text_append(&t, "\n");
      if (role == 1) {
        MlirAttribute range = mlirDictionaryAttrGetElementByName(d, str("perft.range"));
        if (!mlirAttributeIsNull(range))
          text_append(&t, "range %.*s %lld\n", (int)name.length, name.data, (long long)mlirIntegerAttrGetValueInt(range));
        if (!mlirAttributeIsNull(mlirDictionaryAttrGetElementByName(d, str("perft.seed"))))
          text_append(&t, "seed %.*s\n", (int)name.length, name.data);
      }
    }
  }
  const char *pairs[2][2] = {{"perft.teacher", "teacher"}, {"perft.classify", "classify"}};
  for (int i = 0; i < 2; i++) {
    MlirAttribute pair = mlirOperationGetAttributeByName(module_op, str(pairs[i][0]));
    if (mlirAttributeIsNull(pair)) continue;
    MlirStringRef first = mlirStringAttrGetValue(mlirArrayAttrGetElement(pair, 0));
    MlirStringRef second = mlirStringAttrGetValue(mlirArrayAttrGetElement(pair, 1));
    text_append(&t, "%s %.*s %.*s\n", pairs[i][1], (int)first.length, first.data, (int)second.length, second.data);
  }
  int64_t workspace = 0;
  MlirOperation funcs[2] = {step, forward};
  for (int f = 0; f < 2; f++) {
    MlirAttribute bytes = mlirOperationGetAttributeByName(funcs[f], str("perft.workspace_bytes"));
    if (!mlirAttributeIsNull(bytes) && mlirIntegerAttrGetValueInt(bytes) > workspace) workspace = mlirIntegerAttrGetValueInt(bytes);
  }
  text_append(&t, "dtype %s\n", mlirTypeIsAF64(element) ? "f64" : "f32");
  text_append(&t, "workspace %lld\n", (long long)workspace);
  return t.data;
}

/* ---- upstream lowering ---- */
static const char *llvm_pipeline =
    "builtin.module(func.func(convert-linalg-to-loops),convert-scf-to-openmp,expand-strided-metadata,"
    "lower-affine,finalize-memref-to-llvm,convert-scf-to-cf,convert-math-to-llvm,"
    "convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,"
    "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},convert-openmp-to-llvm,"
    "reconcile-unrealized-casts)";
/* convert-func-to-llvm must run before convert-openmp-to-llvm: the latter also converts
 * function signatures, with full memref descriptors instead of the bare pointers the ABI
 * wrappers pass. */

static void print_to_stderr(MlirStringRef s, void *unused) { fwrite(s.data, 1, s.length, stderr); }

int codegen_lower_to_llvm_dialect(MlirModule module, int print_after_all) {
  MlirContext context = mlirModuleGetContext(module);
  /* The perft.* argument attributes have been read into the manifest; LLVM has no use for them. */
  MlirBlock body = mlirModuleGetBody(module);
  for (MlirOperation op = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
    if (op_is(op, "func.func")) mlirOperationRemoveAttributeByName(op, str("arg_attrs"));
  MlirPassManager pm = mlirPassManagerCreate(context);
  if (print_after_all) {
    mlirContextEnableMultithreading(context, false);
    mlirPassManagerEnableIRPrinting(pm);
  }
  MlirLogicalResult parsed = mlirParsePassPipeline(mlirPassManagerGetAsOpPassManager(pm), str(llvm_pipeline),
                                                   print_to_stderr, NULL);
  IR_CHECK(mlirLogicalResultIsSuccess(parsed), "parse the LLVM lowering pipeline");
  MlirLogicalResult result = mlirPassManagerRunOnOp(pm, mlirModuleGetOperation(module));
  mlirPassManagerDestroy(pm);
  return mlirLogicalResultIsSuccess(result);
}

/* ---- LLVM IR: ABI wrappers, optimisation, object code ---- */

/* Adds `void NAME(void **buffers)` calling `inner` with buffers[slot[i]] for each parameter i. */
static void add_wrapper(LLVMModuleRef m, const char *name, LLVMValueRef inner, const int *slots) {
  LLVMContextRef c = LLVMGetModuleContext(m);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(c, 0);
  LLVMTypeRef wrapper_type = LLVMFunctionType(LLVMVoidTypeInContext(c), &ptr, 1, 0);
  LLVMValueRef wrapper = LLVMAddFunction(m, name, wrapper_type);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, wrapper, "entry"));
  unsigned n = LLVMCountParams(inner);
  LLVMValueRef *args = calloc(n + 1, sizeof(LLVMValueRef));
  for (unsigned i = 0; i < n; i++) {
    LLVMValueRef index = LLVMConstInt(LLVMInt64TypeInContext(c), (unsigned long long)slots[i], 0);
    LLVMValueRef address = LLVMBuildGEP2(b, ptr, LLVMGetParam(wrapper, 0), &index, 1, "slot");
    args[i] = LLVMBuildLoad2(b, ptr, address, "buffer");
  }
  LLVMBuildCall2(b, LLVMGlobalGetValueType(inner), inner, args, n, "");
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);
  free(args);
  LLVMSetLinkage(inner, LLVMInternalLinkage);
}

/* Buffer slots of a function's parameters, from the manifest's counts. */
static void buffer_slots(const char *manifest, int with_grads, int *slots, unsigned n) {
  int params = 0, inputs = 0, outputs = 0, grads = 0;
  for (const char *line = manifest; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    if (!strncmp(line, "param ", 6)) params++;
    if (!strncmp(line, "input ", 6)) inputs++;
    if (!strncmp(line, "output ", 7)) outputs++;
    if (!strncmp(line, "grad ", 5)) grads++;
  }
  for (unsigned i = 0; i < n; i++) slots[i] = (int)i;
  if (!with_grads && n > 0) slots[n - 1] = params + inputs + 1 + outputs + grads; /* the workspace */
}

int codegen_emit(MlirModule module, const char *manifest, EmitKind kind, const char *path) {
  LLVMContextRef llvm_context = LLVMContextCreate();
  LLVMModuleRef m = mlirTranslateModuleToLLVMIR(mlirModuleGetOperation(module), llvm_context);
  if (!m) {
    fprintf(stderr, "perftc: error: translation to LLVM IR failed\n");
    LLVMContextDispose(llvm_context);
    return 0;
  }
  const char *entries[2][2] = {{"train_step", "perft_train_step"}, {"forward", "perft_forward"}};
  for (int i = 0; i < 2; i++) {
    LLVMValueRef inner = LLVMGetNamedFunction(m, entries[i][0]);
    if (!inner) continue;
    unsigned n = LLVMCountParams(inner);
    int *slots = calloc(n + 1, sizeof(int));
    buffer_slots(manifest, i == 0, slots, n);
    add_wrapper(m, entries[i][1], inner, slots);
    free(slots);
  }
  for (int i = 0; i < 2; i++) { /* the wrappers pass one pointer per parameter */
    LLVMValueRef inner = LLVMGetNamedFunction(m, entries[i][0]);
    for (unsigned p = 0; inner && p < LLVMCountParams(inner); p++)
      IR_CHECK(LLVMGetTypeKind(LLVMTypeOf(LLVMGetParam(inner, p))) == LLVMPointerTypeKind,
               "a lowered entry point takes a parameter that is not a bare pointer");
  }
  LLVMValueRef text = LLVMConstStringInContext(llvm_context, manifest, (unsigned)strlen(manifest), 0);
  LLVMValueRef global = LLVMAddGlobal(m, LLVMTypeOf(text), "perft_manifest");
  LLVMSetInitializer(global, text);
  LLVMSetGlobalConstant(global, 1);

  LLVMInitializeNativeTarget();
  LLVMInitializeNativeAsmPrinter();
  char *triple = LLVMGetDefaultTargetTriple();
  LLVMTargetRef target;
  char *error = NULL;
  int ok = 1;
  if (LLVMGetTargetFromTriple(triple, &target, &error)) {
    fprintf(stderr, "perftc: error: no LLVM target for %s: %s\n", triple, error);
    LLVMDisposeMessage(error);
    ok = 0;
  }
  if (ok && LLVMVerifyModule(m, LLVMReturnStatusAction, &error)) {
    fprintf(stderr, "perftc: internal compiler error: invalid LLVM IR: %s\n", error);
    ok = 0;
  }
  if (error) LLVMDisposeMessage(error);
  error = NULL;
  if (ok) {
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    LLVMTargetMachineRef machine = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive,
                                                           LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMSetTarget(m, triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(machine);
    LLVMSetModuleDataLayout(m, layout);
    /* O2, not O3: measured on the examples, O3 doubles compile time (5 s instead of 2.4 s for
     * token_perft_r.perft) and its extra unrolling and versioning made the small-step programs
     * slower (0.95 against 0.51 ms/step), the bench step no faster. */
    LLVMPassBuilderOptionsRef options = LLVMCreatePassBuilderOptions();
    LLVMErrorRef failure = LLVMRunPasses(m, "default<O2>", machine, options);
    if (failure) {
      char *message = LLVMGetErrorMessage(failure);
      fprintf(stderr, "perftc: error: LLVM optimisation failed: %s\n", message);
      LLVMDisposeErrorMessage(message);
      ok = 0;
    }
    LLVMDisposePassBuilderOptions(options);
    if (ok && kind == EMIT_LLVM_IR && LLVMPrintModuleToFile(m, path, &error)) {
      fprintf(stderr, "perftc: error: cannot write %s: %s\n", path, error);
      ok = 0;
    }
    if (ok && kind == EMIT_OBJECT && LLVMTargetMachineEmitToFile(machine, m, path, LLVMObjectFile, &error)) {
      fprintf(stderr, "perftc: error: cannot write %s: %s\n", path, error);
      ok = 0;
    }
    LLVMDisposeTargetData(layout);
    LLVMDisposeTargetMachine(machine);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
  }
  LLVMDisposeMessage(triple);
  LLVMDisposeModule(m);
  LLVMContextDispose(llvm_context);
  return ok;
}

int codegen_link(const char *object_path, const char *runtime_library, const char *output_path) {
  const char *compiler = getenv("CC") ? getenv("CC") : "cc";
  pid_t pid = fork();
  if (pid == 0) {
    /* The parallel loops run on LLVM's OpenMP runtime (OMP_NUM_THREADS sets the threads). */
    execlp(compiler, compiler, object_path, runtime_library, "-L" PERFT_OPENMP_DIR, "-lomp",
           "-Wl,-rpath," PERFT_OPENMP_DIR, "-lm", "-o", output_path, (char *)NULL);
    perror("perftc: cannot run the linker");
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "perftc: error: linking %s failed\n", output_path);
    return 0;
  }
  return 1;
}
