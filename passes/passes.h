/* passes.h — perft's MLIR passes, written in C (mlirCreateExternalPass), one file each.
 *
 * The pipeline, in order (perftc --print-pipeline prints it whole):
 *   perft-prune-dead       erase ops whose results nobody reads             prune_dead.c
 *   perft-autodiff         @forward -> @train_step, reverse mode             autodiff.c (+ autodiff_rules.c)
 *   perft-fuse-*           the fusion passes (perftc --no-fuse=NAME drops one)  fuse_*.c
 *   perft-attention-gemms  (library GEMMs) causal attention as GEMMs      attention_gemms.c (+ attention_kernels.c)
 *   perft-bf16-gemm-inputs (library GEMMs) bf16 copies of GEMM inputs    bf16_gemm_inputs.c
 *   perft-bufferize        tensors -> buffers with lifetimes                  bufferize.c
 *   perft-plan-workspace   buffers -> views of one workspace                 plan_workspace.c
 *   perft-emit-kernels     perft_buffer ops -> the target's kernels          emit_kernels.c (+ cpu_kernels.c)
 *   perft-emit-optimizer   (GPU targets) AdamW and the gradient norm as kernels  emit_optimizer.c
 *   perft-manifest         the ABI of the program as a module attribute      manifest.c
 *   perft-gpu-launch       (cuda) each function's loops -> gpu.launch ops    gpu_launch.c
 *   perft-gpu-host         (cuda-host, tests) gpu.launch -> CPU loops        gpu_host.c
 *   perft-gpu-one-module   (cuda) every outlined kernel in one gpu.module    gpu_one_module.c
 * and perft-verify (verify.c), which checks every perft op against the op table; the
 * tools run it right after parsing. Every pass is registered by name (pass_registry.c):
 * a textual pipeline may mix them with upstream passes, and perft-opt runs any of them
 * alone on a .mlir file.
 */
#ifndef PERFT_PASSES_H
#define PERFT_PASSES_H

#include "op_table.h"

#include <mlir-c/Pass.h>
#include <stdio.h>

MlirPass perft_create_prune_dead_pass(void);
/* `wrong_rule` names an op whose backward rule is deliberately corrupted (tests only; "" for none). */
MlirPass perft_create_autodiff_pass(const char *wrong_rule);
MlirPass perft_create_fuse_swiglu_pass(void);
MlirPass perft_create_fuse_route_pass(void);
MlirPass perft_create_fuse_shared_input_pass(void);
MlirPass perft_create_fuse_epilogue_pass(void);
MlirPass perft_create_fuse_join_pass(void);
MlirPass perft_create_fuse_lora_chain_pass(void);
MlirPass perft_create_fuse_softmax_top_k_pass(void);
MlirPass perft_create_attention_gemms_pass(void);
MlirPass perft_create_bf16_gemm_inputs_pass(void);
/* target: whose kernels the ops' scratch buffers are sized for (op_table.h, ScratchSpec) */
MlirPass perft_create_bufferize_pass(TargetKind target);
/* reuse = 0: every buffer keeps its own range (for comparison). */
MlirPass perft_create_plan_workspace_pass(int reuse);
typedef struct {
  TargetKind target;
  int parallel;              /* GEMM blocks as scf.parallel (threads); 0: all serial */
  int64_t parallel_min_work; /* only GEMMs of at least this many multiply-adds go parallel */
  int vector_bytes;          /* the width of explicit vectors in GEMM microkernels (0: none) */
  int outline;               /* each kernel in its own never-inlined function, shared by equal ops */
  int library;               /* GEMMs as calls into the runtime's GEMM library (library_gemm.h) */
} EmitKernelsOptions;
MlirPass perft_create_emit_kernels_pass(EmitKernelsOptions options);
/* emit_optimizer.c: @grad_norm and @adamw, AdamW as generated kernels (GPU targets). */
MlirPass perft_create_emit_optimizer_pass(void);
MlirPass perft_create_manifest_pass(void);
/* gpu_launch.c: loops -> gpu.launch; gpu_host.c: gpu.launch -> CPU loops (the tests' target cuda-host). */
MlirPass perft_create_gpu_launch_pass(void);
MlirPass perft_create_gpu_host_pass(int reverse);
/* gpu_one_module.c: the kernels gpu-kernel-outlining spreads over modules, in one gpu.module. */
MlirPass perft_create_gpu_one_module_pass(void);
MlirPass perft_create_verify_pass(void);

/* The verifier of verify.c, for the tools: 0 when an op fails (diagnosed). */
int perft_verify_module(MlirOperation module);

/* Adds a textual pipeline to `pm`: "builtin.module(a,b{k=v},func.func(c),...)" or just
 * "a,b{k=v},..."; perft-* elements become our passes, the others go to MLIR's parser.
 * Prints what is wrong to `err` and returns 0 on a bad pipeline. */
int perft_pipeline_add(MlirOpPassManager pm, const char *pipeline, FILE *err);
/* Lists the registered perft passes with their options. */
void perft_list_passes(FILE *out);

/* Shared by the passes. */
MlirOperation perft_find_function(MlirOperation module, const char *name); /* null when absent */

#endif
