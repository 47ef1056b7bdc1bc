/* pass_registry.c — every perft pass by name, and textual pipelines that mix them with upstream.
 *
 *   builtin.module(perft-prune-dead,perft-autodiff,perft-bufferize,perft-plan-workspace{reuse=1},
 *                  perft-emit-kernels{target=cpu parallel=1},func.func(convert-linalg-to-loops),...)
 *
 * MLIR's C API cannot register a pass written in C under a name its pipeline parser knows,
 * so the pipeline is split here: each perft-* element is created from this table and added
 * with mlirOpPassManagerAddOwnedPass; each run of other elements goes to
 * mlirOpPassManagerAddPipeline as it is. Both land in the one pass manager, in order.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_OPTIONS = 8 };

typedef struct {
  int count;
  char keys[MAX_OPTIONS][32], values[MAX_OPTIONS][64];
} PassOptions;

typedef struct {
  const char *name, *summary;
  const char *keys[MAX_OPTIONS]; /* the options it takes */
  const char *options_help;
  MlirPass (*create)(const PassOptions *options, FILE *err);
} PassInfo;

/* The value of `key` (the last one given, as MLIR's own parser does), or `fallback`. */
static const char *option(const PassOptions *o, const char *key, const char *fallback) {
  for (int i = o->count; i-- > 0;)
    if (!strcmp(o->keys[i], key)) return o->values[i];
  return fallback;
}

/* An integer option of pass `name` in [low, high]; 0 and a message on a bad value. */
static int int_option(const char *name, const PassOptions *o, const char *key, long long fallback, long long low,
                      long long high, long long *value, FILE *err) {
  const char *text = option(o, key, NULL);
  if (!text) {
    *value = fallback;
    return 1;
  }
  char *end = NULL;
  *value = strtoll(text, &end, 10);
  if (!*text || *end || *value < low || *value > high) {
    fprintf(err, "perft: error: %s: option '%s' takes an integer in [%lld, %lld], got '%s'\n", name, key, low, high,
            text);
    return 0;
  }
  return 1;
}

