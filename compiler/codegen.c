/* codegen.c — see codegen.h.
 *
 * The generated object holds the lowered @train_step and @forward (internal
 * linkage, inlined by LLVM into their wrappers) and the three ABI symbols:
 *
 *   void perft_train_step(void **buffers) {
 *     train_step(buffers[0], buffers[1], ..., buffers[last]);   bare pointers
 *   }
 *   void perft_forward(void **buffers)    likewise, skipping the gradient slots
 *   void perft_grad_norm(void **buffers), void perft_adamw(void **buffers)
 *                                         (GPU targets: perft-emit-optimizer's @grad_norm and @adamw,
 *                                         buffers[i] for parameter i)
 *   const char perft_manifest[] = "perft-manifest 1\n...";
 */
#include "codegen.h"
#include "target.h"

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

/* Buffer slots of a function's parameters, from the manifest's counts (without grads: the
 * workspace's slot follows them; the optimizer's entry points: slot i for parameter i). */
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

/* The manifest perft-manifest recorded on the module (malloc'ed), or NULL. */
static char *module_manifest(MlirModule module) {
  MlirAttribute a = mlirOperationGetAttributeByName(mlirModuleGetOperation(module), str("perft.manifest"));
  if (mlirAttributeIsNull(a) || !mlirAttributeIsAString(a)) return NULL;
  MlirStringRef text = mlirStringAttrGetValue(a);
  return strndup(text.data, text.length);
}

int codegen_host_vector_bytes(void) {
  char *features = LLVMGetHostCPUFeatures();
  int bytes = 16;
  if (features && strstr(features, "+avx512f")) bytes = 64;
  else if (features && strstr(features, "+avx")) bytes = 32;
  LLVMDisposeMessage(features);
  return bytes;
}

int codegen_emit(MlirModule module, const Target *target_description, EmitKind kind, const char *path) {
  char *manifest = module_manifest(module);
  if (!manifest) {
    fprintf(stderr, "perftc: error: the module has no perft.manifest (run perft-manifest before code generation)\n");
    return 0;
  }
  LLVMContextRef llvm_context = LLVMContextCreate();
  LLVMModuleRef m = mlirTranslateModuleToLLVMIR(mlirModuleGetOperation(module), llvm_context);
  if (!m) {
    fprintf(stderr, "perftc: error: translation to LLVM IR failed\n");
    LLVMContextDispose(llvm_context);
    return 0;
  }
  enum { NUM_ENTRIES = 4 };
  const char *entries[NUM_ENTRIES][2] = {{"train_step", "perft_train_step"}, {"forward", "perft_forward"},
                                         {"grad_norm", "perft_grad_norm"}, {"adamw", "perft_adamw"}};
  for (int i = 0; i < NUM_ENTRIES; i++) {
    LLVMValueRef inner = LLVMGetNamedFunction(m, entries[i][0]);
    if (!inner) continue;
    unsigned n = LLVMCountParams(inner);
    int *slots = calloc(n + 1, sizeof(int));
    buffer_slots(manifest, i != 1, slots, n);
    add_wrapper(m, entries[i][1], inner, slots);
    free(slots);
  }
  for (int i = 0; i < NUM_ENTRIES; i++) { /* the wrappers pass one pointer per parameter */
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
  char *triple = target_description->triple ? LLVMCreateMessage(target_description->triple) : LLVMGetDefaultTargetTriple();
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
    int host = target_description->host_cpu;
    char *cpu = host ? LLVMGetHostCPUName() : LLVMCreateMessage(""), *features = host ? LLVMGetHostCPUFeatures() : LLVMCreateMessage("");
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
  free(manifest);
  return ok;
}

int codegen_link(const Target *target, const char *object_path, const char *runtime_library, const char *output_path) {
  const char *compiler = getenv("CC") ? getenv("CC") : "cc";
  const char *argv[32];
  int n = 0;
  argv[n++] = compiler;
  argv[n++] = object_path;
  argv[n++] = runtime_library;
  for (const char *const *l = target->link_libraries; *l && n < 27; l++) argv[n++] = *l;
#ifdef PERFT_RUNTIME_LINK_FLAG /* a sanitizer build: the runtime library needs its runtime */
  argv[n++] = PERFT_RUNTIME_LINK_FLAG;
#endif
  argv[n++] = "-o";
  argv[n++] = output_path;
  argv[n] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    execvp(compiler, (char *const *)argv);
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
