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

AdamwConstants adamw_constants(const OptimizerConfig *config, double learning_rate, double grad_scale, int step) {
  AdamwConstants c;
  c.beta1 = (float)config->beta1;
  c.one_minus_beta1 = 1.0f - c.beta1;
  c.beta2 = (float)config->beta2;
  c.one_minus_beta2 = 1.0f - c.beta2;
  c.bias1 = (float)(1.0 - pow(config->beta1, step));
  c.bias2 = (float)(1.0 - pow(config->beta2, step));
  c.lr = (float)learning_rate;
  c.epsilon = (float)config->epsilon;
  c.decay = (float)(1.0 - learning_rate * config->weight_decay);
  c.scale = (float)grad_scale;
  return c;
}

void adamw_update(const OptimizerConfig *config, float *param, const float *grad, float *m,
                  float *v, int64_t num_elements, double learning_rate, double grad_scale,
                  int step) {
  AdamwConstants c = adamw_constants(config, learning_rate, grad_scale, step);
  for (int64_t i = 0; i < num_elements; i++) {
    float g = grad[i] * c.scale;
    m[i] = c.beta1 * m[i] + c.one_minus_beta1 * g;
    v[i] = c.beta2 * v[i] + c.one_minus_beta2 * g * g;
    float m_hat = m[i] / c.bias1;
    float v_hat = v[i] / c.bias2;
    param[i] = param[i] * c.decay - c.lr * m_hat / (sqrtf(v_hat) + c.epsilon);
  }
}
