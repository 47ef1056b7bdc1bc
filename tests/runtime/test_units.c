/* test_units.c: manifest parsing (good, forward-compatible, and every rejection), the learning-rate
 * schedule, AdamW against a hand computation, and RNG repeatability.
 * Ends with one verdict line: "test_units: PASS" or "test_units: FAIL (n checks)". */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "manifest.h"
#include "optimizer.h"
#include "rng.h"

static int failures;
#define CHECK(condition)                                                            \
  do {                                                                              \
    if (!(condition)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      failures++;                                                                   \
    }                                                                               \
  } while (0)

static const char *good =
    "perft-manifest 1\n"
    "tokens 64\n"
    "param moe.router 8x96 frozen normal 0 0.02\n"
    "param perft_r.ad.A 4x8x96 trainable normal 0 0.5\n"
    "param perft_r.ad.B 4x96x8 trainable zeros\n"
    "param scale 1 frozen ones\n"
    "input h 64x96\n"
    "input target 64x96\n"
    "output y 64x96\n"
    "grad perft_r.ad.A 4x8x96\n"
    "grad perft_r.ad.B 4x96x8\n"
    "some-future-record 1 2 3\n"
    "teacher target y\n"
    "workspace 1234567\n";

static void test_manifest_good(void) {
  Manifest m;
  char error[512];
  CHECK(manifest_parse(good, &m, error, sizeof error));
  if (!m.version) {
    fprintf(stderr, "%s\n", error);
    return;
  }
  CHECK(m.tokens == 64);
  CHECK(m.workspace_bytes == 1234567);
  CHECK(m.num_params == 4 && m.num_inputs == 2 && m.num_outputs == 1 && m.num_grads == 2);
  CHECK(m.params[1].tensor.num_dims == 3 && m.params[1].tensor.dims[2] == 96);
  CHECK(m.params[1].tensor.num_elements == 4 * 8 * 96);
  CHECK(strcmp(m.params[1].tensor.dims_text, "4x8x96") == 0);
  CHECK(m.params[1].trainable && !m.params[0].trainable);
  CHECK(m.params[0].init == INIT_NORMAL && m.params[0].init_std == 0.02);
  CHECK(m.params[2].init == INIT_ZEROS && m.params[3].init == INIT_ONES);
  CHECK(m.grad_param_index[0] == 1 && m.grad_param_index[1] == 2);
  CHECK(m.params[1].grad_index == 0 && m.params[0].grad_index == -1);
  CHECK(m.has_teacher && m.teacher_input == 1 && m.teacher_output == 0);
  int64_t trainable, frozen;
  manifest_count_params(&m, &trainable, &frozen);
  CHECK(trainable == 2 * 4 * 8 * 96 && frozen == 8 * 96 + 1);
  manifest_destroy(&m);

  /* dtype f32 accepted; CRLF accepted */
  CHECK(manifest_parse("perft-manifest 1\r\ndtype f32\r\ntokens 1\r\noutput y 1\r\nworkspace 0\r\n",
                       &m, error, sizeof error));
  manifest_destroy(&m);
}

static void expect_rejected(const char *text, const char *message_part) {
  Manifest m;
  char error[512];
  int ok = manifest_parse(text, &m, error, sizeof error);
  CHECK(!ok);
  if (ok) manifest_destroy(&m);
  else if (!strstr(error, message_part)) {
    fprintf(stderr, "error '%s' lacks '%s'\n", error, message_part);
    failures++;
  }
}

