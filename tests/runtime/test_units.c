/* test_units.c: manifest parsing (good, forward-compatible, and every rejection), the learning-rate
 * schedule, AdamW against a hand computation, and RNG repeatability.
 * Ends with one verdict line: "test_units: PASS" or "test_units: FAIL (n checks)". */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "data.h"
#include "manifest.h"
#include "optimizer.h"
#include "program.h"
#include "rng.h"
#include "tasks.h"
#include "bf16.h"

/* data.c calls the teacher's forward through launch_cpu.c, which also names the train step;
 * no test here has a teacher or trains. */
void perft_forward(void **buffers);
void perft_forward(void **buffers) { (void)buffers; }
void perft_train_step(void **buffers);
void perft_train_step(void **buffers) { (void)buffers; }

#include "test_check.h"

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

  /* dtype f32 accepted; CRLF accepted; no optimizer record: the C optimizer */
  CHECK(manifest_parse("perft-manifest 1\r\ndtype f32\r\ntokens 1\r\noutput y 1\r\nworkspace 0\r\n",
                       &m, error, sizeof error));
  CHECK(m.optimizer_lanes == 0);
  manifest_destroy(&m);
  /* the generated optimizer's record (GPU targets) */
  CHECK(manifest_parse("perft-manifest 1\ntokens 1\noutput y 1\noptimizer device 256 512\nworkspace 0\n", &m, error,
                       sizeof error));
  CHECK(m.optimizer_lanes == 256 && m.optimizer_scratch == 512);
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
  expect_rejected("perft-manifest 1\ntokens 1\noptimizer host 256 0\nworkspace 0\n", "'optimizer device LANES SCRATCH'");
  expect_rejected("perft-manifest 1\ntokens 1\noptimizer device 0 0\nworkspace 0\n", "LANES in [1, 65536]");
  expect_rejected("perft-manifest 1\ntokens 1\noptimizer device 256\nworkspace 0\n", "'optimizer device LANES SCRATCH'");
  expect_rejected("perft-manifest 1\ntokens 1\noptimizer device 256 -1\nworkspace 0\n", "SCRATCH in [0, 2^24]");
}

static const char *token_manifest =
    "perft-manifest 1\n"
    "tokens 16\n"
    "param embed 11x8 frozen normal 0 1\n"
    "param lora.A 8x4 trainable normal 0 0.3 adapter\n"
    "param lora.B 4x11 trainable zeros adapter\n"
    "classify logits labels\n" /* before its input: resolved at the end */
    "input tokens 2x8 i32\n"
    "input labels 2x8 i32\n"
    "input seed 1 i32\n"
    "input noise 4 f32\n"
    "range tokens 11\n"
    "seed seed\n"
    "output logits 2x8x11\n"
    "grad lora.A 8x4\n"
    "grad lora.B 4x11\n"
    "workspace 64\n";

static void test_manifest_tokens(void) {
  Manifest m;
  char error[512];
  CHECK(manifest_parse(token_manifest, &m, error, sizeof error));
  if (!m.version) {
    fprintf(stderr, "%s\n", error);
    return;
  }
  CHECK(m.num_inputs == 4);
  CHECK(m.inputs[0].element_type == ELEMENT_I32 && m.inputs[0].range == 11);
  CHECK(m.inputs[1].element_type == ELEMENT_I32 && m.inputs[1].range == 11); /* from classify */
  CHECK(m.inputs[3].element_type == ELEMENT_F32 && m.inputs[3].range == 0);
  CHECK(m.seed_input == 2);
  CHECK(m.has_classify && m.classify_output == 0 && m.classify_input == 1);
  CHECK(!m.params[0].adapter && m.params[1].adapter && m.params[2].adapter);
  CHECK(m.params[1].init == INIT_NORMAL && m.params[1].init_std == 0.3);
  CHECK(m.params[2].init == INIT_ZEROS);
  int64_t adapter, base;
  manifest_count_adapter_params(&m, &adapter, &base);
  CHECK(adapter == 8 * 4 + 4 * 11 && base == 11 * 8);
  DataPlan plan;
  data_plan_create(&m, NULL, NULL, &plan);
  CHECK(plan.kind == DATA_TASK && plan.task.kind == TASK_AFFINE && plan.task.scale == 1 &&
        plan.task.offset == 0);
  CHECK(plan.label_input == 1 && plan.num_token_inputs == 1 && plan.token_inputs[0] == 0);
  CHECK(!plan.held_out_split);
  manifest_destroy(&m);

  const char *head = "perft-manifest 1\ntokens 4\noutput y 4x3\nworkspace 0\n";
  char text[512];
  snprintf(text, sizeof text, "%sinput x 4 f32\nrange x 3\n", head);
  expect_rejected(text, "range: input 'x' is not i32");
  snprintf(text, sizeof text, "%sinput x 4 i32\nrange x 0\n", head);
  expect_rejected(text, "range 'x'");
  snprintf(text, sizeof text, "%sinput x 4 i64\n", head);
  expect_rejected(text, "element type 'i64'");
  snprintf(text, sizeof text, "%sinput s 2 i32\nseed s\n", head);
  expect_rejected(text, "seed input 's' must be i32 with shape 1");
  snprintf(text, sizeof text, "%sseed nothing\n", head);
  expect_rejected(text, "seed: 'nothing' is not an input");
  snprintf(text, sizeof text, "%sinput l 5 i32\nclassify y l\n", head);
  expect_rejected(text, "one row of V classes per label");
  snprintf(text, sizeof text, "%sinput l 4 i32\nrange l 7\nclassify y l\n", head);
  expect_rejected(text, "range 7 but logits 'y' have 3 classes");
  snprintf(text, sizeof text, "%sinput l 4\nclassify y l\n", head);
  expect_rejected(text, "must be i32 labels");
  snprintf(text, sizeof text, "%sinput t 4 i32\nteacher t y\n", head);
  expect_rejected(text, "teacher input 't' must be f32");
  expect_rejected("perft-manifest 1\ntokens 1\nparam w 4 frozen zeros extra\nworkspace 0\n",
                  "unknown init 'zeros'");
}

