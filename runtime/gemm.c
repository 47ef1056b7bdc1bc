/* gemm.c — the row-major GEMMs of gemm.h as column-major BLAS calls, for both backends.
 *
 * A row-major [R,C] buffer is the column-major [C,R] matrix of the same memory: its transpose.
 * So row-major c = op(a)·op(b) is column-major cᵀ = op(b)ᵀ·op(a)ᵀ: the call takes b as A and a
 * as B, m = N, n = M, and an operand stored transposed in row-major is not transposed in
 * column-major (and the other way round). The grouped GEMMs are one such GEMM per expert with
 * rows, on pointers offset to the expert's first row and weights, handed to the backend as one
 * group (gemm_backend_run_group); so are attention's GEMMs, one per (sequence, head).
 */
#include "gemm.h"

#include "check.h"
#include "launch.h"

#include <stdlib.h>
#include <string.h>

/* the bytes of an element of an output, and of an input */
static size_t element_bytes(int64_t flags) { return flags & GEMM_F64 ? sizeof(double) : sizeof(float); }
static size_t input_bytes(int64_t flags) { return flags & GEMM_BF16_INPUTS ? sizeof(uint16_t) : element_bytes(flags); }

static void *at(intptr_t base, int64_t elements, size_t bytes) { return (char *)base + (size_t)elements * bytes; }

/* Row-major c[M,N] (+)= op(a)·op(b), lda, ldb, ldc the operands' row strides, as the column-major call. */
static ColumnGemm strided_gemm(int64_t flags, int64_t M, int64_t N, int64_t K, const void *a, int64_t lda, const void *b,
                               int64_t ldb, void *c, int64_t ldc) {
  return (ColumnGemm){
      .trans_a = (flags & GEMM_TRANSPOSE_B) != 0, /* column-major A is row-major b */
      .trans_b = (flags & GEMM_TRANSPOSE_A) != 0,
      .accumulate = (flags & GEMM_ACCUMULATE) != 0,
      .f64 = (flags & GEMM_F64) != 0,
      .bf16_inputs = (flags & GEMM_BF16_INPUTS) != 0,
      .m = N, .n = M, .k = K,
      .a = b, .lda = ldb,
      .b = a, .ldb = lda,
      .c = c, .ldc = ldc,
  };
}

/* The same with every operand packed (its rows side by side: the row stride is the row length). */
static ColumnGemm packed_gemm(int64_t flags, int64_t M, int64_t N, int64_t K, const void *a, const void *b, void *c) {
  return strided_gemm(flags, M, N, K, a, flags & GEMM_TRANSPOSE_A ? M : K, b, flags & GEMM_TRANSPOSE_B ? K : N, c, N);
}

/* The GEMMs of one call, handed to the backend as a group (reused: the runtime is one thread). */
static struct {
  ColumnGemm *items;
  int64_t count, capacity;
} group;
static void group_add(ColumnGemm g) {
  if (group.count == group.capacity) {
    group.capacity = group.capacity ? 2 * group.capacity : 64;
    group.items = reallocCheck(group.items, (size_t)group.capacity * sizeof *group.items);
  }
  group.items[group.count++] = g;
}
static void group_run(void) {
  if (group.count) gemm_backend_run_group(group.items, group.count);
  group.count = 0;
}

void perft_gemm(int64_t flags, int64_t M, int64_t N, int64_t K, intptr_t a, intptr_t b, intptr_t c) {
  ColumnGemm g = packed_gemm(flags, M, N, K, (const void *)a, (const void *)b, (void *)c);
  gemm_backend_run(&g);
}

/* The offsets announced by perft_gemm_offsets_ready, by address. */
enum { MAX_KNOWN_OFFSETS = 256 };
static struct {
  intptr_t address;
  int64_t E;
  int32_t *copy; /* E + 1 */
} known[MAX_KNOWN_OFFSETS];
static int num_known;

void perft_gemm_offsets_ready(int64_t E, intptr_t offsets) {
  int i = 0;
  while (i < num_known && known[i].address != offsets) i++;
  if (i == num_known) {
    if (num_known == MAX_KNOWN_OFFSETS)
      perft_fatal_at(__FILE__, __LINE__, "more than %d expert offset buffers", MAX_KNOWN_OFFSETS);
    known[num_known++].address = offsets;
  }
  if (known[i].E != E) {
    free(known[i].copy);
    known[i].copy = mallocCheck(sizeof(int32_t) * (size_t)(E + 1));
    known[i].E = E;
  }
  launch_memory_read(known[i].copy, (const void *)offsets, sizeof(int32_t) * (size_t)(E + 1));
}

/* The E + 1 offsets at `offsets` (device memory): the copy made when they were ready, else one read
 * now (after waiting); checked (a bad offset is a compiler bug). */
