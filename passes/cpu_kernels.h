/* cpu_kernels.h — the CPU kernel of each op (the op table's cpu column).
 *
 * Each takes the op (for its attributes) and its buffer-form operands b: inputs, then
 * outputs, then scratch, as op_table.c lists them; it emits loops where k's builder points
 * and returns 1, or 0 to leave the op to upstream lowering.
 */
#ifndef PERFT_CPU_KERNELS_H
#define PERFT_CPU_KERNELS_H

#include "op_table.h"

/* The lanes of a row in the GPU form of rmsnorm: a block a row, its threads summing every
 * RMSNORM_LANES-th square into a partial sum each (the op's scratch holds them). */
enum { RMSNORM_LANES = 256 };
/* The lanes of an expert in the GPU form of dispatch and route's sort of n (token, slot) pairs: each
 * owns a segment of them (the op's scratch holds their counts and first rows: 2 · E · lanes). */
enum { SORT_LANES = 256 };
/* The lanes of a row of logits in the GPU form of cross_entropy and its gradient: a block a row,
 * its threads each taking every CROSS_ENTROPY_LANES-th logit (the op's scratch: T · 2 · lanes
 * partial maxima and sums). */
enum { CROSS_ENTROPY_LANES = 256 };
/* The load balance, its gradient and the expert fractions count each expert's (token, slot) pairs on
 * a GPU with a block an expert whose lanes each take every lanes-th pair (and, for the loss, every
 * lanes-th row of router probabilities); their partial counts and sums go to the op's scratch
 * after the E counts: 2 · lanes floats an expert (expert_count_scratch). */
enum { EXPERT_COUNT_LANES = 256 };
/* causal_softmax and its gradient on a GPU: a block a row of scores, a warp of lanes each taking
 * every CAUSAL_SOFTMAX_LANES-th score (coalesced); the op's scratch holds each row's 2 (forward) or
 * 1 (gradient) partial results a lane: N · S · 2 · lanes floats (attention_kernels.c) */
enum { CAUSAL_SOFTMAX_LANES = 32 };
/* mse on a GPU: the n squared differences in chunks, a block a chunk whose lanes each take every
 * lanes-th element of it; then a lane per lane index adds it over the chunks; then one thread the
 * lanes (the op's scratch: chunks · lanes + lanes partial sums, mse_partials). */
enum { MSE_LANES = 256, MSE_CHUNKS = 256 };
/* reduce_sum/mean/max along an axis of n ≥ REDUCE_MIN_LANES elements on a GPU: a block an element of
 * the result, its lanes each taking every lanes-th element along the axis (the op's scratch: a
 * partial result a lane, reduce_lanes(n) an element of the result; shorter axes: a thread an element). */
enum { REDUCE_LANES = 256, REDUCE_MIN_LANES = 32 };
/* combine_grad_weights on a GPU: a warp a dispatched row, its lanes each taking every lanes-th
 * column of the row's dot product (the op's scratch: a partial sum a lane, R · lanes). */
enum { COMBINE_WEIGHT_LANES = 32 };
/* top_k over rows longer than TOP_K_THREAD_MOST on a GPU (expert-choice routing ranks all T tokens):
 * a warp an entry, its lanes each counting every TOP_K_LANES-th rival (the op's scratch: a partial
 * count a lane, rows · n · lanes; shorter rows: a thread an entry, no scratch). */
enum { TOP_K_LANES = 32, TOP_K_THREAD_MOST = 512 };
static inline int64_t top_k_lanes(int64_t n) { return n > TOP_K_THREAD_MOST ? TOP_K_LANES : 1; }
/* The lanes a GPU block uses over n items: min(n, most), at least 1. */
static inline int64_t lanes_over(int64_t n, int64_t most) { return n < most ? (n > 0 ? n : 1) : most; }
static inline int64_t expert_count_lanes(int64_t pairs) { return lanes_over(pairs, EXPERT_COUNT_LANES); }
static inline int64_t sort_lanes(int64_t n) { return lanes_over(n, SORT_LANES); }
/* mse's lanes and chunks over n elements */
static inline int64_t mse_lanes(int64_t n) { return lanes_over(n, MSE_LANES); }
static inline int64_t mse_chunks(int64_t n) { return lanes_over((n + mse_lanes(n) - 1) / mse_lanes(n), MSE_CHUNKS); }
static inline int64_t combine_weight_lanes(int64_t D) { return lanes_over(D, COMBINE_WEIGHT_LANES); }
/* reduce's lanes along an axis of n: 1 (no lanes: a thread an element of the result) below REDUCE_MIN_LANES */
static inline int64_t reduce_lanes(int64_t n) { return n < REDUCE_MIN_LANES ? 1 : lanes_over(n, REDUCE_LANES); }

int cpu_matmul(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_linalg_elementwise(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_scale(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_silu(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_silu_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_swiglu(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_swiglu_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_softmax(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_softmax_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_top_k(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_top_k_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_dispatch(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_dispatch_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_grouped_matmul(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_grouped_matmul_grad_weight(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_route(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_gathered_matmul(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_gathered_matmul_grad_weight(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_grouped_matmul_combine(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_matmul_scale_add(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_grouped_matmul_scale_add(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_lora_chain(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_grouped_lora_chain(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_gathered_dropout(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_unary(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_unary_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_extremum(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_extremum_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_log_softmax(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_broadcast(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_expert_rows(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_compare(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_transpose(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_gather(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_nest_indices(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_ec_dispatch(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_ec_dispatch_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_ec_combine(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_ec_combine_grad_rows(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_ec_combine_grad_weights(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_where(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_where_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_expert_rows_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_sum_to(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_log_softmax_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_reduce(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_reduce_sum_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_reduce_max_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_grouped_matmul_join(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_grouped_matmul_join_combine(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_softmax_top_k(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_concat(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_slice(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_combine(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_combine_grad_rows(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_combine_grad_weights(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_load_balance(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_load_balance_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_expert_fraction(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_mse(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_mse_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_rmsnorm(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_rmsnorm_grad_input(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_rmsnorm_grad_weight(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_rope(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_rope_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_causal_attention(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_causal_attention_grad(Kernel *k, MlirOperation op, const MlirValue *b);
/* attention_kernels.c: perft-attention-gemms' ops (library calls where the target has a GEMM library) */
int cpu_attention_scores(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_attention_apply(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_attention_apply_t(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_causal_softmax(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_causal_softmax_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_embedding(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_embedding_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_cross_entropy(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_cross_entropy_grad(Kernel *k, MlirOperation op, const MlirValue *b);
int cpu_dropout(Kernel *k, MlirOperation op, const MlirValue *b);

#endif
