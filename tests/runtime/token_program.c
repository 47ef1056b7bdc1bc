/* token_program.c: a hand-written stand-in for a token model that perftc generates (docs/ABI.md,
 * "Additions for token models"): i32 inputs with ranges, a seed input, `classify`. Built three
 * times (CMakeLists.txt):
 *
 *   base     (default)            embed, head trainable                      -- pretraining
 *   adapter  -DTOKEN_ADAPTER      embed, head frozen; lora.A, lora.B adapters -- fine-tuning
 *   pair     -DTOKEN_PAIR         a second token input `other`               -- held-out split
 *
 * The model (T = 16 tokens, V = 11 classes, H = 8 hidden, R = 4 adapter rank), dropout-free:
 *   x       = embed[tokens] (+ embed[other])              (T, H)
 *   W       = head (+ lora.A @ lora.B)                    (H, V)
 *   logits  = x @ W                                       (T, V)
 *   loss    = mean_t -log softmax(logits[t])[labels[t]]
 *   dlogits = (softmax(logits) - onehot(labels)) / T      (T, V)
 *   dW      = x^T @ dlogits; dx = dlogits @ W^T;  grad_head = dW,
 *   grad_A  = dW @ B^T, grad_B = A^T @ dW,   grad_embed[tokens[t]] += dx[t] (and other[t])
 *
 * It checks the runtime's promises: a 64-byte aligned workspace, no heap allocation from the
 * second call on (malloc/calloc/realloc wrapped with -Wl,--wrap), token ids and labels in range
 * (else abort). With PERFT_FAKE_LOG=FILE it appends one line per call, written with write(2) so
 * that logging allocates nothing:
 *   train|eval SEED ; tokens... ; other... ; labels...
 * ("train" = perft_train_step, "eval" = perft_forward; `other` is empty except in the pair build).
 */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { T = 16, V = 11, H = 8, R = 4 };

#define COMMON_HEAD "perft-manifest 1\ntokens 16\n"
#if defined(TOKEN_ADAPTER)
#define PARAMS                                     \
  "param embed 11x8 frozen normal 0 1\n"           \
  "param head 8x11 frozen normal 0 0.3\n"          \
  "param lora.A 8x4 trainable normal 0 0.3 adapter\n" \
  "param lora.B 4x11 trainable zeros adapter\n"
#define GRADS "grad lora.A 8x4\ngrad lora.B 4x11\n"
enum { NUM_PARAMS = 4, NUM_GRADS = 2 };
#else
#define PARAMS                                     \
  "param embed 11x8 trainable normal 0 1\n"        \
  "param head 8x11 trainable normal 0 0.3\n"
#define GRADS "grad embed 11x8\ngrad head 8x11\n"
enum { NUM_PARAMS = 2, NUM_GRADS = 2 };
#endif
#if defined(TOKEN_PAIR)
#define INPUTS                                                                           \
  "input tokens 16 i32\ninput other 16 i32\ninput labels 16 i32\ninput seed 1 i32\n"     \
  "range tokens 11\nrange other 11\n"
enum { NUM_INPUTS = 4, HAS_OTHER = 1 };
#else
#define INPUTS "input tokens 16 i32\ninput labels 16 i32\ninput seed 1 i32\nrange tokens 11\n"
enum { NUM_INPUTS = 3, HAS_OTHER = 0 };
#endif

const char perft_manifest[] = COMMON_HEAD PARAMS INPUTS
    "range labels 11\n"
    "seed seed\n"
    "output logits 16x11\n" GRADS
    "classify logits labels\n"
    "workspace 4096\n";

/* buffer indices (docs/ABI.md order) */
enum {
  B_EMBED = 0, B_HEAD = 1, B_A = 2, B_B = 3,
  B_TOKENS = NUM_PARAMS,
  B_OTHER = NUM_PARAMS + 1,                 /* pair build only */
  B_LABELS = NUM_PARAMS + 1 + HAS_OTHER,
  B_SEED = NUM_PARAMS + 2 + HAS_OTHER,
  B_LOSS = NUM_PARAMS + NUM_INPUTS,
  B_LOGITS = B_LOSS + 1,
  B_GRAD0 = B_LOGITS + 1,
  B_WORKSPACE = B_GRAD0 + NUM_GRADS
};

