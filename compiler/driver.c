/* driver.c — perftc, the perft compiler driver.
 *
 *   perftc FILE.perft|FILE.mlir [-o OUT] [--emit=STAGE] [-DNAME=VALUE]...
 *
 * Stages, in pipeline order (each prints or writes what that stage produced):
 *   ast        the parsed program (.perft input only)
 *   mlir       the module from the front end: @forward in perft + linalg ops
 *   autodiff   after reverse-mode autodiff: @forward and @train_step
 *   fused      after the fusion passes (perft-fuse-*)
 *   lowered    after bufferize, plan-workspace and emit-kernels: loops over one workspace
 *   ptx        (cuda) the GPU kernels as PTX for sm_90
 *   llvm       LLVM IR with the ABI entry points, optimised
 *   obj        an object file
 *   exe        the training executable (the default)
 * Every stage after `mlir` is a prefix of one pass pipeline, run by one pass manager;
 * --print-pipeline prints it.
 */
#include "codegen.h"
#include "config.h"
#include "dialect.h"
#include "dsl.h"
#include "ir_builder.h"
#include "mlirgen.h"
#include "module_io.h"
#include "passes.h"
#include "ptx.h"
#include "report.h"
#include "target.h"

#include <errno.h>
#include <mlir-c/Pass.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PERFT_RUNTIME_LIBRARY /* the three runtime libraries (compiler/target.h: TargetRuntime) */
#define PERFT_RUNTIME_LIBRARY "libperftrt.a"
#define PERFT_SPLIT_RUNTIME_LIBRARY "libperftrt_split.a"
#define PERFT_CUDA_RUNTIME_LIBRARY "libperftrt_cuda.a"
#endif

typedef enum {
  STAGE_AST, STAGE_MLIR, STAGE_AUTODIFF, STAGE_FUSED, STAGE_LOWERED, STAGE_PTX, STAGE_LLVM, STAGE_OBJ, STAGE_EXE
} Stage;
static const char *stage_names[] = {"ast", "mlir", "autodiff", "fused", "lowered", "ptx", "llvm", "obj", "exe"};

/* The fusion passes, in pipeline order: NAME is perft-fuse-NAME; --no-fuse=NAME drops it. */
static const char *const fusions[] = {"swiglu", "route", "shared-input", "epilogue", "join", "lora-chain", "softmax-top-k"};
enum { NUM_FUSIONS = sizeof fusions / sizeof fusions[0] };

typedef struct {
  const char *input, *output, *wrong_rule, *config;
  const Target *target;
  Stage stage;
  int float_bits, frozen_bf16, print_after_all, print_locations, report, no_workspace_reuse, no_outline, serial, print_pipeline;
  int no_fuse[NUM_FUSIONS]; /* 1: --no-fuse named it */
  long long parallel_min_work;
  int vector_bytes; /* of the GEMM microkernels (0: scalar loops); -1 until given or set from the target */
  DimOverride overrides[64];
  int num_overrides;
} Options;