static MlirPass create_prune_dead(const PassOptions *o, FILE *err) { return perft_create_prune_dead_pass(); }
static MlirPass create_autodiff(const PassOptions *o, FILE *err) {
  return perft_create_autodiff_pass(option(o, "wrong-rule", ""));
}
static MlirPass create_fuse_swiglu(const PassOptions *o, FILE *err) { return perft_create_fuse_swiglu_pass(); }
static MlirPass create_fuse_route(const PassOptions *o, FILE *err) { return perft_create_fuse_route_pass(); }
static MlirPass create_fuse_shared_input(const PassOptions *o, FILE *err) {
  return perft_create_fuse_shared_input_pass();
}
static MlirPass create_fuse_epilogue(const PassOptions *o, FILE *err) { return perft_create_fuse_epilogue_pass(); }
static MlirPass create_fuse_join(const PassOptions *o, FILE *err) { return perft_create_fuse_join_pass(); }
static MlirPass create_fuse_lora_chain(const PassOptions *o, FILE *err) { return perft_create_fuse_lora_chain_pass(); }
static MlirPass create_fuse_softmax_top_k(const PassOptions *o, FILE *err) {
  return perft_create_fuse_softmax_top_k_pass();
}
static MlirPass create_attention_gemms(const PassOptions *o, FILE *err) { return perft_create_attention_gemms_pass(); }
static MlirPass create_bf16_gemm_inputs(const PassOptions *o, FILE *err) {
  return perft_create_bf16_gemm_inputs_pass();
}
/* The TargetKind named by option "target" (default cpu); TARGET_COUNT and a message when unknown. */
static TargetKind target_option(const char *pass, const PassOptions *o, FILE *err) {
  const char *target = option(o, "target", "cpu");
  for (int t = 0; t < TARGET_COUNT; t++)
    if (!strcmp(target_names[t], target)) return (TargetKind)t;
  fprintf(err, "perft: error: %s: unknown target '%s'\n", pass, target);
  return TARGET_COUNT;
}
static MlirPass create_bufferize(const PassOptions *o, FILE *err) {
  TargetKind target = target_option("perft-bufferize", o, err);
  return target == TARGET_COUNT ? (MlirPass){NULL} : perft_create_bufferize_pass(target);
}
static MlirPass create_plan_workspace(const PassOptions *o, FILE *err) {
  long long reuse;
  if (!int_option("perft-plan-workspace", o, "reuse", 1, 0, 1, &reuse, err)) return (MlirPass){NULL};
  return perft_create_plan_workspace_pass((int)reuse);
}
static MlirPass create_emit_kernels(const PassOptions *o, FILE *err) {
  EmitKernelsOptions options = {.target = target_option("perft-emit-kernels", o, err)};
  if (options.target == TARGET_COUNT) return (MlirPass){NULL};
  long long parallel, min_work, vector_bytes, outline, library;
  if (!int_option("perft-emit-kernels", o, "parallel", 1, 0, 1, &parallel, err) ||
      !int_option("perft-emit-kernels", o, "outline", 0, 0, 1, &outline, err) ||
      !int_option("perft-emit-kernels", o, "library", 0, 0, 1, &library, err) ||
      !int_option("perft-emit-kernels", o, "parallel-min-work", 1 << 22, 0, (long long)1 << 62, &min_work, err) ||
      !int_option("perft-emit-kernels", o, "vector-bytes", 0, 0, 256, &vector_bytes, err))
    return (MlirPass){NULL};
  if (vector_bytes & (vector_bytes - 1)) {
    fprintf(err, "perft: error: perft-emit-kernels: vector-bytes must be 0 or a power of two, got %lld\n", vector_bytes);
    return (MlirPass){NULL};
  }
  options.parallel = (int)parallel;
  options.parallel_min_work = min_work;
  options.vector_bytes = (int)vector_bytes;
  options.outline = (int)outline;
  options.library = (int)library;
  return perft_create_emit_kernels_pass(options);
}
static MlirPass create_emit_optimizer(const PassOptions *o, FILE *err) { return perft_create_emit_optimizer_pass(); }
static MlirPass create_manifest(const PassOptions *o, FILE *err) { return perft_create_manifest_pass(); }
static MlirPass create_verify(const PassOptions *o, FILE *err) { return perft_create_verify_pass(); }
static MlirPass create_gpu_launch(const PassOptions *o, FILE *err) { return perft_create_gpu_launch_pass(); }
static MlirPass create_gpu_host(const PassOptions *o, FILE *err) {
  long long reverse;
  if (!int_option("perft-gpu-host", o, "reverse", 0, 0, 1, &reverse, err)) return (MlirPass){NULL};
  return perft_create_gpu_host_pass((int)reverse);
}
static MlirPass create_gpu_one_module(const PassOptions *o, FILE *err) { return perft_create_gpu_one_module_pass(); }