static void test_manifest_rejections(void) {
  expect_rejected("", "perft-manifest 1");
  expect_rejected("perft-manifest 2\n", "version 2");
  expect_rejected("perft-manifest 1\ndtype bf16\ntokens 1\nworkspace 0\n", "dtype 'bf16'");
  expect_rejected("perft-manifest 1\ntokens 1\nparam w 4xx3 frozen zeros\nworkspace 0\n",
                  "line 3: bad dims '4xx3'");
  expect_rejected("perft-manifest 1\ntokens 1\nparam w 0x3 frozen zeros\nworkspace 0\n", "bad dims");
  expect_rejected("perft-manifest 1\ntokens 1\nparam w 4 frozen uniform 0 1\nworkspace 0\n",
                  "unknown init 'uniform'");
  expect_rejected("perft-manifest 1\ntokens 1\nparam w 4 frozen normal 0\nworkspace 0\n",
                  "normal MEAN STD");
  expect_rejected("perft-manifest 1\ntokens 1\nparam w 4 sometimes zeros\nworkspace 0\n",
                  "'trainable' or 'frozen'");
  expect_rejected("perft-manifest 1\ntokens 1\nparam w 4 trainable zeros\nworkspace 0\n",
                  "trainable param 'w' has no 'grad' record");
  expect_rejected("perft-manifest 1\ntokens 1\nparam w 4 trainable zeros\ngrad w 5\nworkspace 0\n",
                  "grad 'w' has shape 5");
  expect_rejected("perft-manifest 1\ntokens 1\nparam w 4 frozen zeros\ngrad w 4\nworkspace 0\n",
                  "frozen");
  expect_rejected("perft-manifest 1\ntokens 1\noutput y 4\nworkspace 0\nteacher t y\n",
                  "teacher input 't'");
  expect_rejected("perft-manifest 1\ntokens 1\ninput t 4\noutput y 5\nworkspace 0\nteacher t y\n",
                  "differ in shape");
  expect_rejected("perft-manifest 1\noutput y 4\nworkspace 0\n", "missing 'tokens N'");
  expect_rejected("perft-manifest 1\ntokens 1\noutput y 4\n", "missing 'workspace BYTES'");
  expect_rejected("perft-manifest 1\ntokens 1\ninput x 4\ninput x 4\nworkspace 0\n", "twice");
}

static void test_schedule(void) {
  OptimizerConfig config;
  optimizer_config_defaults(&config);
  config.learning_rate = 1.0;
  config.warmup_steps = 4;
  config.total_steps = 10;
  CHECK(fabs(learning_rate_at(&config, 1) - 0.25) < 1e-12);
  CHECK(fabs(learning_rate_at(&config, 4) - 1.0) < 1e-12);
  CHECK(fabs(learning_rate_at(&config, 5) - 1.0) < 1e-12);
  CHECK(fabs(learning_rate_at(&config, 10) - 1.0 / 6) < 1e-12);
  for (int s = 5; s < 10; s++) CHECK(learning_rate_at(&config, s + 1) < learning_rate_at(&config, s));
  config.warmup_steps = 0;
  CHECK(fabs(learning_rate_at(&config, 1) - 1.0) < 1e-12);
  config.warmup_steps = 20; /* warm-up longer than the run: warm-up only */
  CHECK(fabs(learning_rate_at(&config, 10) - 0.5) < 1e-12);
}

static void test_adamw(void) {
  OptimizerConfig config;
  optimizer_config_defaults(&config);
  config.weight_decay = 0.1;
  float param[2] = {1.0f, -2.0f}, grad[2] = {0.5f, -4.0f}, m[2] = {0, 0}, v[2] = {0, 0};
  adamw_update(&config, param, grad, m, v, 2, 0.01, 0.5, 1);
  /* step 1: m_hat = g', v_hat = g'^2, so the update is lr * sign(g') (minus eps effects) */
  double expected0 = 1.0 * (1 - 0.01 * 0.1) - 0.01 * 0.25 / (0.25 + 1e-8);
  double expected1 = -2.0 * (1 - 0.01 * 0.1) + 0.01 * 2.0 / (2.0 + 1e-8);
  CHECK(fabs(param[0] - expected0) < 1e-6 && fabs(param[1] - expected1) < 1e-6);
  float *grads[1] = {grad};
  int64_t counts[1] = {2};
  CHECK(fabs(global_grad_norm(grads, counts, 1) - sqrt(0.25 + 16.0)) < 1e-9);
}

static void test_rng(void) {
  Rng a, b, c;
  rng_seed(&a, 42, RNG_STREAM_DATA);
  rng_seed(&b, 42, RNG_STREAM_DATA);
  rng_seed(&c, 42, RNG_STREAM_INIT);
  int same = 1, differs = 0;
  double sum = 0, sum_squares = 0;
  for (int i = 0; i < 100000; i++) {
    double x = rng_normal(&a);
    same &= x == rng_normal(&b);
    differs |= x != rng_normal(&c);
    sum += x;
    sum_squares += x * x;
  }
  CHECK(same && differs);
  CHECK(fabs(sum / 100000) < 0.02 && fabs(sum_squares / 100000 - 1.0) < 0.02);
}

int main(void) {
  test_manifest_good();
  test_manifest_rejections();
  test_schedule();
  test_adamw();
  test_rng();
  if (failures) printf("test_units: FAIL (%d checks)\n", failures);
  else printf("test_units: PASS\n");
  return failures ? 1 : 0;
}