static void usage(FILE *out) {
  fprintf(out,
          "usage: perftc FILE.perft|FILE.mlir [-o OUT] [--emit=STAGE] [-DNAME=VALUE]...\n"
          "  --emit=ast|mlir|autodiff|fused|lowered|ptx|llvm|obj|exe   stop after STAGE (default exe; ptx: cuda only)\n"
          "  --no-fuse=NAME[,NAME]  leave out fusion passes (swiglu, route, shared-input, epilogue, join,\n"
          "                         lora-chain, softmax-top-k, or all); the numbers stay the same\n"
          "  -DNAME=VALUE           override a top-level `dim NAME = ...`\n"
          "  --config FILE.json     dims written `dim NAME = ... config KEY` from a Hugging Face config\n"
          "  --target=cpu|cuda|cuda-host|cuda-host-reversed  the code generation target (cuda-host: the CUDA kernels\n"
          "                 on the CPU, for tests; -reversed: their blocks and threads in the opposite order)\n"
          "  --print-pipeline       print the pass pipeline for the stage and options, then stop\n"
          "  --dtype=f32|f64        element type of every float tensor (f64 for gradient checks)\n"
          "  --frozen-dtype=bf16    frozen GEMM weights and embedding tables kept in bf16 (half the\n"
          "                         memory; widened to f32 as the kernels load them)\n"
          "  --print-ir-after-all   print the IR after every MLIR pass to stderr\n"
          "  --print-locations      print source locations (loc(...)) in emitted MLIR\n"
          "  --report               print trainable parameters, FLOPs per token and kernels; no output file\n"
          "  --no-workspace-reuse   give every intermediate its own workspace range (no liveness reuse)\n"
          "  --no-outline           emit each kernel in place, not in a function shared by equal ops\n"
          "  --serial               no parallel loops: one thread, and objects need no OpenMP runtime\n"
          "  --parallel-min-work=N  GEMMs of at least N multiply-adds run on threads (default 4194304)\n"
          "  --vector-bytes=N       vector width of the GEMM kernels: 64, 32, 16, or 0 for scalar loops\n"
          "                         (default: the host CPU's widest, 64 with AVX-512)\n"
          "  --debug-wrong-grad=OP  (tests only) corrupt OP's backward rule\n"
          "  -o OUT                 output file (text stages default to stdout; exe to a.out)\n");
}

/* --no-fuse=NAME[,NAME...]: names from `fusions`, or all. */
static int parse_no_fuse(const char *list, Options *o) {
  char names[256];
  snprintf(names, sizeof names, "%s", list);
  for (char *save = NULL, *name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
    int found = 0;
    for (int f = 0; f < NUM_FUSIONS; f++)
      if (!strcmp(name, "all") || !strcmp(name, fusions[f])) o->no_fuse[f] = found = 1;
    if (!found) {
      fprintf(stderr, "perftc: error: --no-fuse: no fusion named '%s' (fusions: all", name);
      for (int f = 0; f < NUM_FUSIONS; f++) fprintf(stderr, ", %s", fusions[f]);
      fprintf(stderr, ")\n");
      return 0;
    }
  }
  return 1;
}

