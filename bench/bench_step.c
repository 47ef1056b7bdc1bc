/* bench_step: times the generated perft_train_step of one compiled .perft program.
 *
 * Linked with the object `perftc ... --emit=obj` writes (docs/ABI.md), and nothing of the runtime:
 * this harness has its own manifest parser, its own buffers and its own random numbers.
 *
 *   buffers = [params..., inputs..., loss, outputs..., grads..., workspace]   (docs/ABI.md order)
 *
 * Everything is allocated and touched once, before any timing. Every step draws a NEW input (every
 * f32 input from N(0,1)) before the clock starts; only the call perft_train_step(buffers) is timed
 * (CLOCK_MONOTONIC). Warm-up steps are run and discarded, then the median of the timed steps is
 * reported. Nothing is allocated between the first and the last step.
 *
 * The sizes come from --dims; the ones the manifest shows (tokens, h, the base router and expert
 * banks, the strategy's adapter tensors, mode B's input scale s) are checked against it. GFLOP/step
 * comes from the caller (--gflop; bench/bench.py computes it from PERFORMANCE.md's GEMM formulas).
 *
 * usage: bench_step --dims T,D,E,K,F,N,Kt,r [--strategy r|e|s] [--mode A|B] [--gflop X] [--seed N]
 *                   [--steps N] [--warmup N] [--threads N]    one run, then exit
 *                   ... --serve                                 a worker for bench/bench.py (below)
 * --serve: after setting up, prints `READY ...`, then reads commands from stdin, one a line:
 *   run THREADS WARMUP STEPS   omp_set_num_threads(THREADS), WARMUP + STEPS steps, prints a RESULT line
 *   quit                       exits
 * A RESULT line: `RESULT perft threads=.. ms=.. min_ms=.. max_ms=.. steps=.. warmup=.. loss_first=..
 * loss_last=.. rss_mib=.. hwm_mib=.. hwm_is_run=..` (hwm: the peak resident set, VmHWM, of this run: it is
 * reset before each run through /proc/self/clear_refs; hwm_is_run=0 where that is refused and hwm is
 * the process's peak so far).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void omp_set_num_threads(int); /* libomp: the generated code's parallel GEMMs run on its threads */

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
  int is_bf16;           /* params only: kept in bf16 (perftc --frozen-dtype=bf16), 2-byte elements */
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
      r->is_bf16 = !strcmp(field[n - 1], "bf16");
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

/* VmRSS / VmHWM of this process in MiB (/proc/self/status); -1 when unavailable */
static double proc_status_mib(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1.0;
  char line[256];
  double value = -1.0;
  size_t n = strlen(key);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, n) && line[n] == ':') {
      value = atof(line + n + 1) / 1024.0; /* kB */
      break;
    }
  fclose(f);
  return value;
}

/* Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so VmHWM after a run is that run's
 * peak (0 where the kernel refuses: VmHWM is then the process's lifetime peak) */
static int reset_peak_rss(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (!f) return 0;
  int ok = fputs("5", f) >= 0;
  return fclose(f) == 0 && ok;
}

typedef struct {
  Manifest *m;
  void **buffers;
  float *loss;
  double *times; /* room for the most timed steps asked for: allocated before timing */
  int max_steps;
  double gflop;
} Bench;

static void new_inputs(Manifest *m) {
  for (int i = 0; i < m->count; i++) {
    Record *rec = &m->records[i];
    if (rec->kind != KIND_INPUT) continue;
    if (!rec->is_i32) fill_normal(rec->data, rec->count, 0.0, 1.0);
    else {
      int32_t *x = rec->data;
      for (size_t j = 0; j < rec->count; j++)
        x[j] = rec->is_seed ? (int32_t)(rng_next() % 2147483646u) + 1 : rec->range > 0 ? (int32_t)(rng_next() % (uint64_t)rec->range) : 0;
    }
  }
}

