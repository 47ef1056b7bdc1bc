/* bench_step: times the generated perft_train_step of one compiled .perft program.
 *
 * Linked with the object `perftc ... --emit=obj` writes (docs/ABI.md), and nothing of the runtime:
 * this harness has its own manifest parser, its own buffers and its own random numbers.
 *
 *   buffers = [params..., inputs..., loss, outputs..., grads..., workspace]   (docs/ABI.md order)
 *
 * Every step draws a NEW input (every f32 input from N(0,1)) before the clock starts; only the call
 * perft_train_step(buffers) is timed (CLOCK_MONOTONIC). Warm-up steps are run and discarded, then the
 * median of the timed steps is reported, with GFLOP/s from PERFORMANCE.md's GEMM FLOP formulas for
 * an MoE block + PERFT-R in mode A (frozen experts forward only, weight gradients for the adapters):
 *
 *   MoE forward                 2·T·D·E + 6·T·k·D·F
 *   adapter forward             2·T·D·N + 4·T·K̃·D·r
 *   adapter weight gradients    2·T·D·N + 6·T·K̃·D·r
 *
 * The sizes come from --dims (k and K̃ are not visible in the manifest); the ones the manifest does
 * show (tokens, h, the routers, the expert and LoRA banks) are checked against it.
 *
 * usage: bench_step --dims T,D,E,K,F,N,Kt,r [--steps N] [--warmup N] [--seed N] [--peak GFLOPS]
 * The last line is machine-readable: RESULT perft key=value ...
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const char perft_manifest[];
void perft_train_step(void **buffers);

#define MAX_RECORDS 256
#define MAX_RANK 8

static void die(const char *message, const char *detail) {
  fprintf(stderr, "bench_step: error: %s%s%s\n", message, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

/* ---- random numbers: splitmix64 + Box-Muller ---- */
static uint64_t rng_state;
static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double rng_uniform(void) { return ((rng_next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); } /* (0,1) */
static void fill_normal(float *x, size_t n, double mean, double std) {
  for (size_t i = 0; i < n; i += 2) {
    double radius = sqrt(-2.0 * log(rng_uniform())), angle = 6.283185307179586 * rng_uniform();
    x[i] = (float)(mean + std * radius * cos(angle));
    if (i + 1 < n) x[i + 1] = (float)(mean + std * radius * sin(angle));
  }
}

/* ---- the manifest ---- */
typedef enum { KIND_PARAM, KIND_INPUT, KIND_OUTPUT, KIND_GRAD } Kind;
typedef struct {
  Kind kind;
  char name[128];
  int rank;
  int64_t dims[MAX_RANK];
  size_t count;          /* elements */
  int is_i32;            /* inputs only */
  int trainable;         /* params only */
  char init[16];         /* params only: normal | zeros | ones */
  double init_a, init_b; /* normal: mean, std */
  int64_t range;         /* i32 inputs: values in [0, range); 0 = none */
  int is_seed;           /* i32 [1] input that carries the dropout seed */
  void *data;
} Record;

typedef struct {
  Record records[MAX_RECORDS];
  int count;
  int64_t tokens, workspace;
} Manifest;

static int parse_dims(const char *text, Record *r) {
  r->rank = 0;
  r->count = 1;
  const char *p = text;
  while (*p) {
    char *end;
    errno = 0;
    long long d = strtoll(p, &end, 10);
    if (end == p || errno || d <= 0 || r->rank == MAX_RANK) return 0;
    r->dims[r->rank++] = d;
    r->count *= (size_t)d;
    p = end;
    if (*p == 'x') p++;
    else if (*p) return 0;
  }
  return r->rank > 0;
}

static Record *find(Manifest *m, Kind kind, const char *name) {
  for (int i = 0; i < m->count; i++)
    if (m->records[i].kind == kind && !strcmp(m->records[i].name, name)) return &m->records[i];
  return NULL;
}

static void parse_manifest(Manifest *m, const char *text) {
  memset(m, 0, sizeof *m);
  m->tokens = m->workspace = -1;
  char *copy = strdup(text), *save = NULL;
  int line_number = 0;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    line_number++;
    char *field[8] = {0}, *save_field = NULL;
    int n = 0;
    for (char *f = strtok_r(line, " ", &save_field); f && n < 8; f = strtok_r(NULL, " ", &save_field)) field[n++] = f;
    if (n == 0 || field[0][0] == '#') continue;
    if (line_number == 1) {
      if (n != 2 || strcmp(field[0], "perft-manifest") || strcmp(field[1], "1")) die("not a v1 manifest", field[0]);
      continue;
    }
    Kind kind;
    if (!strcmp(field[0], "tokens") && n == 2) { m->tokens = atoll(field[1]); continue; }
    if (!strcmp(field[0], "workspace") && n == 2) { m->workspace = atoll(field[1]); continue; }
    if (!strcmp(field[0], "dtype")) {
      if (n != 2 || strcmp(field[1], "f32")) die("this harness times f32 programs only; dtype", field[1]);
      continue;
    }
    if (!strcmp(field[0], "range") && n == 3) {
      Record *r = find(m, KIND_INPUT, field[1]);
      if (r) r->range = atoll(field[2]);
      continue;
    }
    if (!strcmp(field[0], "seed") && n == 2) {
      Record *r = find(m, KIND_INPUT, field[1]);
      if (r && r->is_i32 && r->count == 1) r->is_seed = 1;
      else fprintf(stderr, "bench_step: warning: manifest record `seed %s` names no i32[1] input; ignored\n", field[1]);
      continue;
    }
    if (!strcmp(field[0], "param")) kind = KIND_PARAM;
    else if (!strcmp(field[0], "input")) kind = KIND_INPUT;
    else if (!strcmp(field[0], "output")) kind = KIND_OUTPUT;
    else if (!strcmp(field[0], "grad")) kind = KIND_GRAD;
    else continue; /* teacher, classify and unknown records do not change the buffers */
    if (n < 3 || m->count == MAX_RECORDS) die("bad manifest record", field[0]);
    Record *r = &m->records[m->count++];
    r->kind = kind;
    snprintf(r->name, sizeof r->name, "%s", field[1]);
    if (!parse_dims(field[2], r)) die("bad dims in the manifest", field[2]);
    if (kind == KIND_PARAM) {
      if (n < 5) die("param record without init", r->name);
      r->trainable = !strcmp(field[3], "trainable");
      snprintf(r->init, sizeof r->init, "%s", field[4]);
      if (!strcmp(r->init, "normal")) {
        if (n < 7) die("normal init without mean and std", r->name);
        r->init_a = atof(field[5]);
        r->init_b = atof(field[6]);
      } else if (strcmp(r->init, "zeros") && strcmp(r->init, "ones")) die("unknown init", r->init);
    }
    if (kind == KIND_INPUT && n >= 4) {
      if (!strcmp(field[3], "i32")) r->is_i32 = 1;
      else if (strcmp(field[3], "f32")) die("unknown input element type", field[3]);
    }
  }
  free(copy);
  if (m->tokens <= 0 || m->workspace < 0) die("the manifest lacks tokens or workspace", NULL);
}