static const PassInfo passes[] = {
    {"perft-verify", "check every perft op against the op table", {NULL}, "", create_verify},
    {"perft-prune-dead", "erase ops whose results nobody reads", {NULL}, "", create_prune_dead},
    {"perft-autodiff", "reverse-mode autodiff of @forward into @train_step", {"wrong-rule"},
     "wrong-rule=OP (tests only: corrupt OP's rule)", create_autodiff},
    {"perft-fuse-swiglu", "silu(a) * b as one elementwise op (perft.swiglu)", {NULL}, "", create_fuse_swiglu},
    {"perft-fuse-route", "gather routed rows inside the expert GEMMs, combine in their epilogue", {NULL}, "",
     create_fuse_route},
    {"perft-fuse-shared-input", "GEMMs that read one input as one GEMM over the stacked weights", {NULL}, "",
     create_fuse_shared_input},
    {"perft-fuse-epilogue", "a GEMM's scale and residual add in its epilogue", {NULL}, "", create_fuse_epilogue},
    {"perft-fuse-join", "PERFT-E folding: an expert's adapter up-projection joins its W2 GEMM", {NULL}, "", create_fuse_join},
    {"perft-fuse-lora-chain", "a LoRA's dropout, down- and up-projection as one kernel", {NULL}, "", create_fuse_lora_chain},
    {"perft-fuse-softmax-top-k", "a router's softmax and top-k as one kernel", {NULL}, "", create_fuse_softmax_top_k},
    {"perft-attention-gemms", "causal attention as GEMMs over a square of scores per (sequence, head)", {NULL}, "",
     create_attention_gemms},
    {"perft-bf16-gemm-inputs", "a GEMM with a bf16 weight reads a bf16 copy of its other operand", {NULL}, "",
     create_bf16_gemm_inputs},
    {"perft-bufferize", "tensors to buffers with lifetimes; perft ops to perft_buffer ops", {"target"},
     "target=cpu|cuda (default cpu: whose kernels the scratch buffers are sized for)", create_bufferize},
    {"perft-plan-workspace", "place every buffer in one workspace by liveness", {"reuse"},
     "reuse=0|1 (default 1)", create_plan_workspace},
    {"perft-emit-kernels", "perft_buffer ops and GEMMs to the target's kernels",
     {"target", "parallel", "parallel-min-work", "vector-bytes", "outline", "library"},
     "target=cpu|cuda parallel=0|1 (default 1) parallel-min-work=N (default 4194304) vector-bytes=N (default 0) outline=0|1 "
     "(default 0) library=0|1 (default 0: GEMMs as loop nests; 1: as runtime GEMM library calls)",
     create_emit_kernels},
    {"perft-emit-optimizer", "AdamW and the gradient norm as generated kernels (@grad_norm, @adamw)", {NULL}, "",
     create_emit_optimizer},
    {"perft-manifest", "record the program's ABI as the module attribute perft.manifest", {NULL}, "",
     create_manifest},
    {"perft-gpu-launch", "each function's loops become gpu.launch ops (target cuda)", {NULL}, "", create_gpu_launch},
    {"perft-gpu-host", "gpu.launch bodies as CPU loops over blocks and threads (target cuda-host, tests)", {"reverse"},
     "reverse=0|1 (default 0; 1: blocks and threads in the opposite order, to expose races)", create_gpu_host},
    {"perft-gpu-one-module", "every outlined GPU kernel in one gpu.module (target cuda)", {NULL}, "",
     create_gpu_one_module},
};

void perft_list_passes(FILE *out) {
  for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++) {
    fprintf(out, "  %-22s %s\n", passes[i].name, passes[i].summary);
    if (*passes[i].options_help) fprintf(out, "  %-22s   options: %s\n", "", passes[i].options_help);
  }
}

/* Parses "k=v k2=v2" (text of length n) into o, checking the keys against info's. */
static int parse_options(const PassInfo *info, const char *text, size_t n, PassOptions *o, FILE *err) {
  *o = (PassOptions){0};
  size_t i = 0;
  while (i < n) {
    while (i < n && text[i] == ' ') i++;
    if (i == n) break;
    size_t start = i;
    while (i < n && text[i] != ' ') i++;
    const char *eq = memchr(text + start, '=', i - start);
    if (!eq || eq == text + start) {
      fprintf(err, "perft: error: %s: expected KEY=VALUE options, got '%.*s'\n", info->name, (int)(i - start), text + start);
      return 0;
    }
    if (o->count == MAX_OPTIONS) {
      fprintf(err, "perft: error: %s: more than %d options\n", info->name, MAX_OPTIONS);
      return 0;
    }
    size_t key_length = (size_t)(eq - text - start), value_length = i - start - key_length - 1;
    if (key_length >= sizeof o->keys[0] || value_length >= sizeof o->values[0]) {
      fprintf(err, "perft: error: %s: option too long: '%.*s'\n", info->name, (int)(i - start), text + start);
      return 0;
    }
    memcpy(o->keys[o->count], text + start, key_length);
    memcpy(o->values[o->count], eq + 1, value_length);
    int known = 0;
    for (int k = 0; k < MAX_OPTIONS && info->keys[k]; k++) known |= !strcmp(info->keys[k], o->keys[o->count]);
    if (!known) {
      fprintf(err, "perft: error: %s has no option '%s'%s%s\n", info->name, o->keys[o->count],
                    *info->options_help ? "; options: " : "", info->options_help);
      return 0;
    }
    o->count++;
  }
  return 1;
}