static const int32_t *offsets_of(intptr_t offsets, int64_t E) {
  const int32_t *o = NULL;
  for (int i = 0; i < num_known && !o; i++)
    if (known[i].address == offsets && known[i].E == E) o = known[i].copy;
  if (!o) {
    static int32_t *read;
    static int64_t read_E = -1;
    if (read_E < E) read = reallocCheck(read, sizeof(int32_t) * (size_t)(E + 1)), read_E = E;
    launch_memory_read(read, (const void *)offsets, sizeof(int32_t) * (size_t)(E + 1));
    o = read;
  }
  for (int64_t e = 0; e < E; e++)
    if (o[e] < 0 || o[e + 1] < o[e])
      perft_fatal_at(__FILE__, __LINE__, "expert %lld's rows [%d, %d) are not a range", (long long)e, o[e], o[e + 1]);
  return o;
}

void perft_grouped_gemm(int64_t flags, int64_t E, int64_t N, int64_t K, intptr_t rows, intptr_t bank,
                        intptr_t offsets, intptr_t y) {
  const int32_t *o = offsets_of(offsets, E);
  size_t in = input_bytes(flags), out = element_bytes(flags);
  for (int64_t e = 0; e < E; e++) {
    int64_t first = o[e], last = o[e + 1];
    if (last == first) continue;
    /* y[first:last] = rows[first:last] · op(bank[e]) */
    group_add(packed_gemm(flags & (GEMM_TRANSPOSE_B | GEMM_F64 | GEMM_BF16_INPUTS), last - first, N, K,
                          at(rows, first * K, in), at(bank, e * N * K, in), at(y, first * N, out)));
  }
  group_run();
}

void perft_grouped_gemm_grad_weight(int64_t flags, int64_t E, int64_t N, int64_t K, intptr_t dy, intptr_t rows,
                                    intptr_t offsets, intptr_t dbank) {
  const int32_t *o = offsets_of(offsets, E);
  size_t in = input_bytes(flags), out = element_bytes(flags);
  for (int64_t e = 0; e < E; e++) {
    int64_t first = o[e], last = o[e + 1];
    void *dw = at(dbank, e * N * K, out);
    if (last == first) {
      gemm_backend_zero(dw, (size_t)(N * K) * out);
      continue;
    }
    int64_t R = last - first, types = flags & (GEMM_F64 | GEMM_BF16_INPUTS);
    const void *dy_e = at(dy, first * N, in), *rows_e = at(rows, first * K, in);
    if (flags & GEMM_TRANSPOSE_B) /* dw[N,K] = dy_eᵀ · rows_e: a = dy_e stored [R,N] */
      group_add(packed_gemm(types | GEMM_TRANSPOSE_A, N, K, R, dy_e, rows_e, dw));
    else /* dw[K,N] = rows_eᵀ · dy_e */
      group_add(packed_gemm(types | GEMM_TRANSPOSE_A, K, N, R, rows_e, dy_e, dw));
  }
  group_run();
}

void perft_attention_gemm(int64_t flags, int64_t B, int64_t S, int64_t d, int64_t H, int64_t G, intptr_t x, intptr_t y,
                          intptr_t out) {
  if (G < 1 || H % G != 0)
    perft_fatal_at(__FILE__, __LINE__, "attention with %lld heads over %lld kv heads", (long long)H, (long long)G);
  int64_t types = flags & GEMM_F64, r = H / G; /* heads a kv head serves */
  size_t bytes = element_bytes(flags);
  if (!(flags & (ATTENTION_SCORES | ATTENTION_APPLY | ATTENTION_APPLY_T)))
    perft_fatal_at(__FILE__, __LINE__, "attention GEMM flags %lld name no form", (long long)flags);
  /* APPLY_T's heads of one kv head add into one output: a group (round) for each head of a kv
   * group, the first setting it; the other forms write each (sequence, head) its own output */
  int64_t rounds = flags & ATTENTION_APPLY_T ? r : 1;
  for (int64_t round = 0; round < rounds; round++) {
    for (int64_t b = 0; b < B; b++)
      for (int64_t h = 0; h < H; h++) {
        if (rounds > 1 && h % r != round) continue;
        int64_t g = h / r, square = (b * H + h) * S * S;              /* x or out [b·H + h] */
        int64_t head = b * S * H * d + h * d, kv = b * S * G * d + g * d; /* the heads' first elements */
        if (flags & ATTENTION_SCORES) /* [S,S] = x_bh [S,d] · y_bgᵀ */
          group_add(strided_gemm(types | GEMM_TRANSPOSE_B, S, S, d, at(x, head, bytes), H * d, at(y, kv, bytes), G * d,
                                 at(out, square, bytes), S));
        else if (flags & ATTENTION_APPLY) /* [S,d] = x[b·H+h] [S,S] · y_bg [S,d] */
          group_add(strided_gemm(types, S, d, S, at(x, square, bytes), S, at(y, kv, bytes), G * d, at(out, head, bytes), H * d));
        else /* out_bg [S,d] (+)= x[b·H+h]ᵀ · y_bh, the group's first head sets it */
          group_add(strided_gemm(types | GEMM_TRANSPOSE_A | (round ? GEMM_ACCUMULATE : 0), S, d, S, at(x, square, bytes), S,
                                 at(y, head, bytes), H * d, at(out, kv, bytes), G * d));
      }
    group_run();
  }
}