/* ---- allocation watch ---- */
static unsigned long allocation_count;
void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *pointer, size_t size);
void *__wrap_malloc(size_t size) { allocation_count++; return __real_malloc(size); }
void *__wrap_calloc(size_t count, size_t size) { allocation_count++; return __real_calloc(count, size); }
void *__wrap_realloc(void *pointer, size_t size) { allocation_count++; return __real_realloc(pointer, size); }

static void fail(const char *message) {
  fprintf(stderr, "token_program: %s\n", message);
  abort();
}

static void check_runtime_promises(void **buffers) {
  static int calls;
  static unsigned long count_at_second_call;
  calls++;
  if (calls == 2) count_at_second_call = allocation_count;
  if (calls > 2 && allocation_count != count_at_second_call)
    fail("heap allocation inside the training loop");
  if ((uintptr_t)buffers[B_WORKSPACE] % 64 != 0) fail("workspace is not 64-byte aligned");
  const int32_t *tokens = buffers[B_TOKENS], *labels = buffers[B_LABELS];
  for (int t = 0; t < T; t++) {
    if (tokens[t] < 0 || tokens[t] >= V) fail("token id out of range");
    if ((labels[t] < 0 && labels[t] != -100) || labels[t] >= V) fail("label out of range");
    if (HAS_OTHER && (((const int32_t *)buffers[B_OTHER])[t] < 0 ||
                      ((const int32_t *)buffers[B_OTHER])[t] >= V))
      fail("other token id out of range");
  }
}

static void log_call(void **buffers, const char *kind) {
  static int fd = -2;
  if (fd == -2) {
    const char *path = getenv("PERFT_FAKE_LOG");
    fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
  }
  if (fd < 0) return;
  static char line[1024];
  int used = snprintf(line, sizeof line, "%s %d ;", kind, (int)*(const int32_t *)buffers[B_SEED]);
  const int32_t *tokens = buffers[B_TOKENS], *labels = buffers[B_LABELS];
  for (int t = 0; t < T; t++) used += snprintf(line + used, sizeof line - used, " %d", tokens[t]);
  used += snprintf(line + used, sizeof line - used, " ;");
  for (int t = 0; HAS_OTHER && t < T; t++)
    used += snprintf(line + used, sizeof line - used, " %d", ((const int32_t *)buffers[B_OTHER])[t]);
  used += snprintf(line + used, sizeof line - used, " ;");
  for (int t = 0; t < T; t++) used += snprintf(line + used, sizeof line - used, " %d", labels[t]);
  used += snprintf(line + used, sizeof line - used, "\n");
  if (write(fd, line, (size_t)used) != used) fail("cannot write PERFT_FAKE_LOG");
}

/* Workspace layout (floats). */
typedef struct {
  float *x;        /* (T, H) */
  float *w;        /* (H, V) effective head */
  float *dlogits;  /* (T, V) */
  float *dw;       /* (H, V) */
} Workspace;

static Workspace workspace_of(void **buffers) {
  float *base = buffers[B_WORKSPACE];
  Workspace ws = {base, base + T * H, base + T * H + H * V, base + T * H + H * V + T * V};
  return ws;
}