/* WARMUP + STEPS steps on THREADS threads (0: leave OpenMP as it is); prints the RESULT line */
static void run(Bench *b, int threads, int warmup, int steps, int verbose) {
  if (steps < 1 || steps > b->max_steps || warmup < 0) die("run: steps must be in 1..--max-steps, warm-up >= 0", NULL);
  if (threads > 0) omp_set_num_threads(threads);
  int hwm_is_run = reset_peak_rss();
  double first_loss = 0.0, last_loss = 0.0;
  for (int step = 0; step < warmup + steps; step++) {
    new_inputs(b->m); /* a new input every step, outside the timed region */
    double t0 = now_seconds();
    perft_train_step(b->buffers);
    double t1 = now_seconds();
    if (!isfinite(*b->loss)) die("the loss is not finite", NULL);
    if (step == 0) first_loss = *b->loss;
    last_loss = *b->loss;
    if (step >= warmup) b->times[step - warmup] = (t1 - t0) * 1e3;
  }
  qsort(b->times, (size_t)steps, sizeof(double), compare_double);
  double median = steps % 2 ? b->times[steps / 2] : 0.5 * (b->times[steps / 2 - 1] + b->times[steps / 2]);
  double rss = proc_status_mib("VmRSS"), hwm = proc_status_mib("VmHWM");
  if (verbose) {
    printf("  steps        %d warm-up + %d timed on %d thread(s), new inputs each step; loss %.6g (first) %.6g (last)\n",
           warmup, steps, threads, first_loss, last_loss);
    printf("  time         median %.3f ms/step (min %.3f, max %.3f)", median, b->times[0], b->times[steps - 1]);
    if (b->gflop > 0) printf(", %.2f GFLOP/s", b->gflop / (median * 1e-3));
    printf("\n  memory       peak RSS %.1f MiB (VmHWM%s), now %.1f MiB\n", hwm, hwm_is_run ? " during the run" : " of the process", rss);
  }
  printf("RESULT perft threads=%d ms=%.6f min_ms=%.6f max_ms=%.6f steps=%d warmup=%d loss_first=%.6g loss_last=%.6g "
         "rss_mib=%.1f hwm_mib=%.1f hwm_is_run=%d\n",
         threads, median, b->times[0], b->times[steps - 1], steps, warmup, first_loss, last_loss, rss, hwm, hwm_is_run);
  fflush(stdout);
}

static void usage(void) {
  fprintf(stderr, "usage: bench_step --dims T,D,E,K,F,N,Kt,r [--strategy r|e|s] [--mode A|B] [--gflop X] [--seed N]\n"
                  "                  [--steps N] [--warmup N] [--threads N] [--serve] [--max-steps N]\n");
  exit(2);
}

