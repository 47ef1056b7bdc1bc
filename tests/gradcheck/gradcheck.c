/* gradcheck.c — finite-difference gradient check for a perftc-generated object.
 *
 * Link with an object compiled with `perftc PROG.perft --dtype=f64 --emit=obj -o PROG.o`:
 *     cc -std=c11 -O1 gradcheck.c PROG.o -lm -o check && ./check [flags]
 *
 * It parses `perft_manifest` (docs/ABI.md), allocates every buffer as f64, fills parameters and
 * inputs with seeded random values, calls `perft_train_step` once for the analytic gradients and
 * compares them, element by element (all of them, or a random subset per tensor), with central
 * differences of the loss computed by `perft_forward`:
 *     fd = (L(θ+ε) − L(θ−ε)) / ((θ+ε) − (θ−ε))
 *     ok  ⇔  |fd − an| ≤ atol + rtol·max(|fd|, |an|)
 *
 * Besides the comparison it checks the ABI promises the comparison relies on: gradients are
 * finite and overwritten (not accumulated) by each train step, the train step is deterministic,
 * `perft_forward` leaves the gradient buffers alone and reproduces the train step's loss and
 * outputs. The workspace is filled with NaN bytes before use, so code that reads scratch it
 * never wrote shows up as non-finite values.
 *
 * Flags (`--flag=value` or `--flag value`):
 *   --seed N            random seed (default 1)
 *   --scale X           parameters and inputs are N(0,1)·X (default 1)
 *   --init=random|manifest
 *                       random (default): every parameter N(0,1)·scale;
 *                       manifest: parameters follow their manifest initialiser
 *                       (normal MEAN STD / zeros / ones / const V / eye; copy: zeros), inputs stay N(0,1)·scale
 *   --eps X             finite-difference step (default 1e-6)
 *   --rtol X            relative tolerance (default 1e-5)
 *   --atol X            absolute tolerance (default 1e-8)
 *   --max-per-tensor N  check at most N random elements per tensor, 0 = all (default 200)
 *   --ws-fill=nan|zero  initial workspace contents (default nan)
 *   --show N            print the N worst mismatches per tensor (default 5)
 *   --verbose           print every checked element
 *
 * Output: a summary of the manifest, one line per trainable tensor with its max abs and rel
 * error, and a final verdict line:
 *     gradcheck: PASS (N values)                                   exit 0
 *     gradcheck: FAIL (K of N values out of tolerance ...)         exit 1
 *     gradcheck: FAIL (non-finite / ABI violation: ...)            exit 1
 *     gradcheck: FAIL (error: ...)                                 exit 2  (could not run the check:
 *                                                                   bad flags, bad manifest, not f64)
 */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char perft_manifest[];
void perft_train_step(void **buffers);
void perft_forward(void **buffers);

/* ------------------------------------------------------------------------------------------ */

enum { MAX_RANK = 8 };

typedef enum { INIT_NORMAL, INIT_ZEROS, INIT_ONES, INIT_CONST, INIT_EYE, INIT_COPY } InitKind;

typedef struct {
  char *name;
  int rank;
  int64_t dims[MAX_RANK];
  int64_t numel;
  int trainable;
  InitKind init;
  double mean, std;
  double *data;
  double *grad; /* trainable params: their grad buffer */
  int is_i32;    /* inputs: token ids, labels or the dropout seed (int32 buffer) */
  int64_t range; /* i32 inputs: values in [0, range) */
  int is_seed;   /* the dropout seed: any nonzero value (the same one for every call) */
} Tensor;

typedef struct {
  Tensor *v;
  int n, cap;
} TensorList;

static TensorList params, inputs, outputs, grads;
static int64_t workspace_bytes = -1;
static int have_dtype_f64 = 0;
static char dtype_seen[32] = "";

static void die_error(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "gradcheck: error: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  printf("gradcheck: FAIL (error: ");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf(")\n");
  exit(2);
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) die_error("out of memory");
  return p;
}

static char *xstrdup(const char *s) {
  char *p = xcalloc(strlen(s) + 1, 1);
  strcpy(p, s);
  return p;
}

static Tensor *list_push(TensorList *l) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 8;
    l->v = realloc(l->v, (size_t)l->cap * sizeof(Tensor));
    if (!l->v) die_error("out of memory");
  }
  memset(&l->v[l->n], 0, sizeof(Tensor));
  return &l->v[l->n++];
}