static void test_token_tasks(void) {
  TokenTask task;
  char error[256];
  CHECK(token_task_parse("affine:3:1", &task, error, sizeof error));
  CHECK(task.kind == TASK_AFFINE && task.scale == 3 && task.offset == 1);
  CHECK(token_task_parse("affine:-2:7", &task, error, sizeof error) && task.scale == -2);
  CHECK(token_task_parse("add:5", &task, error, sizeof error));
  CHECK(task.kind == TASK_ADD && task.constant == 5);
  const char *bad[] = {"affine:3", "affine:3:", "affine:a:1", "add:", "add:1:2", "mul:2",
                       "affine:9999999999:1", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    CHECK(!token_task_parse(bad[i], &task, error, sizeof error));
  CHECK(strstr(error, "affine:A:B or add:C") != NULL);

  /* the held-out rule: about one pair in five, symmetric in nothing, fixed (matches test_cli.py) */
  int held = 0;
  for (int a = 0; a < 200; a++)
    for (int b = 0; b < 200; b++) held += token_pair_held_out(a, b);
  CHECK(held > 40000 / 5 - 400 && held < 40000 / 5 + 400);
  /* the step seed: never 0, non-negative, differs between steps and between --seed values */
  int zero = 0, repeats = 0;
  for (uint64_t seed = 0; seed < 20; seed++)
    for (int step = 1; step <= 5000; step++) {
      int32_t value = training_step_seed(seed, step);
      zero += value <= 0;
      repeats += value == training_step_seed(seed, step - 1 ? step - 1 : 5000);
    }
  CHECK(zero == 0 && repeats == 0);
  CHECK(training_step_seed(1, 1) != training_step_seed(2, 1));
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
  /* jumping ahead n steps is n steps (the powers of two of the state's map, from 0 to past 2^32) */
  static const uint64_t jumps[] = {0, 1, 2, 3, 64, 1000, 65537};
  for (size_t j = 0; j < sizeof jumps / sizeof jumps[0]; j++) {
    Rng walked, jumped;
    rng_seed(&walked, 7, RNG_STREAM_INIT);
    jumped = walked;
    for (uint64_t i = 0; i < jumps[j]; i++) rng_next_u64(&walked);
    rng_jump(&jumped, jumps[j]);
    CHECK(!memcmp(walked.state, jumped.state, sizeof walked.state));
  }
  Rng far_walked, far_jumped;
  rng_seed(&far_walked, 7, RNG_STREAM_INIT);
  far_jumped = far_walked;
  rng_jump(&far_walked, (uint64_t)1 << 32);
  rng_jump(&far_walked, (uint64_t)1 << 32);
  rng_jump(&far_jumped, (uint64_t)1 << 33);
  CHECK(!memcmp(far_walked.state, far_jumped.state, sizeof far_walked.state));
  /* a fill in parts, each from its own place (odd and even), is the fill in one go */
  enum { N = 10001 };
  static float whole[N], parts[N];
  Rng start, one_go;
  rng_seed(&start, 3, RNG_STREAM_INIT);
  one_go = start;
  rng_fill_normal(&one_go, whole, N, 0.5, 0.02);
  static const int64_t cuts[] = {0, 1, 2, 7, 8, 1000, 4097, N};
  for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++) {
    Rng part = start;
    rng_skip_normals(&part, (uint64_t)cuts[c]);
    rng_fill_normal(&part, parts + cuts[c], cuts[c + 1] - cuts[c], 0.5, 0.02);
  }
  CHECK(!memcmp(whole, parts, sizeof whole));
}

