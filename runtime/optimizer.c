/* optimizer.c: AdamW, schedule and clipping; see optimizer.h for the equations. */
#include "optimizer.h"

#include <math.h>

void optimizer_config_defaults(OptimizerConfig *config) {
  config->learning_rate = 3e-3;
  config->warmup_steps = 20;
  config->total_steps = 300;
  config->weight_decay = 0.0;
  config->clip = 1.0;
  config->beta1 = 0.9;
  config->beta2 = 0.999;
  config->epsilon = 1e-8;
}

double learning_rate_at(const OptimizerConfig *config, int step) {
  if (step <= config->warmup_steps)
    return config->learning_rate * step / config->warmup_steps;
  int decay_steps = config->total_steps - config->warmup_steps;
  if (decay_steps <= 0) return config->learning_rate;
  double remaining = config->total_steps - step + 1;
  if (remaining < 0) remaining = 0;
  return config->learning_rate * remaining / decay_steps;
}

double global_grad_norm(float *const *grads, const int64_t *num_elements, int num_tensors) {
  double sum = 0.0;
  for (int t = 0; t < num_tensors; t++) {
    const float *grad = grads[t];
    for (int64_t i = 0; i < num_elements[t]; i++) sum += (double)grad[i] * grad[i];
  }
  return sqrt(sum);
}

void adamw_update(const OptimizerConfig *config, float *param, const float *grad, float *m,
                  float *v, int64_t num_elements, double learning_rate, double grad_scale,
                  int step) {
  float beta1 = (float)config->beta1, beta2 = (float)config->beta2;
  float bias1 = (float)(1.0 - pow(config->beta1, step));
  float bias2 = (float)(1.0 - pow(config->beta2, step));
  float lr = (float)learning_rate, eps = (float)config->epsilon;
  float decay = (float)(1.0 - learning_rate * config->weight_decay);
  float scale = (float)grad_scale;
  for (int64_t i = 0; i < num_elements; i++) {
    float g = grad[i] * scale;
    m[i] = beta1 * m[i] + (1.0f - beta1) * g;
    v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
    float m_hat = m[i] / bias1;
    float v_hat = v[i] / bias2;
    param[i] = param[i] * decay - lr * m_hat / (sqrtf(v_hat) + eps);
  }
}