static int parse_options(int argc, char **argv, Options *o) {
  *o = (Options){.stage = STAGE_EXE, .float_bits = 32, .target = target_find("cpu"), .parallel_min_work = -1,
                 .vector_bytes = -1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); exit(0); }
    else if (!strcmp(a, "-o") && i + 1 < argc) o->output = argv[++i];
    else if (!strncmp(a, "--emit=", 7)) {
      int found = 0;
      for (int s = 0; s <= STAGE_EXE; s++)
        if (!strcmp(a + 7, stage_names[s])) { o->stage = (Stage)s; found = 1; }
      if (!found) { fprintf(stderr, "perftc: error: unknown stage '%s' for --emit\n", a + 7); return 0; }
    } else if (!strncmp(a, "--dtype=", 8)) {
      if (!strcmp(a + 8, "f32")) o->float_bits = 32;
      else if (!strcmp(a + 8, "f64")) o->float_bits = 64;
      else { fprintf(stderr, "perftc: error: --dtype must be f32 or f64\n"); return 0; }
    } else if (!strncmp(a, "--frozen-dtype=", 15)) {
      if (!strcmp(a + 15, "f32")) o->frozen_bf16 = 0;
      else if (!strcmp(a + 15, "bf16")) o->frozen_bf16 = 1;
      else { fprintf(stderr, "perftc: error: --frozen-dtype must be f32 or bf16\n"); return 0; }
    } else if (!strcmp(a, "--print-ir-after-all")) o->print_after_all = 1;
    else if (!strcmp(a, "--print-locations")) o->print_locations = 1;
    else if (!strcmp(a, "--print-pipeline")) o->print_pipeline = 1;
    else if (!strncmp(a, "--no-fuse=", 10)) {
      if (!parse_no_fuse(a + 10, o)) return 0;
    }
    else if (!strncmp(a, "--target=", 9)) {
      o->target = target_find(a + 9);
      if (!o->target) { fprintf(stderr, "perftc: error: unknown target '%s' (targets: %s)\n", a + 9, target_list()); return 0; }
    }
    else if (!strcmp(a, "--report")) o->report = 1;
    else if (!strcmp(a, "--no-workspace-reuse")) o->no_workspace_reuse = 1;
    else if (!strcmp(a, "--no-outline")) o->no_outline = 1;
    else if (!strcmp(a, "--serial")) o->serial = 1;
    else if (!strncmp(a, "--parallel-min-work=", 20)) {
      char *end = NULL;
      errno = 0;
      o->parallel_min_work = strtoll(a + 20, &end, 10);
      if (!end || *end || end == a + 20 || o->parallel_min_work < 0 || errno == ERANGE) {
        fprintf(stderr, "perftc: error: --parallel-min-work takes a count of multiply-adds, got '%s'\n", a + 20);
        return 0;
      }
    }
    else if (!strncmp(a, "--vector-bytes=", 15)) {
      char *end = NULL;
      long v = strtol(a + 15, &end, 10);
      if (!end || *end || (v != 0 && v != 16 && v != 32 && v != 64)) {
        fprintf(stderr, "perftc: error: --vector-bytes must be 64, 32, 16 or 0, got '%s'\n", a + 15);
        return 0;
      }
      o->vector_bytes = (int)v;
    }
    else if (!strncmp(a, "--debug-wrong-grad=", 19)) o->wrong_rule = a + 19;
    else if (!strcmp(a, "--config") && i + 1 < argc) o->config = argv[++i];
    else if (!strncmp(a, "--config=", 9)) o->config = a + 9;
    else if (!strncmp(a, "-D", 2)) {
      const char *eq = strchr(a + 2, '=');
      char *end = NULL;
      errno = 0;
      long long v = eq ? strtoll(eq + 1, &end, 10) : 0;
      if (!eq || eq == a + 2 || !end || end == eq + 1 || *end || o->num_overrides == 64) {
        fprintf(stderr, "perftc: error: expected -DNAME=INTEGER, got '%s'\n", a);
        return 0;
      }
      if (errno == ERANGE) {
        fprintf(stderr, "perftc: error: '%s': the value is out of range (a dim is an integer from 0 to 2^31-1)\n", a);
        return 0;
      }
      o->overrides[o->num_overrides++] = (DimOverride){strndup(a + 2, (size_t)(eq - a - 2)), v};
    } else if (a[0] == '-' && a[1]) { fprintf(stderr, "perftc: error: unknown option '%s'\n", a); usage(stderr); return 0; }
    else if (!o->input) o->input = a;
    else { fprintf(stderr, "perftc: error: more than one input file ('%s')\n", a); return 0; }
  }
  if (o->parallel_min_work < 0) o->parallel_min_work = o->target->parallel_min_work;
  if (o->vector_bytes < 0)
    o->vector_bytes = o->target->vector_bytes < 0 ? 0
                      : o->target->vector_bytes ? o->target->vector_bytes
                                                : (o->target->host_cpu ? codegen_host_vector_bytes() : 16);
  if (!o->input && !o->print_pipeline) { usage(stderr); return 0; }
  if (o->float_bits == 64 && o->frozen_bf16) {
    fprintf(stderr, "perftc: error: --frozen-dtype=bf16 goes with --dtype=f32 (the kernels widen bf16 to f32)\n");
    return 0;
  }
  if (o->stage == STAGE_PTX && !o->target->ptx_pipeline) {
    fprintf(stderr, "perftc: error: --emit=ptx needs a GPU target (--target=cuda); '%s' makes no PTX\n",
            o->target->name);
    return 0;
  }
  if (o->float_bits == 64 && o->stage == STAGE_EXE && !o->report && !o->print_pipeline) {
    fprintf(stderr, "perftc: error: --dtype=f64 makes objects for gradient checks (--emit=obj, or an earlier "
                    "stage); the training executable runs f32 programs only: drop --dtype=f64 to build one\n");
    return 0;
  }
  return 1;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