static void *aligned_buffer(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  void *p = aligned_alloc(64, rounded ? rounded : 64);
  if (!p) die("out of memory", NULL);
  memset(p, 0, rounded ? rounded : 64); /* first touch now, not in the timed region */
  return p;
}

static void check_shape(Manifest *m, Kind kind, const char *name, int rank, const int64_t *want) {
  Record *r = find(m, kind, name);
  if (!r) {
    fprintf(stderr, "bench_step: warning: the manifest has no %s; its sizes are not checked\n", name);
    return;
  }
  int ok = r->rank == rank;
  for (int i = 0; ok && i < rank; i++) ok = r->dims[i] == want[i];
  if (!ok) die("--dims disagree with the manifest's shape of", name);
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  long long T = 0, D = 0, E = 0, K = 0, F = 0, N = 0, Kt = 0, r = 0;
  int steps = 30, warmup = 3;
  unsigned long long seed = 1;
  double peak = 212.0; /* fp32 FMA peak of one core (PERFORMANCE.md); the generated code is single-threaded */
  for (int i = 1; i < argc; i++) {
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--dims") && value) {
      if (sscanf(value, "%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld", &T, &D, &E, &K, &F, &N, &Kt, &r) != 8)
        die("--dims wants T,D,E,K,F,N,Kt,r", value);
    } else if (!strcmp(argv[i], "--steps") && value) steps = atoi(value);
    else if (!strcmp(argv[i], "--warmup") && value) warmup = atoi(value);
    else if (!strcmp(argv[i], "--seed") && value) seed = strtoull(value, NULL, 10);
    else if (!strcmp(argv[i], "--peak") && value) peak = atof(value);
    else {
      fprintf(stderr, "usage: bench_step --dims T,D,E,K,F,N,Kt,r [--steps N] [--warmup N] [--seed N] [--peak GFLOPS]\n");
      return 2;
    }
    i++;
  }
  if (T <= 0 || steps < 1 || warmup < 0) die("--dims is required; --steps must be >= 1", NULL);

  static Manifest m;
  parse_manifest(&m, perft_manifest);
  if (m.tokens != T) die("--dims T disagrees with the manifest's tokens", NULL);
  check_shape(&m, KIND_INPUT, "h", 2, (int64_t[]){T, D});
  check_shape(&m, KIND_PARAM, "moe.router", 2, (int64_t[]){E, D});
  check_shape(&m, KIND_PARAM, "moe.experts.w1", 3, (int64_t[]){E, F, D});
  check_shape(&m, KIND_PARAM, "moe.experts.w2", 3, (int64_t[]){E, D, F});
  check_shape(&m, KIND_PARAM, "moe.perft_r.router", 2, (int64_t[]){N, D});
  check_shape(&m, KIND_PARAM, "moe.perft_r.ad.A", 3, (int64_t[]){N, r, D});
  check_shape(&m, KIND_PARAM, "moe.perft_r.ad.B", 3, (int64_t[]){N, D, r});

  /* buffers in ABI order: params, inputs, loss, outputs, grads, workspace */
  int num_buffers = m.count + 2;
  void **buffers = calloc((size_t)num_buffers, sizeof(void *));
  float *loss = aligned_buffer(sizeof(float));
  void *workspace = aligned_buffer((size_t)m.workspace);
  rng_state = seed;
  size_t total_bytes = (size_t)m.workspace, trainable = 0, frozen = 0;
  int slot = 0;
  for (Kind kind = KIND_PARAM; kind <= KIND_GRAD; kind++) {
    if (kind == KIND_OUTPUT) buffers[slot++] = loss;
    for (int i = 0; i < m.count; i++) {
      Record *rec = &m.records[i];
      if (rec->kind != kind) continue;
      rec->data = aligned_buffer(rec->count * 4);
      total_bytes += rec->count * 4;
      if (kind == KIND_PARAM) {
        float *x = rec->data;
        if (!strcmp(rec->init, "normal")) fill_normal(x, rec->count, rec->init_a, rec->init_b);
        else if (!strcmp(rec->init, "ones")) for (size_t j = 0; j < rec->count; j++) x[j] = 1.0f;
        if (rec->trainable) trainable += rec->count; else frozen += rec->count;
      }
      buffers[slot++] = rec->data;
    }
  }
  buffers[slot++] = workspace;

  double flop_moe = 2.0 * T * D * E + 6.0 * T * K * D * F;
  double flop_adapter_forward = 2.0 * T * D * N + 4.0 * T * Kt * D * r;
  double flop_adapter_grads = 2.0 * T * D * N + 6.0 * T * Kt * D * r;
  double flop_step = flop_moe + flop_adapter_forward + flop_adapter_grads;

  printf("perft side: generated perft_train_step, called by bench/bench_step.c (OMP_NUM_THREADS=%s)\n",
         getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "unset: all cores");
  printf("  sizes        T=%lld D=%lld E=%lld k=%lld F=%lld N=%lld K~=%lld r=%lld\n", T, D, E, K, F, N, Kt, r);
  printf("  manifest     %d records, %zu frozen + %zu trainable params, workspace %.1f MiB, %.1f MiB in all (64-byte aligned, touched before timing)\n",
         m.count, frozen, trainable, m.workspace / 1048576.0, total_bytes / 1048576.0);
  printf("  GEMM FLOPs   MoE fwd %.4f + adapter fwd %.4f + adapter grads %.4f = %.4f GFLOP/step\n", flop_moe / 1e9,
         flop_adapter_forward / 1e9, flop_adapter_grads / 1e9, flop_step / 1e9);

  double *times = calloc((size_t)steps, sizeof(double));
  double first_loss = 0.0, last_loss = 0.0;
  for (int step = 0; step < warmup + steps; step++) {
    /* a new input every step, outside the timed region */
    for (int i = 0; i < m.count; i++) {
      Record *rec = &m.records[i];
      if (rec->kind != KIND_INPUT) continue;
      if (!rec->is_i32) fill_normal(rec->data, rec->count, 0.0, 1.0);
      else {
        int32_t *x = rec->data;
        for (size_t j = 0; j < rec->count; j++)
          x[j] = rec->is_seed ? (int32_t)(rng_next() % 2147483646u) + 1 : rec->range > 0 ? (int32_t)(rng_next() % (uint64_t)rec->range) : 0;
      }
    }
    double t0 = now_seconds();
    perft_train_step(buffers);
    double t1 = now_seconds();
    if (!isfinite(*loss)) die("the loss is not finite", NULL);
    if (step == 0) first_loss = *loss;
    last_loss = *loss;
    if (step >= warmup) times[step - warmup] = (t1 - t0) * 1e3;
  }
  qsort(times, (size_t)steps, sizeof(double), compare_double);
  double median = steps % 2 ? times[steps / 2] : 0.5 * (times[steps / 2 - 1] + times[steps / 2]);
  double gflops = flop_step / (median * 1e-3) / 1e9;
  printf("  steps        %d warm-up + %d timed, new h and target each step; loss %.6g (first) %.6g (last)\n", warmup,
         steps, first_loss, last_loss);
  printf("  time         median %.3f ms/step (min %.3f, max %.3f)\n", median, times[0], times[steps - 1]);
  printf("  speed        %.2f GFLOP/s = %.2f%% of the %.0f GFLOP/s fp32 peak of one core\n", gflops, 100.0 * gflops / peak,
         peak);
  printf("RESULT perft ms=%.6f min_ms=%.6f max_ms=%.6f gflop_step=%.6f gflops=%.4f pct_peak=%.4f steps=%d warmup=%d\n",
         median, times[0], times[steps - 1], flop_step / 1e9, gflops, 100.0 * gflops / peak, steps, warmup);
  return 0;
}