static void forward(void **buffers) {
  const float *embed = buffers[B_EMBED];  /* (V, H) */
  const float *head = buffers[B_HEAD];    /* (H, V) */
  const int32_t *tokens = buffers[B_TOKENS], *labels = buffers[B_LABELS]; /* (T) */
  float *loss = buffers[B_LOSS];          /* (1) */
  float *logits = buffers[B_LOGITS];      /* (T, V) */
  Workspace ws = workspace_of(buffers);
  for (int t = 0; t < T; t++)
    for (int h = 0; h < H; h++) {
      float value = embed[tokens[t] * H + h];
      if (HAS_OTHER) value += embed[((const int32_t *)buffers[B_OTHER])[t] * H + h];
      ws.x[t * H + h] = value;
    }
  memcpy(ws.w, head, sizeof(float) * H * V);
#if defined(TOKEN_ADAPTER)
  const float *a = buffers[B_A], *b = buffers[B_B]; /* (H, R), (R, V) */
  for (int h = 0; h < H; h++)
    for (int v = 0; v < V; v++)
      for (int r = 0; r < R; r++) ws.w[h * V + v] += a[h * R + r] * b[r * V + v];
#endif
  double total = 0.0;
  int in_loss = 0; /* labels of -100 are outside the loss */
  for (int t = 0; t < T; t++) in_loss += labels[t] >= 0;
  double count = in_loss ? in_loss : 1;
  for (int t = 0; t < T; t++) {
    float *row = logits + t * V;
    float max = -INFINITY;
    for (int v = 0; v < V; v++) {
      float acc = 0.0f;
      for (int h = 0; h < H; h++) acc += ws.x[t * H + h] * ws.w[h * V + v];
      row[v] = acc;
      if (acc > max) max = acc;
    }
    double sum = 0.0;
    for (int v = 0; v < V; v++) sum += exp((double)(row[v] - max));
    if (labels[t] < 0) {
      for (int v = 0; v < V; v++) ws.dlogits[t * V + v] = 0.0f;
      continue;
    }
    total += log(sum) + max - row[labels[t]];
    for (int v = 0; v < V; v++)
      ws.dlogits[t * V + v] =
          (float)((exp((double)(row[v] - max)) / sum - (v == labels[t])) / count);
  }
  *loss = (float)(total / count);
}

void perft_forward(void **buffers) {
  check_runtime_promises(buffers);
  log_call(buffers, "eval");
  forward(buffers);
}

void perft_train_step(void **buffers) {
  check_runtime_promises(buffers);
  log_call(buffers, "train");
  forward(buffers);
  Workspace ws = workspace_of(buffers);
  for (int h = 0; h < H; h++)
    for (int v = 0; v < V; v++) {
      float acc = 0.0f;
      for (int t = 0; t < T; t++) acc += ws.x[t * H + h] * ws.dlogits[t * V + v];
      ws.dw[h * V + v] = acc;
    }
#if defined(TOKEN_ADAPTER)
  const float *a = buffers[B_A], *b = buffers[B_B];                   /* (H, R), (R, V) */
  float *grad_a = buffers[B_GRAD0], *grad_b = buffers[B_GRAD0 + 1];  /* (H, R), (R, V) */
  for (int h = 0; h < H; h++)
    for (int r = 0; r < R; r++) {
      float acc = 0.0f;
      for (int v = 0; v < V; v++) acc += ws.dw[h * V + v] * b[r * V + v];
      grad_a[h * R + r] = acc;
    }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) {
      float acc = 0.0f;
      for (int h = 0; h < H; h++) acc += a[h * R + r] * ws.dw[h * V + v];
      grad_b[r * V + v] = acc;
    }
#else
  const int32_t *tokens = buffers[B_TOKENS];
  float *grad_embed = buffers[B_GRAD0], *grad_head = buffers[B_GRAD0 + 1]; /* (V, H), (H, V) */
  memcpy(grad_head, ws.dw, sizeof(float) * H * V);
  memset(grad_embed, 0, sizeof(float) * V * H);
  for (int t = 0; t < T; t++)
    for (int h = 0; h < H; h++) {
      float dx = 0.0f;
      for (int v = 0; v < V; v++) dx += ws.dlogits[t * V + v] * ws.w[h * V + v];
      grad_embed[tokens[t] * H + h] += dx;
      if (HAS_OTHER) grad_embed[((const int32_t *)buffers[B_OTHER])[t] * H + h] += dx;
    }
#endif
}