static int target_skips_fusion(const Target *target, const char *fusion) {
  for (int i = 0; target->skipped_fusions && target->skipped_fusions[i]; i++)
    if (!strcmp(target->skipped_fusions[i], fusion)) return 1;
  return 0;
}

/* The pass pipeline that takes a module from the end of stage `from` to the end of `to`
 * (the front end's module is the end of STAGE_MLIR). */
static char *pipeline_text(const Options *o, Stage from, Stage to) {
  static char text[2048];
  size_t n = (size_t)snprintf(text, sizeof text, "builtin.module(");
  const char *comma = "";
#define ADD(...) (n += (size_t)snprintf(text + n, sizeof text - n, __VA_ARGS__), comma = ",")
  if (from < STAGE_AUTODIFF && to >= STAGE_AUTODIFF) {
    char wrong[96] = "";
    if (o->wrong_rule && *o->wrong_rule) snprintf(wrong, sizeof wrong, "{wrong-rule=%s}", o->wrong_rule);
    ADD("%sperft-prune-dead,perft-autodiff%s,perft-prune-dead", comma, wrong);
  }
  for (int f = 0; f < NUM_FUSIONS && from < STAGE_FUSED && to >= STAGE_FUSED; f++)
    if (!o->no_fuse[f] && !target_skips_fusion(o->target, fusions[f])) ADD("%sperft-fuse-%s", comma, fusions[f]);
  if (from < STAGE_LOWERED && to >= STAGE_LOWERED && o->target->gemm_library)
    ADD("%sperft-attention-gemms,perft-bf16-gemm-inputs", comma);
  char bufferize_target[48] = ""; /* the CPU's scratch sizes are perft-bufferize's default */
  if (o->target->kind != TARGET_CPU) snprintf(bufferize_target, sizeof bufferize_target, "{target=%s}", target_names[o->target->kind]);
  if (from < STAGE_LOWERED && to >= STAGE_LOWERED)
    ADD("%sperft-bufferize%s,perft-plan-workspace{reuse=%d},"
        "perft-emit-kernels{target=%s parallel=%d parallel-min-work=%lld vector-bytes=%d outline=%d library=%d}",
        comma, bufferize_target, !o->no_workspace_reuse, target_names[o->target->kind],
        !o->serial, o->parallel_min_work, o->vector_bytes,
        !o->no_outline, o->target->gemm_library);
  if (from < STAGE_LOWERED && to >= STAGE_LOWERED && o->target->device_optimizer) ADD("%sperft-emit-optimizer", comma);
  if (from < STAGE_LLVM && to >= STAGE_LLVM) ADD("%sperft-manifest,%s", comma, o->target->lowering_pipeline);
  if (from < STAGE_PTX && to == STAGE_PTX) ADD("%sperft-manifest,%s", comma, o->target->ptx_pipeline);
#undef ADD
  snprintf(text + n, sizeof text - n, ")");
  return text;
}

/* Runs the pipeline from `from` to `to` over the module in one pass manager. */
static int run_pipeline(MlirModule module, const Options *o, Stage from, Stage to) {
  MlirContext context = mlirModuleGetContext(module);
  MlirPassManager pm = mlirPassManagerCreate(context);
  if (o->print_after_all) mlirPassManagerEnableIRPrinting(pm);
  int ok = perft_pipeline_add(mlirPassManagerGetAsOpPassManager(pm), pipeline_text(o, from, to), stderr) &&
           mlirLogicalResultIsSuccess(mlirPassManagerRunOnOp(pm, mlirModuleGetOperation(module)));
  mlirPassManagerDestroy(pm);
  return ok;
}