static const PassInfo *find_pass(const char *name, size_t n) {
  for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++)
    if (strlen(passes[i].name) == n && !memcmp(passes[i].name, name, n)) return &passes[i];
  return NULL;
}

static void print_error(MlirStringRef s, void *err) { fwrite(s.data, 1, s.length, err); }

/* Hands the pending upstream elements [start, end) of text to MLIR's parser. */
static int flush_upstream(MlirOpPassManager pm, const char *text, size_t start, size_t end, FILE *err) {
  if (end <= start) return 1;
  MlirLogicalResult r = mlirOpPassManagerAddPipeline(pm, (MlirStringRef){text + start, end - start}, print_error, err);
  if (mlirLogicalResultIsFailure(r)) {
    fputc('\n', err);
    return 0;
  }
  return 1;
}

int perft_pipeline_add(MlirOpPassManager pm, const char *pipeline, FILE *err) {
  size_t n = strlen(pipeline);
  const char *text = pipeline;
  const char prefix[] = "builtin.module(";
  if (!strncmp(text, prefix, sizeof prefix - 1)) {
    if (n < sizeof prefix || text[n - 1] != ')') {
      fprintf(err, "perft: error: a pipeline 'builtin.module(...)' must end with ')'\n");
      return 0;
    }
    text += sizeof prefix - 1;
    n -= sizeof prefix;
  }
  if (n > 0 && text[n - 1] == ',') {
    fprintf(err, "perft: error: an empty element in the pipeline '%s' (two commas, or one at an end)\n", pipeline);
    return 0;
  }
  size_t pending = 0, i = 0; /* upstream elements not yet handed over start at `pending` */
  while (i < n) {
    size_t start = i;
    int depth = 0;
    while (i < n && (depth > 0 || text[i] != ',')) {
      if (text[i] == '(' || text[i] == '{') depth++;
      if (text[i] == ')' || text[i] == '}') depth--;
      i++;
    }
    if (i == start) {
      fprintf(err, "perft: error: an empty element in the pipeline '%s' (two commas, or one at an end)\n", pipeline);
      return 0;
    }
    size_t name_end = start;
    while (name_end < i && text[name_end] != '{' && text[name_end] != '(') name_end++;
    if (name_end - start > 6 && !memcmp(text + start, "perft-", 6)) {
      const PassInfo *info = find_pass(text + start, name_end - start);
      if (!info) {
        fprintf(err, "perft: error: no pass named '%.*s'; the perft passes are:\n", (int)(name_end - start), text + start);
        perft_list_passes(err);
        return 0;
      }
      PassOptions options;
      size_t options_length = name_end < i ? i - name_end - 2 : 0;
      if (name_end < i && (text[name_end] != '{' || text[i - 1] != '}')) {
        fprintf(err, "perft: error: %s: options go in braces: %s{KEY=VALUE ...}\n", info->name, info->name);
        return 0;
      }
      if (!flush_upstream(pm, text, pending, start > pending ? start - 1 : pending, err) ||
          !parse_options(info, text + name_end + 1, options_length, &options, err))
        return 0;
      MlirPass pass = info->create(&options, err);
      if (!pass.ptr) return 0;
      mlirOpPassManagerAddOwnedPass(pm, pass);
      pending = i + 1;
    }
    i++; /* the comma */
  }
  return flush_upstream(pm, text, pending, n, err);
}