int main(int argc, char **argv) {
  long long T = 0, D = 0, E = 0, K = 0, F = 0, N = 0, Kt = 0, r = 0;
  int steps = 30, warmup = 3, threads = 0, serve = 0, max_steps = 1000;
  char strategy = 'r', mode = 'A';
  unsigned long long seed = 1;
  double gflop = 0.0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--serve")) { serve = 1; continue; }
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    if (!value) usage();
    if (!strcmp(argv[i], "--dims")) {
      if (sscanf(value, "%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld", &T, &D, &E, &K, &F, &N, &Kt, &r) != 8)
        die("--dims wants T,D,E,K,F,N,Kt,r", value);
    } else if (!strcmp(argv[i], "--strategy") && strchr("res", value[0]) && value[0] && !value[1]) strategy = value[0];
    else if (!strcmp(argv[i], "--mode") && strchr("AB", value[0]) && value[0] && !value[1]) mode = value[0];
    else if (!strcmp(argv[i], "--steps")) steps = atoi(value);
    else if (!strcmp(argv[i], "--warmup")) warmup = atoi(value);
    else if (!strcmp(argv[i], "--threads")) threads = atoi(value);
    else if (!strcmp(argv[i], "--max-steps")) max_steps = atoi(value);
    else if (!strcmp(argv[i], "--seed")) seed = strtoull(value, NULL, 10);
    else if (!strcmp(argv[i], "--gflop")) gflop = atof(value);
    else usage();
    i++;
  }
  if (T <= 0 || steps < 1 || warmup < 0 || max_steps < 1) die("--dims is required; --steps must be >= 1", NULL);
  if (steps > max_steps) max_steps = steps;
  double rss_start = proc_status_mib("VmRSS");

  static Manifest m;
  parse_manifest(&m, perft_manifest);
  if (m.tokens != T) die("--dims T disagrees with the manifest's tokens", NULL);
  check_shape(&m, KIND_INPUT, "h", 2, (int64_t[]){T, D});
  check_shape(&m, KIND_PARAM, "moe.router", 2, (int64_t[]){E, D});
  check_shape(&m, KIND_PARAM, "moe.experts.w1", 3, (int64_t[]){E, F, D});
  check_shape(&m, KIND_PARAM, "moe.experts.w3", 3, (int64_t[]){E, F, D});
  check_shape(&m, KIND_PARAM, "moe.experts.w2", 3, (int64_t[]){E, D, F});
  if (strategy == 'r') {
    check_shape(&m, KIND_PARAM, "moe.perft_r.router", 2, (int64_t[]){N, D});
    check_shape(&m, KIND_PARAM, "moe.perft_r.ad.A", 3, (int64_t[]){N, r, D});
    check_shape(&m, KIND_PARAM, "moe.perft_r.ad.B", 3, (int64_t[]){N, D, r});
  } else if (strategy == 'e') {
    check_shape(&m, KIND_PARAM, "moe.perft_e.ad.A", 3, (int64_t[]){E, r, D});
    check_shape(&m, KIND_PARAM, "moe.perft_e.ad.B", 3, (int64_t[]){E, D, r});
  } else {
    check_shape(&m, KIND_PARAM, "moe.perft_s.A", 2, (int64_t[]){r, D});
    check_shape(&m, KIND_PARAM, "moe.perft_s.B", 2, (int64_t[]){D, r});
  }
  Record *s = find(&m, KIND_PARAM, "s");
  if (mode == 'B') {
    check_shape(&m, KIND_PARAM, "s", 2, (int64_t[]){T, D});
    if (!s || !s->trainable || strcmp(s->init, "ones")) die("mode B wants a trainable input scale s, init ones", NULL);
  } else if (s) die("mode A wants no input scale s (the program is a mode-B one)", NULL);

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
      size_t bytes = rec->count * (rec->is_bf16 ? 2 : 4);
      rec->data = aligned_buffer(bytes);
      total_bytes += bytes;
      if (kind == KIND_PARAM) {
        float *x = rec->is_bf16 ? malloc(rec->count * 4) : rec->data; /* bf16: made in f32, then rounded */
        if (!x) die("out of memory", NULL);
        if (!strcmp(rec->init, "normal")) fill_normal(x, rec->count, rec->init_a, rec->init_b);
        else if (!strcmp(rec->init, "ones")) for (size_t j = 0; j < rec->count; j++) x[j] = 1.0f;
        else if (rec->is_bf16) memset(x, 0, rec->count * 4);
        if (rec->is_bf16) {
          uint16_t *out = rec->data;
          for (size_t j = 0; j < rec->count; j++) {
            uint32_t bits;
            memcpy(&bits, &x[j], 4);
            out[j] = (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1)) >> 16); /* nearest, ties to even */
          }
          free(x);
        }
        if (rec->trainable) trainable += rec->count; else frozen += rec->count;
      }
      buffers[slot++] = rec->data;
    }
  }
  buffers[slot++] = workspace;
  Bench bench = {&m, buffers, loss, calloc((size_t)max_steps, sizeof(double)), max_steps, gflop};
  if (!bench.times) die("out of memory", NULL);
  for (int i = 0; i < max_steps; i++) bench.times[i] = 0.0; /* touched before timing */

  static const char *names[] = {['r'] = "PERFT-R", ['e'] = "PERFT-E", ['s'] = "PERFT-S"};
  printf("perft side: generated perft_train_step, called by bench/bench_step.c (%s)\n",
         serve ? "worker: threads set per run with omp_set_num_threads" : "one run");
  printf("  program      MoE block + %s, mode %c; T=%lld D=%lld E=%lld k=%lld F=%lld N=%lld K~=%lld r=%lld\n",
         names[(int)strategy], mode, T, D, E, K, F, N, Kt, r);
  printf("  manifest     %d records, %zu frozen + %zu trainable params, workspace %.1f MiB, %.1f MiB in all (64-byte aligned, touched before timing)\n",
         m.count, frozen, trainable, m.workspace / 1048576.0, total_bytes / 1048576.0);
  printf("  memory       RSS %.1f MiB at start, %.1f MiB with every buffer touched\n", rss_start, proc_status_mib("VmRSS"));
  if (gflop > 0) printf("  GEMM FLOPs   %.4f GFLOP/step (bench/bench.py's formulas)\n", gflop);
  fflush(stdout);

  if (!serve) {
    run(&bench, threads, warmup, steps, 1);
    return 0;
  }
  printf("READY perft\n");
  fflush(stdout);
  char line[256];
  while (fgets(line, sizeof line, stdin)) {
    int t, w, n;
    if (!strncmp(line, "quit", 4)) break;
    if (sscanf(line, "run %d %d %d", &t, &w, &n) == 3) run(&bench, t, w, n, 0);
    else die("unknown command", line);
  }
  return 0;
}