/* ------------------------------------------------------------------------------------------ */
/* manifest */

static int parse_dims(const char *s, Tensor *t) {
  t->rank = 0;
  t->numel = 1;
  const char *p = s;
  for (;;) {
    char *end;
    if (*p < '0' || *p > '9') return 0;
    long long d = strtoll(p, &end, 10);
    if (end == p || d < 0) return 0;
    if (t->rank == MAX_RANK) return 0;
    t->dims[t->rank++] = d;
    t->numel *= d;
    if (*end == 'x') { p = end + 1; continue; }
    if (*end == '\0') break;
    return 0;
  }
  return 1;
}

static void format_dims(const Tensor *t, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < t->rank && k < n; ++i)
    k += (size_t)snprintf(buf + k, n - k, i ? "x%lld" : "%lld", (long long)t->dims[i]);
}

static int parse_double(const char *s, double *out) {
  char *end;
  *out = strtod(s, &end);
  return end != s && *end == '\0';
}

static void parse_manifest(const char *text) {
  char *copy = xstrdup(text);
  int lineno = 0;
  char *save_line = NULL;
  for (char *line = strtok_r(copy, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
    ++lineno;
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r') line[len - 1] = '\0';
    char *f[16];
    int nf = 0;
    char *save_field = NULL;
    for (char *tok = strtok_r(line, " \t", &save_field); tok && nf < 16; tok = strtok_r(NULL, " \t", &save_field))
      f[nf++] = tok;
    if (nf == 0) continue;
    const char *kind = f[0];
    if (!strcmp(kind, "param")) {
      if (nf < 5) die_error("manifest line %d: `param` needs NAME DIMS trainable|frozen INIT", lineno);
      Tensor *t = list_push(&params);
      t->name = xstrdup(f[1]);
      if (!parse_dims(f[2], t)) die_error("manifest line %d: bad dims `%s`", lineno, f[2]);
      if (!strcmp(f[3], "trainable")) t->trainable = 1;
      else if (!strcmp(f[3], "frozen")) t->trainable = 0;
      else die_error("manifest line %d: expected trainable|frozen, got `%s`", lineno, f[3]);
      if (!strcmp(f[4], "normal")) {
        t->init = INIT_NORMAL;
        if (nf < 7 || !parse_double(f[5], &t->mean) || !parse_double(f[6], &t->std))
          die_error("manifest line %d: `normal` needs MEAN STD", lineno);
      } else if (!strcmp(f[4], "zeros")) {
        t->init = INIT_ZEROS;
      } else if (!strcmp(f[4], "ones")) {
        t->init = INIT_ONES;
      } else if (!strcmp(f[4], "const")) {
        t->init = INIT_CONST;
        if (nf < 6 || !parse_double(f[5], &t->mean)) die_error("manifest line %d: `const` needs VALUE", lineno);
      } else if (!strcmp(f[4], "eye")) {
        t->init = INIT_EYE;
      } else if (!strcmp(f[4], "copy")) {
        t->init = INIT_COPY; /* --init=manifest: zeros (the harness does not copy) */
      } else {
        die_error("manifest line %d: unknown initialiser `%s`", lineno, f[4]);
      }
    } else if (!strcmp(kind, "input") || !strcmp(kind, "output") || !strcmp(kind, "grad")) {
      if (nf < 3) die_error("manifest line %d: `%s` needs NAME DIMS", lineno, kind);
      TensorList *l = kind[0] == 'i' ? &inputs : kind[0] == 'o' ? &outputs : &grads;
      Tensor *t = list_push(l);
      t->name = xstrdup(f[1]);
      if (!parse_dims(f[2], t)) die_error("manifest line %d: bad dims `%s`", lineno, f[2]);
      t->is_i32 = nf >= 4 && !strcmp(f[3], "i32");
    } else if (!strcmp(kind, "range") || !strcmp(kind, "seed")) {
      if (nf < 2 || (kind[0] == 'r' && nf < 3)) die_error("manifest line %d: bad `%s` record", lineno, kind);
      Tensor *t = NULL;
      for (int i = 0; i < inputs.n; ++i)
        if (!strcmp(inputs.v[i].name, f[1])) t = &inputs.v[i];
      if (!t) die_error("manifest line %d: `%s` names unknown input `%s`", lineno, kind, f[1]);
      if (kind[0] == 'r') t->range = strtoll(f[2], NULL, 10);
      else t->is_seed = 1;
    } else if (!strcmp(kind, "workspace")) {
      char *end;
      if (nf < 2) die_error("manifest line %d: `workspace` needs BYTES", lineno);
      long long b = strtoll(f[1], &end, 10);
      if (*end || b < 0) die_error("manifest line %d: bad workspace size `%s`", lineno, f[1]);
      workspace_bytes = b;
    } else if (!strcmp(kind, "dtype")) {
      if (nf < 2) die_error("manifest line %d: `dtype` needs a type", lineno);
      snprintf(dtype_seen, sizeof dtype_seen, "%s", f[1]);
      have_dtype_f64 = !strcmp(f[1], "f64");
    }
    /* perft-manifest, tokens, teacher and anything unknown: ignored */
  }
  free(copy);

  if (!have_dtype_f64)
    die_error("the manifest says dtype %s; compile the program with --dtype=f64",
              dtype_seen[0] ? dtype_seen : "f32 (no `dtype` record)");
  if (workspace_bytes < 0) die_error("the manifest has no `workspace` record");

  /* grad records: one per trainable parameter, same shape */
  int ntrain = 0;
  for (int i = 0; i < params.n; ++i) ntrain += params.v[i].trainable;
  if (ntrain == 0) die_error("the program has no trainable parameter");
  for (int g = 0; g < grads.n; ++g) {
    Tensor *gt = &grads.v[g], *p = NULL;
    for (int i = 0; i < params.n; ++i)
      if (!strcmp(params.v[i].name, gt->name)) p = &params.v[i];
    if (!p) die_error("`grad %s` names no parameter", gt->name);
    if (!p->trainable) die_error("`grad %s` names a frozen parameter", gt->name);
    if (p->grad) die_error("two `grad` records for %s", gt->name);
    if (p->rank != gt->rank || memcmp(p->dims, gt->dims, sizeof(int64_t) * (size_t)p->rank)) {
      char a[64], b[64];
      format_dims(p, a, sizeof a);
      format_dims(gt, b, sizeof b);
      die_error("`grad %s` has shape %s, the parameter %s", gt->name, b, a);
    }
    p->grad = (double *)1; /* marked; real pointer set at allocation */
  }
  for (int i = 0; i < params.n; ++i)
    if (params.v[i].trainable && !params.v[i].grad)
      die_error("trainable parameter %s has no `grad` record", params.v[i].name);
}

/* ------------------------------------------------------------------------------------------ */
/* random numbers: splitmix64 + Box–Muller */

static uint64_t rng_state;

static uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double rng_uniform(void) { /* (0, 1) */
  return ((double)(rng_next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double rng_normal(void) {
  static int have = 0;
  static double spare;
  if (have) { have = 0; return spare; }
  double u = rng_uniform(), v = rng_uniform();
  double r = sqrt(-2.0 * log(u)), th = 6.283185307179586 * v;
  spare = r * sin(th);
  have = 1;
  return r * cos(th);
}

/* ------------------------------------------------------------------------------------------ */

typedef struct {
  uint64_t seed;
  double scale, eps, rtol, atol;
  int init_manifest;
  long max_per_tensor;
  int ws_nan;
  int show;
  int verbose;
} Options;

static void usage_error(const char *what, const char *arg) {
  die_error("%s `%s` (flags: --seed N --scale X --init=random|manifest --eps X --rtol X --atol X "
            "--max-per-tensor N --ws-fill=nan|zero --show N --verbose)", what, arg);
}

static void parse_flags(int argc, char **argv, Options *o) {
  o->seed = 1;
  o->scale = 1.0;
  o->eps = 1e-6;
  o->rtol = 1e-5;
  o->atol = 1e-8;
  o->init_manifest = 0;
  o->max_per_tensor = 200;
  o->ws_nan = 1;
  o->show = 5;
  o->verbose = 0;
  for (int i = 1; i < argc; ++i) {
    char *a = argv[i];
    if (!strcmp(a, "--verbose")) { o->verbose = 1; continue; }
    if (strncmp(a, "--", 2)) usage_error("unexpected argument", a);
    char name[64];
    const char *val;
    const char *eq = strchr(a, '=');
    if (eq) {
      size_t n = (size_t)(eq - a);
      if (n >= sizeof name) usage_error("unknown flag", a);
      memcpy(name, a, n);
      name[n] = '\0';
      val = eq + 1;
    } else {
      snprintf(name, sizeof name, "%s", a);
      if (i + 1 >= argc) usage_error("missing value for", a);
      val = argv[++i];
    }
    char *end;
    if (!strcmp(name, "--seed")) {
      o->seed = strtoull(val, &end, 10);
      if (*end || !*val) usage_error("bad --seed", val);
    } else if (!strcmp(name, "--max-per-tensor")) {
      o->max_per_tensor = strtol(val, &end, 10);
      if (*end || !*val || o->max_per_tensor < 0) usage_error("bad --max-per-tensor", val);
    } else if (!strcmp(name, "--show")) {
      o->show = (int)strtol(val, &end, 10);
      if (*end || !*val || o->show < 0) usage_error("bad --show", val);
    } else if (!strcmp(name, "--init")) {
      if (!strcmp(val, "random")) o->init_manifest = 0;
      else if (!strcmp(val, "manifest")) o->init_manifest = 1;
      else usage_error("bad --init", val);
    } else if (!strcmp(name, "--ws-fill")) {
      if (!strcmp(val, "nan")) o->ws_nan = 1;
      else if (!strcmp(val, "zero")) o->ws_nan = 0;
      else usage_error("bad --ws-fill", val);
    } else {
      double *dst = !strcmp(name, "--scale") ? &o->scale
                    : !strcmp(name, "--eps")  ? &o->eps
                    : !strcmp(name, "--rtol") ? &o->rtol
                    : !strcmp(name, "--atol") ? &o->atol
                                              : NULL;
      if (!dst) usage_error("unknown flag", name);
      if (!parse_double(val, dst) || !isfinite(*dst) || *dst < 0) usage_error("bad value", a);
    }
  }
  if (o->eps <= 0) usage_error("--eps must be positive", "0");
}

/* ------------------------------------------------------------------------------------------ */

static void **buffers;
static double *loss_buf;
static void *workspace;
static size_t workspace_alloc;
static int ws_nan_fill;

static double *alloc_tensor(int64_t numel) {
  return xcalloc((size_t)(numel > 0 ? numel : 1), sizeof(double));
}

static void setup_buffers(void) {
  int nbuf = params.n + inputs.n + 1 + outputs.n + grads.n + 1;
  buffers = xcalloc((size_t)nbuf, sizeof(void *));
  int k = 0;
  for (int i = 0; i < params.n; ++i) buffers[k++] = params.v[i].data = alloc_tensor(params.v[i].numel);
  for (int i = 0; i < inputs.n; ++i) buffers[k++] = inputs.v[i].data = alloc_tensor(inputs.v[i].numel);
  loss_buf = alloc_tensor(1);
  buffers[k++] = loss_buf;
  for (int i = 0; i < outputs.n; ++i) buffers[k++] = outputs.v[i].data = alloc_tensor(outputs.v[i].numel);
  for (int g = 0; g < grads.n; ++g) {
    Tensor *gt = &grads.v[g];
    buffers[k++] = gt->data = alloc_tensor(gt->numel);
    for (int i = 0; i < params.n; ++i)
      if (!strcmp(params.v[i].name, gt->name)) params.v[i].grad = gt->data;
  }
  workspace_alloc = ((size_t)workspace_bytes + 63) / 64 * 64;
  if (workspace_alloc == 0) workspace_alloc = 64;
  workspace = aligned_alloc(64, workspace_alloc);
  if (!workspace) die_error("cannot allocate a %zu-byte workspace", workspace_alloc);
  buffers[k++] = workspace;
}

static void fill_workspace(void) { memset(workspace, ws_nan_fill ? 0xFF : 0x00, workspace_alloc); }

static void fill_grads(double v) {
  for (int g = 0; g < grads.n; ++g)
    for (int64_t j = 0; j < grads.v[g].numel; ++j) grads.v[g].data[j] = v;
}

static double run_forward(void) {
  *loss_buf = NAN;
  perft_forward(buffers);
  return *loss_buf;
}

typedef struct {
  int64_t index;
  double an, fd, err;
} Mismatch;

static int cmp_mismatch(const void *a, const void *b) {
  double x = ((const Mismatch *)a)->err, y = ((const Mismatch *)b)->err;
  return (x < y) - (x > y); /* descending */
}

static void format_index(const Tensor *t, int64_t flat, char *buf, size_t n) {
  int64_t idx[MAX_RANK];
  for (int d = t->rank - 1; d >= 0; --d) {
    int64_t dim = t->dims[d] ? t->dims[d] : 1;
    idx[d] = flat % dim;
    flat /= dim;
  }
  size_t k = (size_t)snprintf(buf, n, "[");
  for (int d = 0; d < t->rank && k < n; ++d)
    k += (size_t)snprintf(buf + k, n - k, d ? ",%lld" : "%lld", (long long)idx[d]);
  if (k < n) snprintf(buf + k, n - k, "]");
}

int main(int argc, char **argv) {
  Options opt;
  parse_flags(argc, argv, &opt);
  setvbuf(stdout, NULL, _IOLBF, 0);
  parse_manifest(perft_manifest);
  ws_nan_fill = opt.ws_nan;
  setup_buffers();

  int ntrain = 0;
  int64_t ntrain_values = 0;
  for (int i = 0; i < params.n; ++i)
    if (params.v[i].trainable) { ++ntrain; ntrain_values += params.v[i].numel; }
  printf("gradcheck: manifest: %d params (%d trainable, %lld values), %d inputs, %d outputs, "
         "workspace %lld bytes, dtype f64\n",
         params.n, ntrain, (long long)ntrain_values, inputs.n, outputs.n, (long long)workspace_bytes);
  printf("gradcheck: seed %llu scale %g init %s eps %g rtol %g atol %g max-per-tensor %ld\n",
         (unsigned long long)opt.seed, opt.scale, opt.init_manifest ? "manifest" : "random", opt.eps,
         opt.rtol, opt.atol, opt.max_per_tensor);

  /* values */
  rng_state = opt.seed * 0x2545F4914F6CDD1Dull + 12345;
  for (int i = 0; i < params.n; ++i) {
    Tensor *t = &params.v[i];
    for (int64_t j = 0; j < t->numel; ++j) {
      double z = rng_normal();
      int64_t cols = t->dims[t->rank - 1], rows = t->rank >= 2 ? t->dims[t->rank - 2] : 1;
      if (!opt.init_manifest) t->data[j] = z * opt.scale;
      else if (t->init == INIT_NORMAL) t->data[j] = t->mean + t->std * z;
      else if (t->init == INIT_CONST) t->data[j] = t->mean;
      else if (t->init == INIT_EYE) t->data[j] = (j / cols) % rows == j % cols ? 1.0 : 0.0;
      else t->data[j] = t->init == INIT_ONES ? 1.0 : 0.0;
    }
  }
  for (int i = 0; i < inputs.n; ++i) {
    Tensor *t = &inputs.v[i];
    if (!t->is_i32) {
      for (int64_t j = 0; j < t->numel; ++j) t->data[j] = rng_normal() * opt.scale;
      continue;
    }
    if (!t->is_seed && t->range <= 0) die_error("i32 input `%s` has no `range` record", t->name);
    int32_t *ids = (int32_t *)t->data; /* the buffer holds numel doubles: room enough */
    for (int64_t j = 0; j < t->numel; ++j) {
      double u = 0.5 + 0.5 * erf(rng_normal() / sqrt(2.0)); /* uniform in (0, 1) */
      ids[j] = t->is_seed ? 1 + (int32_t)(u * 2000000000.0) : (int32_t)(u * (double)t->range) % (int32_t)t->range;
    }
  }

  /* analytic gradients; grads start as NaN so unwritten elements show */
  fill_workspace();
  fill_grads(NAN);
  *loss_buf = NAN;
  perft_train_step(buffers);
  double loss0 = *loss_buf;
  if (!isfinite(loss0)) {
    printf("gradcheck: FAIL (non-finite loss %g from perft_train_step)\n", loss0);
    return 1;
  }
  int64_t nonfinite = 0;
  for (int g = 0; g < grads.n; ++g) {
    int64_t bad = 0;
    for (int64_t j = 0; j < grads.v[g].numel; ++j) bad += !isfinite(grads.v[g].data[j]);
    if (bad) printf("  grad %s: %lld non-finite values (unwritten or NaN)\n", grads.v[g].name, (long long)bad);
    nonfinite += bad;
  }
  if (nonfinite) {
    printf("gradcheck: FAIL (%lld non-finite analytic gradient values)\n", (long long)nonfinite);
    return 1;
  }
  /* keep a copy of the analytic gradients and the outputs */
  double **an = xcalloc((size_t)grads.n, sizeof(double *));
  for (int g = 0; g < grads.n; ++g) {
    an[g] = alloc_tensor(grads.v[g].numel);
    memcpy(an[g], grads.v[g].data, sizeof(double) * (size_t)grads.v[g].numel);
  }
  double **out0 = xcalloc((size_t)(outputs.n ? outputs.n : 1), sizeof(double *));
  for (int i = 0; i < outputs.n; ++i) {
    out0[i] = alloc_tensor(outputs.v[i].numel);
    memcpy(out0[i], outputs.v[i].data, sizeof(double) * (size_t)outputs.v[i].numel);
  }

  /* ABI: a second train step overwrites (does not accumulate) and gives the same result */
  int abi_bad = 0;
  fill_grads(7.0);
  *loss_buf = NAN;
  perft_train_step(buffers);
  if (*loss_buf != loss0) {
    printf("  second perft_train_step gives loss %.17g, first %.17g\n", *loss_buf, loss0);
    abi_bad = 1;
  }
  for (int g = 0; g < grads.n; ++g) {
    int64_t diff = 0;
    for (int64_t j = 0; j < grads.v[g].numel; ++j) diff += grads.v[g].data[j] != an[g][j];
    if (diff) {
      printf("  grad %s: %lld values differ between two train steps (accumulated, not overwritten, "
             "or nondeterministic)\n", grads.v[g].name, (long long)diff);
      abi_bad = 1;
    }
  }
  /* ABI: forward leaves the grads alone and reproduces the loss and the outputs */
  for (int i = 0; i < outputs.n; ++i)
    for (int64_t j = 0; j < outputs.v[i].numel; ++j) outputs.v[i].data[j] = NAN;
  double lossf = run_forward();
  for (int g = 0; g < grads.n; ++g) {
    int64_t diff = 0;
    for (int64_t j = 0; j < grads.v[g].numel; ++j) diff += grads.v[g].data[j] != an[g][j];
    if (diff) {
      printf("  grad %s: perft_forward changed %lld values (it must leave grads untouched)\n",
             grads.v[g].name, (long long)diff);
      abi_bad = 1;
    }
  }
  double ltol = 1e-12 * fmax(1.0, fabs(loss0));
  printf("gradcheck: loss %.17g (perft_train_step), %.17g (perft_forward)\n", loss0, lossf);
  if (!(fabs(lossf - loss0) <= ltol)) {
    printf("  perft_forward's loss differs from perft_train_step's by %g\n", fabs(lossf - loss0));
    abi_bad = 1;
  }
  for (int i = 0; i < outputs.n; ++i) {
    double worst = 0;
    int64_t nan_count = 0;
    for (int64_t j = 0; j < outputs.v[i].numel; ++j) {
      double a = outputs.v[i].data[j], b = out0[i][j];
      if (!isfinite(a) || !isfinite(b)) { ++nan_count; continue; }
      worst = fmax(worst, fabs(a - b) / fmax(1.0, fabs(b)));
    }
    if (nan_count || worst > 1e-12) {
      printf("  output %s: perft_forward and perft_train_step differ (%lld non-finite, max rel diff %g)\n",
             outputs.v[i].name, (long long)nan_count, worst);
      abi_bad = 1;
    }
  }
  if (abi_bad) {
    printf("gradcheck: FAIL (ABI violation, see above)\n");
    return 1;
  }

  /* central differences */
  int64_t total = 0, total_bad = 0;
  const char *worst_name = NULL;
  char worst_idx[96] = "";
  Mismatch worst_m = {0, 0, 0, -1};
  double fd_noise = 0; /* estimate of rounding noise of fd: ~ eps_machine·|L| / eps */
  for (int pi = 0; pi < params.n; ++pi) {
    Tensor *t = &params.v[pi];
    if (!t->trainable) continue;
    int g = 0;
    while (strcmp(grads.v[g].name, t->name)) ++g;
    /* which elements */
    int64_t n = t->numel, m = n;
    int64_t *idx = xcalloc((size_t)(n ? n : 1), sizeof(int64_t));
    for (int64_t j = 0; j < n; ++j) idx[j] = j;
    if (opt.max_per_tensor > 0 && n > opt.max_per_tensor) {
      m = opt.max_per_tensor;
      for (int64_t j = 0; j < m; ++j) { /* partial Fisher–Yates */
        int64_t r = j + (int64_t)(rng_next() % (uint64_t)(n - j));
        int64_t tmp = idx[j]; idx[j] = idx[r]; idx[r] = tmp;
      }
      /* sorted for readable output */
      for (int64_t a = 1; a < m; ++a)
        for (int64_t b = a; b > 0 && idx[b - 1] > idx[b]; --b) { int64_t tmp = idx[b]; idx[b] = idx[b - 1]; idx[b - 1] = tmp; }
    }
    Mismatch *bad = xcalloc((size_t)(m ? m : 1), sizeof(Mismatch));
    int64_t nbad = 0;
    double max_abs = 0, max_rel = 0;
    for (int64_t c = 0; c < m; ++c) {
      int64_t j = idx[c];
      double theta = t->data[j];
      double tp = theta + opt.eps, tm = theta - opt.eps;
      t->data[j] = tp;
      double lp = run_forward();
      t->data[j] = tm;
      double lm = run_forward();
      t->data[j] = theta;
      double fd = (lp - lm) / (tp - tm);
      double a = an[g][j];
      double err = fabs(fd - a);
      double mag = fmax(fabs(fd), fabs(a));
      double rel = mag > 0 ? err / mag : 0;
      int ok = isfinite(fd) && err <= opt.atol + opt.rtol * mag;
      if (!isfinite(fd)) err = rel = INFINITY;
      fd_noise = fmax(fd_noise, DBL_EPSILON * fmax(fabs(lp), fabs(lm)) / (tp - tm));
      max_abs = fmax(max_abs, err);
      max_rel = fmax(max_rel, rel);
      if (opt.verbose) {
        char ib[96];
        format_index(t, j, ib, sizeof ib);
        printf("    %s%s analytic %+.12e fd %+.12e abs %.3e rel %.3e%s\n", t->name, ib, a, fd, err, rel,
               ok ? "" : "  <-- FAIL");
      }
      if (!ok) {
        bad[nbad++] = (Mismatch){j, a, fd, err};
        if (err > worst_m.err) {
          worst_m = bad[nbad - 1];
          worst_name = t->name;
          format_index(t, j, worst_idx, sizeof worst_idx);
        }
      }
    }
    /* the loss must be back where it was: the perturbations were undone */
    char dims[64];
    format_dims(t, dims, sizeof dims);
    printf("  %-32s %-12s checked %5lld/%-5lld max_abs %.3e  max_rel %.3e  %s\n", t->name, dims,
           (long long)m, (long long)n, max_abs, max_rel, nbad ? "FAIL" : "ok");
    if (nbad) {
      qsort(bad, (size_t)nbad, sizeof(Mismatch), cmp_mismatch);
      printf("    %lld values out of tolerance; worst:\n", (long long)nbad);
      for (int64_t k = 0; k < nbad && k < opt.show; ++k) {
        char ib[96];
        format_index(t, bad[k].index, ib, sizeof ib);
        printf("      %s%s analytic %+.12e  fd %+.12e  abs %.3e\n", t->name, ib, bad[k].an, bad[k].fd, bad[k].err);
      }
    }
    total += m;
    total_bad += nbad;
    free(bad);
    free(idx);
  }
  double lend = run_forward();
  if (lend != lossf) {
    printf("gradcheck: FAIL (perft_forward is not repeatable: loss %.17g then %.17g)\n", lossf, lend);
    return 1;
  }
  printf("gradcheck: estimated fd rounding noise %.1e (tolerance floor atol %.1e)\n", fd_noise, opt.atol);
  if (total_bad) {
    printf("gradcheck: FAIL (%lld of %lld values out of tolerance; worst %s%s: analytic %.10e fd %.10e)\n",
           (long long)total_bad, (long long)total, worst_name, worst_idx, worst_m.an, worst_m.fd);
    return 1;
  }
  printf("gradcheck: PASS (%lld values)\n", (long long)total);
  return 0;
}
