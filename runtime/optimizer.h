/* optimizer.h: AdamW with decoupled weight decay, learning-rate schedule, global-norm clipping.
 *
 * For each trainable tensor p with gradient g and moments m, v (same shape), at step t = 1, 2, ...:
 *   g     <- g * clip_scale                    clip_scale = min(1, clip / ||all grads||_2)
 *   p     <- p - lr * weight_decay * p         decoupled decay (as torch.optim.AdamW)
 *   m     <- beta1 m + (1 - beta1) g
 *   v     <- beta2 v + (1 - beta2) g^2
 *   p     <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
 */
#ifndef PERFT_RUNTIME_OPTIMIZER_H
#define PERFT_RUNTIME_OPTIMIZER_H

#include <stdint.h>

typedef struct {
  double learning_rate;  /* peak */
  int warmup_steps;
  int total_steps;
  double weight_decay;
  double clip;           /* max global gradient norm; 0 disables clipping */
  double beta1, beta2, epsilon;
} OptimizerConfig;

/* Default betas/epsilon: 0.9, 0.999, 1e-8. */
void optimizer_config_defaults(OptimizerConfig *config);

/* Learning rate for step (1-based): linear warm-up lr*step/warmup for step <= warmup, then linear
 * decay lr*(total - step + 1)/(total - warmup): the last step uses lr/(total - warmup) and the
 * rate would reach 0 one step after the end. */
double learning_rate_at(const OptimizerConfig *config, int step);

/* sqrt(sum over tensors of sum g^2), accumulated in double. */
double global_grad_norm(float *const *grads, const int64_t *num_elements, int num_tensors);

/* The float constants of one step's update, in this order (the generated optimizer of a GPU target
 * reads them as float[ADAMW_CONSTANTS]: passes/emit_optimizer.c), per element:
 *   g' = g·scale;  m = beta1·m + one_minus_beta1·g';  v = beta2·v + (one_minus_beta2·g')·g'
 *   p = p·decay − (lr·(m / bias1)) / (sqrt(v / bias2) + epsilon)
 * each operation rounded to float as written. */
typedef struct {
  float beta1, one_minus_beta1, beta2, one_minus_beta2, bias1, bias2, lr, epsilon, decay, scale;
} AdamwConstants;
enum { ADAMW_CONSTANTS = sizeof(AdamwConstants) / sizeof(float) };
AdamwConstants adamw_constants(const OptimizerConfig *config, double learning_rate, double grad_scale, int step);

/* The generated gradient norm's partial sums (GPU targets: passes/emit_optimizer.c, docs/ABI.md): a
 * gradient of n elements is cut into norm_chunks(n) chunks of norm_chunk(n) elements (the last one
 * shorter), a block of NORM_LANES threads a chunk; lane l's partial sum is, over the chunks in
 * order, the sum over that chunk's elements l, l + NORM_LANES, ... of (double) g[i]². Past one
 * chunk the chunks' lane sums wait in a scratch of norm_chunks(n) · NORM_LANES doubles. */
enum { NORM_LANES = 256, NORM_ELEMENTS_PER_THREAD = 32, NORM_MAX_CHUNKS = 1024 };
static inline int64_t norm_chunks(int64_t n) {
  int64_t chunks = (n + NORM_LANES * NORM_ELEMENTS_PER_THREAD - 1) / (NORM_LANES * NORM_ELEMENTS_PER_THREAD);
  return chunks < 1 ? 1 : chunks > NORM_MAX_CHUNKS ? NORM_MAX_CHUNKS : chunks;
}
static inline int64_t norm_chunk(int64_t n) { return (n + norm_chunks(n) - 1) / norm_chunks(n); }

/* One AdamW update of one tensor (step is 1-based, grad_scale is the clipping factor). */
void adamw_update(const OptimizerConfig *config, float *param, const float *grad, float *m,
                  float *v, int64_t num_elements, double learning_rate, double grad_scale,
                  int step);

#endif