/* init eye (ones where the last two indices are equal, per leading index) and const VALUE */
static void test_param_inits(void) {
  Manifest m;
  char error[512];
  const char *text = "perft-manifest 1\ndtype f32\ntokens 1\nparam e 2x3x2 frozen eye\n"
                     "param c 3 trainable const 0.25\ngrad c 3\noutput y 1\nworkspace 0\n";
  CHECK(manifest_parse(text, &m, error, sizeof error));
  if (!m.version) {
    fprintf(stderr, "%s\n", error);
    return;
  }
  CHECK(m.params[0].init == INIT_EYE && m.params[1].init == INIT_CONST && m.params[1].init_mean == 0.25);
  Arena arena;
  arena_create(&arena, &m, ARENA_FORWARD_BACKWARD);
  params_initialise(&m, &arena, 1, NULL, NULL, 0, WEIGHTS_FROZEN_REQUIRED);
  static const float eye[12] = {1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0};
  for (int i = 0; i < 12; i++) CHECK(arena.params[0][i] == eye[i]);
  for (int i = 0; i < 3; i++) CHECK(arena.params[1][i] == 0.25f);
  arena_destroy(&arena);
  manifest_destroy(&m);
  expect_rejected("perft-manifest 1\ndtype f32\ntokens 1\nparam c 3 trainable const\nworkspace 0\n", "const VALUE");

  /* copy SOURCE START STOP: rows of another param, after the weights (here: its own init) */
  const char *copying = "perft-manifest 1\ndtype f32\ntokens 1\nparam r 4x3 frozen normal 0 1\n"
                        "param q 2x2 trainable copy r 1:3,1:3 adapter\ngrad q 2x2\noutput y 1\nworkspace 0\n";
  CHECK(manifest_parse(copying, &m, error, sizeof error));
  if (!m.version) {
    fprintf(stderr, "%s\n", error);
    return;
  }
  CHECK(m.params[1].init == INIT_COPY && m.params[1].copy_source == 0 && m.params[1].copy_starts[0] == 1 &&
        m.params[1].copy_stops[1] == 3);
  arena_create(&arena, &m, ARENA_FORWARD_BACKWARD);
  params_initialise(&m, &arena, 1, NULL, NULL, 0, WEIGHTS_FROZEN_REQUIRED);
  static const int from[4] = {4, 5, 7, 8}; /* r[1:3, 1:3] of a 4x3 r */
  for (int i = 0; i < 4; i++) CHECK(arena.params[1][i] == arena.params[0][from[i]] && arena.params[1][i] != 0.0f);
  arena_destroy(&arena);
  manifest_destroy(&m);
  expect_rejected("perft-manifest 1\ndtype f32\ntokens 1\nparam r 4x3 frozen zeros\nparam q 2x3 frozen copy r 1:4,0:3\n"
                  "output y 1\nworkspace 0\n",
                  "a slice that does not have its shape");
  expect_rejected("perft-manifest 1\ndtype f32\ntokens 1\nparam q 2x3 frozen copy s 0:2,0:3\noutput y 1\nworkspace 0\n",
                  "names no param");
}

/* The answer the official evaluation's regexes (re.findall(...)[0]) take from a generated text. */
static void test_task_answers(void) {
  const char *cases[][3] = {
      {"boolq", "the correct answer is false, not true", "false"}, {"boolq", "True", ""},
      {"piqa", "solution3 or solution2", "solution2"},   {"social_i_qa", "answer6 then answer10", "answer1"},
      {"hellaswag", "ending5 ending4", "ending4"},      {"winogrande", "option2option1", "option2"},
      {"ARC-Challenge", "answer 3", ""},                {"openbookqa", "xanswer5", "answer5"},
      {"ARC-Easy", "", ""},                              {"unknown", "answer1", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char answer[32];
    task_extract_answer(cases[i][0], cases[i][1], answer, sizeof answer);
    CHECK(strcmp(answer, cases[i][2]) == 0);
  }
}

/* bf16: rounded to nearest even, NaN kept, every bf16 an exact float. */
static void test_bf16(void) {
  CHECK(float_to_bf16(1.0f) == 0x3F80);
  CHECK(float_to_bf16(1.00390625f) == 0x3F80);   /* halfway: to even */
  CHECK(float_to_bf16(1.01171875f) == 0x3F82);   /* halfway: to even (up) */
  CHECK(float_to_bf16(-2.0f) == 0xC000);
  CHECK(isnan(bf16_to_float(float_to_bf16(NAN))));
  CHECK(float_to_bf16(INFINITY) == 0x7F80);
  for (uint32_t bits = 0; bits < 0x10000; bits += 7) {
    float value = bf16_to_float((uint16_t)bits);
    if (!isnan(value)) CHECK(float_to_bf16(value) == bits);
  }
}

int main(void) {
  test_task_answers();
  test_bf16();
  test_param_inits();
  test_manifest_good();
  test_manifest_rejections();
  test_manifest_tokens();
  test_token_tasks();
  test_schedule();
  test_adamw();
  test_rng();
  if (failures) printf("test_units: FAIL (%d checks)\n", failures);
  else printf("test_units: PASS\n");
  return failures ? 1 : 0;
}