static MlirModule front_end(MlirContext context, const Options *o) {
  if (ends_with(o->input, ".mlir")) return module_read(context, "perftc", o->input);
  AstProgram *program = dsl_parse_file(o->input, stderr);
  if (!program) return (MlirModule){NULL};
  if (o->stage == STAGE_AST) {
    dsl_print_ast(program, stdout);
    dsl_free_program(program);
    exit(0);
  }
  DimOverride overrides[128];
  int num_overrides = o->num_overrides;
  memcpy(overrides, o->overrides, sizeof(DimOverride) * (size_t)num_overrides);
  if (o->config && !config_read_dims(program, o->config, overrides, &num_overrides, 128)) {
    dsl_free_program(program);
    return (MlirModule){NULL};
  }
  Graph *graph = dsl_elaborate(program, overrides, num_overrides, stderr);
  for (int i = o->num_overrides; i < num_overrides; i++) free((char *)overrides[i].name);
  MlirModule module = {NULL};
  if (graph) module = mlirgen_module(context, graph, o->float_bits, o->frozen_bf16);
  if (graph) dsl_free_graph(graph);
  dsl_free_program(program);
  return module;
}

/* Everything after the front end: passes, then the stage's output. */
static int compile_module(MlirModule module, const Options *o) {
  if (!mlirOperationVerify(mlirModuleGetOperation(module)) || !perft_verify_module(mlirModuleGetOperation(module)))
    return 0;
  if (o->stage == STAGE_MLIR) return module_write(module, o->output, o->print_locations);
  if (o->report) { /* the kernels before fusion, then after */
    KernelCounts before;
    if (!run_pipeline(module, o, STAGE_MLIR, STAGE_AUTODIFF)) return 0;
    report_count_kernels(module, &before);
    if (!run_pipeline(module, o, STAGE_AUTODIFF, STAGE_FUSED) || !report_print(module, o->input, &before, stdout))
      return 0;
    /* a GPU target: its launches, then what ptxas makes of every kernel */
    if (!o->target->launch_pipeline) return 1;
    if (!run_pipeline(module, o, STAGE_FUSED, STAGE_LOWERED) || !report_launches(module, o->target->launch_pipeline, stdout))
      return 0;
    return !o->target->ptx_pipeline || (run_pipeline(module, o, STAGE_LOWERED, STAGE_PTX) && ptx_report(module, stdout));
  }
  if (!run_pipeline(module, o, STAGE_MLIR, o->stage)) return 0;
  if (o->stage <= STAGE_LOWERED) return module_write(module, o->output, o->print_locations);
  if (o->stage == STAGE_PTX) return ptx_write(module, o->output ? o->output : "-");
  if (o->stage == STAGE_LLVM) return codegen_emit(module, o->target, EMIT_LLVM_IR, o->output ? o->output : "-" /* LLVM: stdout */);
  const char *output = o->output ? o->output : (o->stage == STAGE_OBJ ? "a.o" : "a.out");
  if (o->stage == STAGE_OBJ) return codegen_emit(module, o->target, EMIT_OBJECT, output);

  char object[] = "/tmp/perftc-XXXXXX.o"; /* a private temporary: never a file of the user's */
  int fd = mkstemps(object, 2);
  if (fd < 0) {
    perror("perftc: cannot create a temporary object file");
    return 0;
  }
  close(fd);
  const char *runtime = o->target->runtime == RUNTIME_CUDA    ? PERFT_CUDA_RUNTIME_LIBRARY
                        : o->target->runtime == RUNTIME_SPLIT ? PERFT_SPLIT_RUNTIME_LIBRARY
                                                              : PERFT_RUNTIME_LIBRARY;
  int ok = codegen_emit(module, o->target, EMIT_OBJECT, object) && codegen_link(o->target, object, runtime, output);
  unlink(object);
  return ok;
}

static int compile(const Options *o) {
  if (o->print_pipeline) {
    printf("%s\n", pipeline_text(o, STAGE_MLIR, o->report ? STAGE_FUSED : o->stage));
    return 1;
  }
  MlirContext context = perft_context_create();
  MlirModule module = front_end(context, o);
  int ok = !mlirModuleIsNull(module) && compile_module(module, o);
  if (!mlirModuleIsNull(module)) mlirModuleDestroy(module);
  mlirContextDestroy(context);
  return ok;
}

int main(int argc, char **argv) {
  Options options;
  int status = !parse_options(argc, argv, &options) ? 2 : compile(&options) ? 0 : 1;
  for (int i = 0; i < options.num_overrides; i++) free((char *)options.overrides[i].name);
  return status;
}
