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

/* One AdamW update of one tensor (step is 1-based, grad_scale is the clipping factor). */
void adamw_update(const OptimizerConfig *config, float *param, const float *grad, float *m,
                  float *v, int64_t num_elements, double learning_rate, double grad_scale,
                  int step);

#endif
