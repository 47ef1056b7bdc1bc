/* Independent double-precision reference for the token-model family (see token.h).
 * Plain loops, one forward/backward pair per op (llm.c style). Every backward writes the
 * gradient of its inputs and accumulates (+=) the gradient of its weights. */
#include "token.h"
#include "model.h" /* g_wrong_rule and the WRONG_* selectors */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz);
    if (!p) { fprintf(stderr, "perft-ref: out of memory\n"); exit(1); }
    return p;
}
#define DALLOC(n) ((double *)xcalloc((size_t)(n), sizeof(double)))
#define IALLOC(n) ((int *)xcalloc((size_t)(n), sizeof(int)))

#define RMS_EPS 1e-6

/* =================================================================== ops */

/* out[T,M] = x[T,D] · W[M,D]ᵀ */
void linear_fwd(double *out, const double *x, const double *W, int T, int D, int M) {
    for (int t = 0; t < T; t++)
        for (int m = 0; m < M; m++) {
            double a = 0;
            for (int d = 0; d < D; d++) a += x[(size_t)t * D + d] * W[(size_t)m * D + d];
            out[(size_t)t * M + m] = a;
        }
}
/* dx[T,D] += dout·W;  dW[M,D] += doutᵀ·x */
void linear_bwd(double *dx, double *dW, const double *dout, const double *x, const double *W, int T, int D, int M) {
    for (int t = 0; t < T; t++)
        for (int m = 0; m < M; m++) {
            double g = dout[(size_t)t * M + m];
            for (int d = 0; d < D; d++) {
                if (dx) dx[(size_t)t * D + d] += g * W[(size_t)m * D + d];
                if (dW) dW[(size_t)m * D + d] += g * x[(size_t)t * D + d];
            }
        }
}

/* y[T,D] = x / sqrt(mean(x²) + eps) ⊙ w;  rinv[T] saved */
static void rmsnorm_fwd(double *y, double *rinv, const double *x, const double *w, int T, int D) {
    for (int t = 0; t < T; t++) {
        const double *a = x + (size_t)t * D;
        double ms = 0;
        for (int d = 0; d < D; d++) ms += a[d] * a[d];
        double ri = 1.0 / sqrt(ms / D + RMS_EPS);
        rinv[t] = ri;
        for (int d = 0; d < D; d++) y[(size_t)t * D + d] = a[d] * ri * w[d];
    }
}
/* dx += ri·w⊙dy − x·ri³·(Σ_d w dy x)/D;  dw += Σ_t dy⊙x·ri */
static void rmsnorm_bwd(double *dx, double *dw, const double *dy, const double *x, const double *rinv, const double *w, int T, int D) {
    for (int t = 0; t < T; t++) {
        const double *a = x + (size_t)t * D, *gy = dy + (size_t)t * D;
        double ri = rinv[t], dot = 0;
        for (int d = 0; d < D; d++) dot += w[d] * gy[d] * a[d];
        if (g_wrong_rule == WRONG_RMSNORM) dot = 0; /* deliberately wrong: treats 1/rms as a constant */
        for (int d = 0; d < D; d++) {
            dx[(size_t)t * D + d] += ri * w[d] * gy[d] - a[d] * ri * ri * ri * dot / D;
            dw[d] += gy[d] * a[d] * ri;
        }
    }
}

/* x[T,D] = table[ids[t]] ;  dtable[ids[t]] += dx[t] */
static void embedding_fwd(double *x, const double *table, const int *ids, int T, int D) {
    for (int t = 0; t < T; t++) memcpy(x + (size_t)t * D, table + (size_t)ids[t] * D, (size_t)D * sizeof(double));
}
static void embedding_bwd(double *dtable, const double *dx, const int *ids, int T, int D) {
    for (int t = 0; t < T; t++)
        for (int d = 0; d < D; d++) dtable[(size_t)ids[t] * D + d] += dx[(size_t)t * D + d];
}

/* The positions in the loss: those whose label is not negative (−100 marks a prompt or padding
 * position, as Hugging Face's ignore_index); at least 1, so that an all-ignored batch gives 0. */
static int ce_count(const int *lab, int T) {
    int n = 0;
    for (int t = 0; t < T; t++) n += lab[t] >= 0;
    return n > 0 ? n : 1;
}

/* Σ_{t: label ≥ 0} (logsumexp(z_t) − z_t[label]) / count;  dz = (softmax(z) − onehot)/count there, 0 elsewhere */
static double ce_fwd(const double *z, const int *lab, int T, int V) {
    double acc = 0;
    for (int t = 0; t < T; t++) {
        if (lab[t] < 0) continue;
        const double *a = z + (size_t)t * V;
        double mx = a[0];
        for (int v = 1; v < V; v++) if (a[v] > mx) mx = a[v];
        double s = 0;
        for (int v = 0; v < V; v++) s += exp(a[v] - mx);
        acc += mx + log(s) - a[lab[t]];
    }
    return acc / ce_count(lab, T);
}
static void ce_bwd(double *dz, const double *z, const int *lab, int T, int V) {
    int count = ce_count(lab, T);
    for (int t = 0; t < T; t++) {
        const double *a = z + (size_t)t * V;
        if (lab[t] < 0) {
            for (int v = 0; v < V; v++) dz[(size_t)t * V + v] = 0;
            continue;
        }
        double mx = a[0];
        for (int v = 1; v < V; v++) if (a[v] > mx) mx = a[v];
        double s = 0;
        for (int v = 0; v < V; v++) s += exp(a[v] - mx);
        for (int v = 0; v < V; v++) dz[(size_t)t * V + v] = (exp(a[v] - mx) / s - (v == lab[t])) / count;
    }
}

static void softmax_fwd(double *out, const double *in, int T, int M) {
    for (int t = 0; t < T; t++) {
        const double *a = in + (size_t)t * M;
        double *o = out + (size_t)t * M, mx = a[0], s = 0;
        for (int m = 1; m < M; m++) if (a[m] > mx) mx = a[m];
        for (int m = 0; m < M; m++) { o[m] = exp(a[m] - mx); s += o[m]; }
        for (int m = 0; m < M; m++) o[m] /= s;
    }
}
/* din = out ⊙ (dout − Σ dout·out)  (overwrites din) */
static void softmax_bwd(double *din, const double *dout, const double *out, int T, int M) {
    for (int t = 0; t < T; t++) {
        const double *o = out + (size_t)t * M, *go = dout + (size_t)t * M;
        double *gi = din + (size_t)t * M, dot = 0;
        if (g_wrong_rule == WRONG_NOSOFTMAX) { for (int m = 0; m < M; m++) gi[m] = go[m]; continue; }
        for (int m = 0; m < M; m++) dot += go[m] * o[m];
        for (int m = 0; m < M; m++) gi[m] = o[m] * (go[m] - dot);
    }
}

/* top-k per row: descending, ties to the lower index */
static void topk_fwd(double *val, int *idx, const double *in, int T, int M, int k) {
    for (int t = 0; t < T; t++) {
        const double *a = in + (size_t)t * M;
        for (int s = 0; s < k; s++) {
            int best = -1;
            for (int m = 0; m < M; m++) {
                int taken = 0;
                for (int s2 = 0; s2 < s; s2++) taken |= idx[t * k + s2] == m;
                if (!taken && (best < 0 || a[m] > a[best])) best = m;
            }
            idx[t * k + s] = best;
            val[t * k + s] = a[best];
        }
    }
}
/* din += scatter(dval) */
static void topk_bwd(double *din, const double *dval, const int *idx, int T, int M, int k) {
    for (int t = 0; t < T; t++)
        for (int s = 0; s < k; s++) din[(size_t)t * M + idx[t * k + s]] += dval[t * k + s];
}

static void renorm_fwd(double *w, const double *v, int T, int k) {
    for (int t = 0; t < T; t++) {
        double Z = 0;
        for (int s = 0; s < k; s++) Z += v[t * k + s];
        for (int s = 0; s < k; s++) w[t * k + s] = v[t * k + s] / Z;
    }
}
/* dv = (dw − Σ dw·w)/Z  (overwrites dv) */
static void renorm_bwd(double *dv, const double *dw, const double *v, const double *w, int T, int k) {
    for (int t = 0; t < T; t++) {
        double Z = 0, dot = 0;
        for (int s = 0; s < k; s++) { Z += v[t * k + s]; dot += dw[t * k + s] * w[t * k + s]; }
        if (g_wrong_rule == WRONG_NORENORM) dot = 0;
        for (int s = 0; s < k; s++) dv[t * k + s] = (dw[t * k + s] - dot) / Z;
    }
}

/* LB = M Σ_e f_e P_e, f_e = share of the T·k assignments (constant), P_e = mean_t p */
static void lb_share(double *f, const int *idx, int T, int M, int k) {
    for (int m = 0; m < M; m++) f[m] = 0;
    for (int i = 0; i < T * k; i++) f[idx[i]] += 1;
    for (int m = 0; m < M; m++) f[m] /= (double)T * k;
}
static double lb_fwd(const double *p, const int *idx, int T, int M, int k) {
    double *f = DALLOC(M), lb = 0;
    lb_share(f, idx, T, M, k);
    for (int m = 0; m < M; m++) {
        double P = 0;
        for (int t = 0; t < T; t++) P += p[(size_t)t * M + m];
        lb += f[m] * P / T;
    }
    free(f);
    return M * lb;
}
/* dp += coef·M·f_e/T */
static void lb_bwd(double *dp, double coef, const int *idx, int T, int M, int k) {
    double *f = DALLOC(M);
    lb_share(f, idx, T, M, k);
    for (int t = 0; t < T; t++)
        for (int m = 0; m < M; m++) dp[(size_t)t * M + m] += coef * M * f[m] / T;
    free(f);
}

static double silu(double x) { return x / (1 + exp(-x)); }
static double dsilu(double x) { double sg = 1 / (1 + exp(-x)); return sg * (1 + x * (1 - sg)); }

/* out[M] = W[M,D]·x  (+= when acc) */
static void mv(double *out, const double *W, const double *x, int M, int D, double scale, int acc) {
    for (int m = 0; m < M; m++) {
        double a = 0;
        for (int d = 0; d < D; d++) a += W[(size_t)m * D + d] * x[d];
        out[m] = (acc ? out[m] : 0) + scale * a;
    }
}
/* dx[D] += scale·Wᵀ dout;  dW[M,D] += scale·dout ⊗ x */
static void mv_bwd(double *dx, double *dW, const double *dout, const double *W, const double *x, int M, int D, double scale) {
    for (int m = 0; m < M; m++) {
        double g = scale * dout[m];
        for (int d = 0; d < D; d++) {
            dx[d] += g * W[(size_t)m * D + d];
            dW[(size_t)m * D + d] += g * x[d];
        }
    }
}

/* One PEFT expert on one row.  LoRA: z = A x, out = s·B z.  Parallel: z = W1a x, out = W2a silu(z).
 * A: [r,D], B: [D,r]. */
static void adapter_fwd(int kind, double *out, double *z, const double *x, const double *A, const double *B, int D, int r, double s) {
    mv(z, A, x, r, D, 1, 0);
    if (kind == ADAPTER_LORA) { mv(out, B, z, D, r, s, 0); return; }
    double *a = DALLOC(r);
    for (int i = 0; i < r; i++) a[i] = silu(z[i]);
    mv(out, B, a, D, r, 1, 0);
    free(a);
}
static void adapter_bwd(int kind, double *dx, double *dA, double *dB, const double *dout, const double *z, const double *x,
                        const double *A, const double *B, int D, int r, double s) {
    double *a = DALLOC(r), *dz = DALLOC(r);
    for (int i = 0; i < r; i++) a[i] = kind == ADAPTER_LORA ? z[i] : silu(z[i]);
    mv_bwd(dz, dB, dout, B, a, D, r, kind == ADAPTER_LORA ? s : 1);
    if (kind == ADAPTER_PARALLEL)
        for (int i = 0; i < r; i++)
            dz[i] *= g_wrong_rule == WRONG_SILU ? 1 / (1 + exp(-z[i])) /* deliberately wrong: sigmoid, not silu' */ : dsilu(z[i]);
    mv_bwd(dx, dA, dz, A, x, r, D, 1);
    free(a); free(dz);
}

/* One SwiGLU expert on one row, with optional LoRA on W1/W3/W2 (A* NULL: none):
 *   a1 = W1 x + s B1 A1 x,  a3 = W3 x + s B3 A3 x,  u = silu(a1) ⊙ a3,  out = W2 u + s B2 A2 u
 * W1,W3 [F,D]; W2 [D,F]; A1,A3 [r,D]; B1,B3 [F,r]; A2 [r,F]; B2 [D,r]. */
typedef struct { const double *W1, *W3, *W2, *A1, *B1, *A3, *B3, *A2, *B2; } ExpertW;
typedef struct { double *W1, *W3, *W2, *A1, *B1, *A3, *B3, *A2, *B2; } ExpertG;
static void expert_fwd(double *out, double *a1, double *a3, double *u, double *z1, double *z3, double *z2,
                       const double *x, const ExpertW *w, int D, int F, int r, double s) {
    mv(a1, w->W1, x, F, D, 1, 0);
    mv(a3, w->W3, x, F, D, 1, 0);
    if (w->A1) {
        mv(z1, w->A1, x, r, D, 1, 0); mv(a1, w->B1, z1, F, r, s, 1);
        mv(z3, w->A3, x, r, D, 1, 0); mv(a3, w->B3, z3, F, r, s, 1);
    }
    for (int f = 0; f < F; f++) u[f] = silu(a1[f]) * a3[f];
    mv(out, w->W2, u, D, F, 1, 0);
    if (w->A2) { mv(z2, w->A2, u, r, F, 1, 0); mv(out, w->B2, z2, D, r, s, 1); }
}
static void expert_bwd(double *dx, ExpertG *g, const double *dout, const double *a1, const double *a3, const double *u,
                       const double *z1, const double *z3, const double *z2, const double *x, const ExpertW *w,
                       int D, int F, int r, double s) {
    double *du = DALLOC(F), *da1 = DALLOC(F), *da3 = DALLOC(F), *dz = DALLOC(r);
    mv_bwd(du, g->W2, dout, w->W2, u, D, F, 1);
    if (w->A2) {
        memset(dz, 0, (size_t)r * sizeof(double));
        mv_bwd(dz, g->B2, dout, w->B2, z2, D, r, s);
        mv_bwd(du, g->A2, dz, w->A2, u, r, F, 1);
    }
    for (int f = 0; f < F; f++) { da1[f] = du[f] * a3[f] * dsilu(a1[f]); da3[f] = du[f] * silu(a1[f]); }
    mv_bwd(dx, g->W1, da1, w->W1, x, F, D, 1);
    mv_bwd(dx, g->W3, da3, w->W3, x, F, D, 1);
    if (w->A1) {
        memset(dz, 0, (size_t)r * sizeof(double));
        mv_bwd(dz, g->B1, da1, w->B1, z1, F, r, s);
        mv_bwd(dx, g->A1, dz, w->A1, x, r, D, 1);
        memset(dz, 0, (size_t)r * sizeof(double));
        mv_bwd(dz, g->B3, da3, w->B3, z3, F, r, s);
        mv_bwd(dx, g->A3, dz, w->A3, x, r, D, 1);
    }
    free(du); free(da1); free(da3); free(dz);
}

/* =================================================================== state */

typedef struct {
    double *xin, *rinv, *h;          /* residual input, 1/rms, normalised [T,D] */
    double *gz;                      /* router LoRA A h [T,r] */
    double *lp, *p;                  /* [T,E] */
    double *gsel, *g; int *S;        /* [T,K] top-K values, weights used, indices */
    double *a1, *a3, *u;             /* [T,K,F] */
    double *z1, *z3, *z2;            /* [T,K,r] expert LoRA */
    double *eo;                      /* [T,K,D] expert outputs */
    double *ez, *ead;                /* PERFT-E [T,K,r], [T,K,D] */
    double *lq, *q, *qs, *w; int *j; /* PERFT-R [T,N] [T,N] [T,Kt] [T,Kt] [T,Kt] */
    double *rz, *rad;                /* [T,Kt,r], [T,Kt,D] */
    double *dz, *dad;                /* perft_s/d [T,R], [T,D] */
    double *shz, *shy;               /* shared parallel adapter [T,r], [T,D] */
    double *lpb, *pb, *gbsel; int *Sb; /* lora_router: the unmodified routing, kept for its LB [T,E] [T,E] [T,K] [T,K] */
    double lb_p, lb_pb, lb_q;
    int rk, has_gl;                  /* routed PEFT experts per token (0: none); lora_router present */
} LState;

struct TState {
    TSizes s;
    LState l[TMAX_LAYERS];
    double *x, *rinvf, *hf, *logits; /* final residual [T,D], [T], [T,D], [T,V] */
    double ce, aux, loss;
    int *sel; int nsel;
    /* backward scratch */
    double *dx, *dh, *dlogits, *dhf, *dg, *dgsel, *dp, *dlp, *dw, *dqs, *dq, *dlq, *dgz, *drow, *dscratch;
};

TState *tstate_new(const TModel *m) {
    const TSizes *s = &m->s;
    const size_t T = s->T, D = s->D, E = s->E, K = s->K, F = s->F, N = s->N, r = s->r, V = s->V;
    TState *st = xcalloc(1, sizeof *st);
    st->s = *s;
    for (int l = 0; l < s->L; l++) {
        LState *q = &st->l[l];
        q->xin = DALLOC(T * D); q->rinv = DALLOC(T); q->h = DALLOC(T * D); q->gz = DALLOC(T * r);
        q->lp = DALLOC(T * E); q->p = DALLOC(T * E); q->gsel = DALLOC(T * K); q->g = DALLOC(T * K); q->S = IALLOC(T * K);
        q->a1 = DALLOC(T * K * F); q->a3 = DALLOC(T * K * F); q->u = DALLOC(T * K * F);
        q->z1 = DALLOC(T * K * r); q->z3 = DALLOC(T * K * r); q->z2 = DALLOC(T * K * r); q->eo = DALLOC(T * K * D);
        q->ez = DALLOC(T * K * r); q->ead = DALLOC(T * K * D);
        q->lq = DALLOC(T * N); q->q = DALLOC(T * N);
        q->rz = DALLOC(T * N * r); q->rad = DALLOC(T * N * D); q->dz = DALLOC(T * N * r); q->dad = DALLOC(T * D);
        q->qs = DALLOC(T * N); q->w = DALLOC(T * N); q->j = IALLOC(T * N);
        q->shz = DALLOC(T * r); q->shy = DALLOC(T * D);
        q->lpb = DALLOC(T * E); q->pb = DALLOC(T * E); q->gbsel = DALLOC(T * K); q->Sb = IALLOC(T * K);
    }
    st->x = DALLOC(T * D); st->rinvf = DALLOC(T); st->hf = DALLOC(T * D); st->logits = DALLOC(T * V);
    st->nsel = (int)(s->L * T * (2 * K + N));
    st->sel = IALLOC(st->nsel);
    st->dx = DALLOC(T * D); st->dh = DALLOC(T * D); st->dlogits = DALLOC(T * V); st->dhf = DALLOC(T * D);
    st->dg = DALLOC(T * K); st->dgsel = DALLOC(T * K); st->dp = DALLOC(T * E); st->dlp = DALLOC(T * E);
    st->dw = DALLOC(T * N); st->dqs = DALLOC(T * N); st->dq = DALLOC(T * N); st->dlq = DALLOC(T * N);
    st->dgz = DALLOC(T * r); st->drow = DALLOC(D > F ? D : F); st->dscratch = DALLOC(D);
    return st;
}

void tstate_free(TState *st) {
    if (!st) return;
    for (int l = 0; l < st->s.L; l++) {
        LState *q = &st->l[l];
        double *ds[] = { q->xin, q->rinv, q->h, q->gz, q->lp, q->p, q->gsel, q->g, q->a1, q->a3, q->u, q->z1, q->z3, q->z2,
                         q->eo, q->ez, q->ead, q->lq, q->q, q->qs, q->w, q->rz, q->rad, q->dz, q->dad, q->shz, q->shy,
                         q->lpb, q->pb, q->gbsel };
        for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) free(ds[i]);
        free(q->S); free(q->j); free(q->Sb);
    }
    double *ds[] = { st->x, st->rinvf, st->hf, st->logits, st->dx, st->dh, st->dlogits, st->dhf, st->dg, st->dgsel, st->dp,
                     st->dlp, st->dw, st->dqs, st->dq, st->dlq, st->dgz, st->drow, st->dscratch };
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) free(ds[i]);
    free(st->sel);
    free(st);
}

const double *tstate_logits(const TState *st) { return st->logits; }
void tstate_losses(const TState *st, double *ce, double *aux) { *ce = st->ce; *aux = st->aux; }
int tstate_selections(const TState *st, const int **sel) { *sel = st->sel; return st->nsel; }

static double min_margin(const double *p, const double *val, const int *idx, int T, int M, int k) {
    double mg = INFINITY;
    if (k >= M) return mg;
    for (int t = 0; t < T; t++) {
        double best_out = -INFINITY;
        for (int m = 0; m < M; m++) {
            int in = 0;
            for (int s = 0; s < k; s++) in |= idx[t * k + s] == m;
            if (!in && p[(size_t)t * M + m] > best_out) best_out = p[(size_t)t * M + m];
        }
        double gap = val[t * k + k - 1] - best_out;
        if (gap < mg) mg = gap;
    }
    return mg;
}
double tstate_min_margin(const TState *st) {
    double mg = INFINITY;
    const TSizes *s = &st->s;
    for (int l = 0; l < s->L; l++) {
        double a = min_margin(st->l[l].p, st->l[l].gsel, st->l[l].S, s->T, s->E, s->K);
        if (a < mg) mg = a;
        a = st->l[l].has_gl ? min_margin(st->l[l].pb, st->l[l].gbsel, st->l[l].Sb, s->T, s->E, s->K) : INFINITY;
        if (a < mg) mg = a;
        a = st->l[l].rk ? min_margin(st->l[l].q, st->l[l].qs, st->l[l].j, s->T, s->N, st->l[l].rk) : INFINITY;
        if (a < mg) mg = a;
    }
    return mg;
}

/* =================================================================== model */

#define PV(i) ((i) >= 0 ? m->p[i].v : NULL)
#define PG(i) ((i) >= 0 ? m->p[i].g : NULL)

static ExpertW expert_w(const TModel *m, const TLayer *ly, int e) {
    const TSizes *s = &m->s;
    const size_t D = s->D, F = s->F, r = s->r;
    ExpertW w = { PV(ly->w1) + e * F * D, PV(ly->w3) + e * F * D, PV(ly->w2) + e * D * F, 0, 0, 0, 0, 0, 0 };
    if (ly->l1A >= 0) {
        w.A1 = PV(ly->l1A) + e * r * D; w.B1 = PV(ly->l1B) + e * F * r;
        w.A3 = PV(ly->l3A) + e * r * D; w.B3 = PV(ly->l3B) + e * F * r;
        w.A2 = PV(ly->l2A) + e * r * F; w.B2 = PV(ly->l2B) + e * D * r;
    }
    return w;
}
static ExpertG expert_g(TModel *m, const TLayer *ly, int e) {
    const TSizes *s = &m->s;
    const size_t D = s->D, F = s->F, r = s->r;
    ExpertG g = { PG(ly->w1) + e * F * D, PG(ly->w3) + e * F * D, PG(ly->w2) + e * D * F, 0, 0, 0, 0, 0, 0 };
    if (ly->l1A >= 0) {
        g.A1 = PG(ly->l1A) + e * r * D; g.B1 = PG(ly->l1B) + e * F * r;
        g.A3 = PG(ly->l3A) + e * r * D; g.B3 = PG(ly->l3B) + e * F * r;
        g.A2 = PG(ly->l2A) + e * r * F; g.B2 = PG(ly->l2B) + e * D * r;
    }
    return g;
}

/* every load-balance term of a block is scaled by its c = 0.01 (OLMoE) or 0.02 (Mixtral, renorm) */
static double lb_coef(const TModel *m) { return 0.01 * (1 + m->s.renorm); }

/* y[T,D] (zeroed first) = the block output at one layer for its input q->h */
static void layer_fwd(const TModel *m, const TLayer *ly, LState *q, double *y) {
    const TSizes *s = &m->s;
    const int T = s->T, D = s->D, E = s->E, K = s->K, F = s->F, N = s->N, r = s->r, rk = ly->rk;
    const double sc = 2.0; /* alpha/r with alpha = 2r */
    const double rsc = ly->rkind == ADAPTER_PARALLEL ? 1.0 : sc; /* routed PEFT experts: parallel adapters have no scale */
    q->rk = ly->rR >= 0 ? rk : 0;
    q->has_gl = ly->gA >= 0;

    /* base router; with lora_router the routing uses h(Wg + 2 B A)ᵀ and the unmodified routing
     * is kept for its LB term */
    linear_fwd(q->lp, q->h, PV(ly->router), T, D, E);
    q->lb_pb = 0;
    memset(q->Sb, 0, (size_t)T * K * sizeof(int));
    if (ly->gA >= 0) {
        memcpy(q->lpb, q->lp, (size_t)T * E * sizeof(double));
        softmax_fwd(q->pb, q->lpb, T, E);
        topk_fwd(q->gbsel, q->Sb, q->pb, T, E, K);
        q->lb_pb = lb_fwd(q->pb, q->Sb, T, E, K);
        linear_fwd(q->gz, q->h, PV(ly->gA), T, D, r);
        double *t2 = DALLOC((size_t)T * E);
        linear_fwd(t2, q->gz, PV(ly->gB), T, r, E);
        for (int i = 0; i < T * E; i++) q->lp[i] += sc * t2[i];
        free(t2);
    }
    softmax_fwd(q->p, q->lp, T, E);
    topk_fwd(q->gsel, q->S, q->p, T, E, K);
    if (s->renorm) renorm_fwd(q->g, q->gsel, T, K);
    else memcpy(q->g, q->gsel, (size_t)T * K * sizeof(double));
    q->lb_p = lb_fwd(q->p, q->S, T, E, K);

    /* routed experts (perft_e adds its adapter inside the route) */
    memset(y, 0, (size_t)T * D * sizeof(double));
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++) {
            size_t sl = (size_t)t * K + k;
            int e = q->S[sl];
            ExpertW w = expert_w(m, ly, e);
            const double *x = q->h + (size_t)t * D;
            expert_fwd(q->eo + sl * D, q->a1 + sl * F, q->a3 + sl * F, q->u + sl * F, q->z1 + sl * r, q->z3 + sl * r,
                       q->z2 + sl * r, x, &w, D, F, r, sc);
            if (ly->eA >= 0)
                adapter_fwd(ADAPTER_LORA, q->ead + sl * D, q->ez + sl * r, x, PV(ly->eA) + (size_t)e * r * D,
                            PV(ly->eB) + (size_t)e * D * r, D, r, sc);
            for (int d = 0; d < D; d++)
                y[(size_t)t * D + d] += q->g[sl] * (q->eo[sl * D + d] + (ly->eA >= 0 ? q->ead[sl * D + d] : 0));
        }

    /* routed PEFT experts (perft_r, perft_r_adapter, shared_routed, soft_mixture) */
    q->lb_q = 0;
    memset(q->j, 0, (size_t)T * N * sizeof(int));
    if (ly->rR >= 0) {
        linear_fwd(q->lq, q->h, PV(ly->rR), T, D, N);
        softmax_fwd(q->q, q->lq, T, N);
        topk_fwd(q->qs, q->j, q->q, T, N, rk);
        if (ly->rrenorm) renorm_fwd(q->w, q->qs, T, rk);
        else memcpy(q->w, q->qs, (size_t)T * rk * sizeof(double));
        if (ly->rlb) q->lb_q = lb_fwd(q->q, q->j, T, N, rk);
        for (int t = 0; t < T; t++)
            for (int k = 0; k < rk; k++) {
                size_t sl = (size_t)t * rk + k;
                int e = q->j[sl];
                adapter_fwd(ly->rkind, q->rad + sl * D, q->rz + sl * r, q->h + (size_t)t * D, PV(ly->rA) + (size_t)e * r * D,
                            PV(ly->rB) + (size_t)e * D * r, D, r, rsc);
                for (int d = 0; d < D; d++) y[(size_t)t * D + d] += q->w[sl] * q->rad[sl * D + d];
            }
    }
    /* perft_s / perft_d: one (stacked) LoRA of rank dR, scale 2 */
    if (ly->dA >= 0)
        for (int t = 0; t < T; t++) {
            adapter_fwd(ADAPTER_LORA, q->dad + (size_t)t * D, q->dz + (size_t)t * ly->dR, q->h + (size_t)t * D, PV(ly->dA),
                        PV(ly->dB), D, ly->dR, sc);
            for (int d = 0; d < D; d++) y[(size_t)t * D + d] += q->dad[(size_t)t * D + d];
        }
    /* shared parallel adapter */
    if (ly->shd >= 0)
        for (int t = 0; t < T; t++) {
            adapter_fwd(ADAPTER_PARALLEL, q->shy + (size_t)t * D, q->shz + (size_t)t * r, q->h + (size_t)t * D, PV(ly->shd),
                        PV(ly->shu), D, r, 1);
            for (int d = 0; d < D; d++) y[(size_t)t * D + d] += q->shy[(size_t)t * D + d];
        }
}

/* dh[T,D] (zeroed first) from dy[T,D]; accumulates weight gradients */
static void layer_bwd(TModel *m, const TLayer *ly, LState *q, TState *st, const double *dy, double *dh) {
    const TSizes *s = &m->s;
    const int T = s->T, D = s->D, E = s->E, K = s->K, F = s->F, N = s->N, r = s->r, rk = ly->rk;
    const double sc = 2.0, c = lb_coef(m);
    const double rsc = ly->rkind == ADAPTER_PARALLEL ? 1.0 : sc;
    memset(dh, 0, (size_t)T * D * sizeof(double));

    if (ly->shd >= 0)
        for (int t = 0; t < T; t++)
            adapter_bwd(ADAPTER_PARALLEL, dh + (size_t)t * D, PG(ly->shd), PG(ly->shu), dy + (size_t)t * D, q->shz + (size_t)t * r,
                        q->h + (size_t)t * D, PV(ly->shd), PV(ly->shu), D, r, 1);
    if (ly->dA >= 0)
        for (int t = 0; t < T; t++)
            adapter_bwd(ADAPTER_LORA, dh + (size_t)t * D, PG(ly->dA), PG(ly->dB), dy + (size_t)t * D, q->dz + (size_t)t * ly->dR,
                        q->h + (size_t)t * D, PV(ly->dA), PV(ly->dB), D, ly->dR, sc);

    if (ly->rR >= 0) {
        double *dout = st->drow;
        for (int t = 0; t < T; t++)
            for (int k = 0; k < rk; k++) {
                size_t sl = (size_t)t * rk + k;
                int e = q->j[sl];
                double acc = 0;
                for (int d = 0; d < D; d++) { acc += dy[(size_t)t * D + d] * q->rad[sl * D + d]; dout[d] = q->w[sl] * dy[(size_t)t * D + d]; }
                st->dw[sl] = acc;
                adapter_bwd(ly->rkind, dh + (size_t)t * D, PG(ly->rA) + (size_t)e * r * D, PG(ly->rB) + (size_t)e * D * r, dout,
                            q->rz + sl * r, q->h + (size_t)t * D, PV(ly->rA) + (size_t)e * r * D, PV(ly->rB) + (size_t)e * D * r, D, r, rsc);
            }
        if (ly->rrenorm) renorm_bwd(st->dqs, st->dw, q->qs, q->w, T, rk);
        else memcpy(st->dqs, st->dw, (size_t)T * rk * sizeof(double));
        memset(st->dq, 0, (size_t)T * N * sizeof(double));
        topk_bwd(st->dq, st->dqs, q->j, T, N, rk);
        if (ly->rlb && g_wrong_rule != WRONG_NOLB) lb_bwd(st->dq, c, q->j, T, N, rk);
        softmax_bwd(st->dlq, st->dq, q->q, T, N);
        linear_bwd(dh, PG(ly->rR), st->dlq, q->h, PV(ly->rR), T, D, N);
    }

    /* routed experts: y += g·(eo + ead) */
    double *dout = st->drow;
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++) {
            size_t sl = (size_t)t * K + k;
            int e = q->S[sl];
            const double *x = q->h + (size_t)t * D;
            double acc = 0;
            for (int d = 0; d < D; d++) {
                acc += dy[(size_t)t * D + d] * (q->eo[sl * D + d] + (ly->eA >= 0 ? q->ead[sl * D + d] : 0));
                dout[d] = q->g[sl] * dy[(size_t)t * D + d];
            }
            st->dg[sl] = acc;
            ExpertW w = expert_w(m, ly, e);
            ExpertG g = expert_g(m, ly, e);
            expert_bwd(dh + (size_t)t * D, &g, dout, q->a1 + sl * F, q->a3 + sl * F, q->u + sl * F, q->z1 + sl * r,
                       q->z3 + sl * r, q->z2 + sl * r, x, &w, D, F, r, sc);
            if (ly->eA >= 0)
                adapter_bwd(ADAPTER_LORA, dh + (size_t)t * D, PG(ly->eA) + (size_t)e * r * D, PG(ly->eB) + (size_t)e * D * r, dout,
                            q->ez + sl * r, x, PV(ly->eA) + (size_t)e * r * D, PV(ly->eB) + (size_t)e * D * r, D, r, sc);
        }
    if (s->renorm) renorm_bwd(st->dgsel, st->dg, q->gsel, q->g, T, K);
    else memcpy(st->dgsel, st->dg, (size_t)T * K * sizeof(double));
    memset(st->dp, 0, (size_t)T * E * sizeof(double));
    topk_bwd(st->dp, st->dgsel, q->S, T, E, K);
    /* this routing's LB term; for the frozen base router its gradient still reaches h and earlier layers */
    int frozen_router = ly->gA < 0 && !m->p[ly->router].trainable;
    if (g_wrong_rule != WRONG_NOLB && !(g_wrong_rule == WRONG_FROZENLB && frozen_router)) lb_bwd(st->dp, c, q->S, T, E, K);
    softmax_bwd(st->dlp, st->dp, q->p, T, E);
    linear_bwd(dh, PG(ly->router), st->dlp, q->h, PV(ly->router), T, D, E);
    if (ly->gA >= 0) {
        memset(st->dgz, 0, (size_t)T * r * sizeof(double));
        for (int i = 0; i < T * E; i++) st->dlp[i] *= sc;
        linear_bwd(st->dgz, PG(ly->gB), st->dlp, q->gz, PV(ly->gB), T, r, E);
        linear_bwd(dh, PG(ly->gA), st->dgz, q->h, PV(ly->gA), T, D, r);
        /* the unmodified routing's LB term (frozen router: gradient to h only) */
        memset(st->dp, 0, (size_t)T * E * sizeof(double));
        if (g_wrong_rule != WRONG_NOLB && g_wrong_rule != WRONG_FROZENLB) lb_bwd(st->dp, c, q->Sb, T, E, K);
        softmax_bwd(st->dlp, st->dp, q->pb, T, E);
        linear_bwd(dh, PG(ly->router), st->dlp, q->h, PV(ly->router), T, D, E);
    }
}

double tmodel_forward(const TModel *m, TState *st) {
    const TSizes *s = &m->s;
    const int T = s->T, D = s->D, V = s->V;
    double *y = DALLOC((size_t)T * D);
    embedding_fwd(st->x, PV(m->embed), m->tokens, T, D);
    st->aux = 0;
    int ns = 0;
    for (int l = 0; l < s->L; l++) {
        const TLayer *ly = &m->layer[l];
        LState *q = &st->l[l];
        memcpy(q->xin, st->x, (size_t)T * D * sizeof(double));
        rmsnorm_fwd(q->h, q->rinv, q->xin, PV(ly->norm), T, D);
        layer_fwd(m, ly, q, y);
        for (int i = 0; i < T * D; i++) st->x[i] = q->xin[i] + y[i];
        st->aux += lb_coef(m) * (q->lb_p + q->lb_pb + q->lb_q);
        memcpy(st->sel + ns, q->S, (size_t)T * s->K * sizeof(int)); ns += T * s->K;
        memcpy(st->sel + ns, q->Sb, (size_t)T * s->K * sizeof(int)); ns += T * s->K;
        memcpy(st->sel + ns, q->j, (size_t)T * s->N * sizeof(int)); ns += T * s->N;
    }
    rmsnorm_fwd(st->hf, st->rinvf, st->x, PV(m->final_norm), T, D);
    linear_fwd(st->logits, st->hf, PV(m->head), T, D, V);
    st->ce = ce_fwd(st->logits, m->labels, T, V);
    st->loss = st->ce + st->aux;
    free(y);
    return st->loss;
}

void tmodel_backward(TModel *m, TState *st) {
    const TSizes *s = &m->s;
    const int T = s->T, D = s->D, V = s->V;
    for (int i = 0; i < m->np; i++) memset(m->p[i].g, 0, (size_t)m->p[i].n * sizeof(double));
    ce_bwd(st->dlogits, st->logits, m->labels, T, V);
    memset(st->dhf, 0, (size_t)T * D * sizeof(double));
    linear_bwd(st->dhf, PG(m->head), st->dlogits, st->hf, PV(m->head), T, D, V);
    memset(st->dx, 0, (size_t)T * D * sizeof(double));
    rmsnorm_bwd(st->dx, PG(m->final_norm), st->dhf, st->x, st->rinvf, PV(m->final_norm), T, D);
    for (int l = s->L - 1; l >= 0; l--) {
        const TLayer *ly = &m->layer[l];
        LState *q = &st->l[l];
        /* x_out = xin + y(h(xin)):  dy = dx_out; dxin = dx_out + rmsnorm_bwd(dh) */
        layer_bwd(m, ly, q, st, st->dx, st->dh);
        rmsnorm_bwd(st->dx, PG(ly->norm), st->dh, q->xin, q->rinv, PV(ly->norm), T, D);
    }
    embedding_bwd(PG(m->embed), st->dx, m->tokens, T, D);
}

/* =================================================================== parameters */

enum { INIT_NORMAL = 0, INIT_NORMW = 1 };

static int addp(TModel *m, int trainable, int kind, double scale, int ndim, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));
#include <stdarg.h>
static int addp(TModel *m, int trainable, int kind, double scale, int ndim, int64_t d0, int64_t d1, int64_t d2, const char *fmt, ...) {
    if (m->np >= TMAX_PARAMS) { fprintf(stderr, "perft-ref: too many parameters\n"); exit(1); }
    TParam *p = &m->p[m->np];
    memset(p, 0, sizeof *p);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    p->ndim = ndim;
    p->shape[0] = d0; p->shape[1] = d1; p->shape[2] = d2;
    p->n = 1;
    for (int i = 0; i < ndim; i++) p->n *= p->shape[i];
    p->trainable = trainable;
    p->kind = kind;
    p->scale = scale;
    p->v = DALLOC(p->n);
    p->g = DALLOC(p->n);
    return m->np++;
}

/* The strategy table: one selector per examples/token_*.perft program (dsl/lib/strategies.perft). */
static const TStrategy STRATS[] = {
    /* name              lower           upper            trR trX trB */
    { "base",            0,              0,               0,  0,  0 },
    { "perft_r",         C_R,            C_R,             0,  0,  0 },
    { "perft_e",         C_E,            C_E,             0,  0,  0 },
    { "perft_s",         C_S,            C_S,             0,  0,  0 },
    { "perft_d",         C_D,            C_D,             0,  0,  0 },
    { "lora_router",     C_GL,           C_GL,            0,  0,  0 },
    { "lora_experts",    C_XL,           C_XL,            0,  0,  0 },
    { "full_ft",         0,              0,               1,  1,  0 },
    { "pretrain",        0,              0,               1,  1,  1 },
    { "perft_e_plus_r",  C_E | C_R,      C_E | C_R,       0,  0,  0 },
    { "perft_r_upper_layers", 0,         C_R,             0,  0,  0 },
    { "depth_mixed",     C_S,            C_R,             0,  0,  0 },
    { "shared_routed",   C_SH,           C_SH,            0,  0,  0 },
    { "soft_mixture",    C_SOFT,         C_SOFT,          0,  0,  0 },
    { "perft_r_adapter", C_RPA,          C_RPA,           0,  0,  0 },
};
#define NSTRATS ((int)(sizeof STRATS / sizeof STRATS[0]))

void tmodel_list_strategies(void) {
    for (int i = 0; i < NSTRATS; i++) printf("%s\n", STRATS[i].name);
}

/* Names (docs/LANGUAGE.md; `layers l in L { ... }` in examples/token_*.perft): the layer-l
 * instance of the moe block and the layer's norm. */
#define LAYER_FMT "layers.%d"
static const char *inst(int l, char *buf, size_t n) { snprintf(buf, n, LAYER_FMT ".moe", l); return buf; }

int tmodel_build(TModel *m, const TSizes *s, const char *strategy, unsigned layers) {
    memset(m, 0, sizeof *m);
    const TStrategy *S = NULL;
    for (int i = 0; strategy && i < NSTRATS; i++) if (strcmp(STRATS[i].name, strategy) == 0) S = &STRATS[i];
    if (!S) return -1;
    if (s->L < 1 || s->L > TMAX_LAYERS) { fprintf(stderr, "perft-ref: L must be in 1..%d\n", TMAX_LAYERS); return -2; }
    m->s = *s;
    m->st = *S;
    const int64_t V = s->V, D = s->D, E = s->E, F = s->F, N = s->N, r = s->r;
    const double sD = 1 / sqrt((double)D), sF = 1 / sqrt((double)F), sr = 1 / sqrt((double)r);
    const double bsc = 0.5 * sr; /* LoRA B: far from zero (2·B·A·h has std ≈ 1) */
    const int tb = S->train_base;
    char ib[48];
    m->embed = addp(m, tb, INIT_NORMAL, 1.0, 2, V, D, 0, "embed");
    for (int l = 0; l < s->L; l++) {
        TLayer *ly = &m->layer[l];
        memset(ly, -1, sizeof *ly);
        /* `when l < L / 2` / `when l >= L / 2`: numbers are real in the DSL (docs/LANGUAGE.md), so
         * L = 3 splits 0 1 | 2 */
        int comp = 2 * l < s->L ? S->lower : S->upper;
        if (layers && !(layers >> l & 1)) comp = 0; /* --layers: restrict further */
        ly->comp = comp;
        ly->rk = 0; ly->rrenorm = 1; ly->rlb = 1; ly->dR = 0; ly->rkind = ADAPTER_LORA;
        const char *I = inst(l, ib, sizeof ib);
        ly->norm = addp(m, tb, INIT_NORMW, 0.3, 1, D, 0, 0, LAYER_FMT ".norm", l);
        ly->router = addp(m, S->train_router, INIT_NORMAL, 2 * sD, 2, E, D, 0, "%s.router", I);
        ly->w1 = addp(m, S->train_experts, INIT_NORMAL, sD, 3, E, F, D, "%s.experts.w1", I);
        ly->w3 = addp(m, S->train_experts, INIT_NORMAL, sD, 3, E, F, D, "%s.experts.w3", I);
        ly->w2 = addp(m, S->train_experts, INIT_NORMAL, sF, 3, E, D, F, "%s.experts.w2", I);
        int first_adapter = m->np;
        if (comp & C_E) {
            ly->eA = addp(m, 1, INIT_NORMAL, sD, 3, E, r, D, "%s.perft_e.ad.A", I);
            ly->eB = addp(m, 1, INIT_NORMAL, bsc, 3, E, D, r, "%s.perft_e.ad.B", I);
        }
        if (comp & C_RPA) {
            /* strategy perft_r_adapter: router [N,D]; bank ad[N] = parallel_adapter(D, r): W1 [r,D], W2 [D,r] */
            ly->rR = addp(m, 1, INIT_NORMAL, 2 * sD, 2, N, D, 0, "%s.perft_r_adapter.router", I);
            ly->rA = addp(m, 1, INIT_NORMAL, sD, 3, N, r, D, "%s.perft_r_adapter.ad.W1", I);
            ly->rB = addp(m, 1, INIT_NORMAL, sr, 3, N, D, r, "%s.perft_r_adapter.ad.W2", I);
            ly->rk = s->Kt;
            ly->rrenorm = ly->rlb = 1;
            ly->rkind = ADAPTER_PARALLEL;
        }
        if (comp & (C_R | C_SH | C_SOFT)) {
            const char *sn = comp & C_R ? "perft_r" : comp & C_SH ? "shared_routed" : "soft_mixture";
            if (comp & C_SH) {
                ly->shd = addp(m, 1, INIT_NORMAL, sD, 2, r, D, 0, "%s.%s.shared_down", I, sn);
                ly->shu = addp(m, 1, INIT_NORMAL, sr, 2, D, r, 0, "%s.%s.shared_up", I, sn);
            }
            ly->rR = addp(m, 1, INIT_NORMAL, 2 * sD, 2, N, D, 0, "%s.%s.router", I, sn);
            ly->rA = addp(m, 1, INIT_NORMAL, sD, 3, N, r, D, "%s.%s.ad.A", I, sn);
            ly->rB = addp(m, 1, INIT_NORMAL, bsc, 3, N, D, r, "%s.%s.ad.B", I, sn);
            ly->rk = comp & C_SOFT ? s->N : s->Kt;
            ly->rrenorm = ly->rlb = !(comp & C_SOFT);
        }
        if (comp & (C_S | C_D)) {
            int R = comp & C_S ? s->r : s->N * s->r;
            const char *sn = comp & C_S ? "perft_s" : "perft_d";
            ly->dR = R;
            ly->dA = addp(m, 1, INIT_NORMAL, sD, 2, R, D, 0, "%s.%s.A", I, sn);
            ly->dB = addp(m, 1, INIT_NORMAL, bsc, 2, D, R, 0, "%s.%s.B", I, sn);
        }
        if (comp & C_GL) {
            ly->gA = addp(m, 1, INIT_NORMAL, sD, 2, r, D, 0, "%s.lora_router.A", I);
            ly->gB = addp(m, 1, INIT_NORMAL, sr, 2, E, r, 0, "%s.lora_router.B", I);
        }
        if (comp & C_XL) {
            ly->l1A = addp(m, 1, INIT_NORMAL, sD, 3, E, r, D, "%s.lora_experts.l1.A", I);
            ly->l1B = addp(m, 1, INIT_NORMAL, bsc, 3, E, F, r, "%s.lora_experts.l1.B", I);
            ly->l3A = addp(m, 1, INIT_NORMAL, sD, 3, E, r, D, "%s.lora_experts.l3.A", I);
            ly->l3B = addp(m, 1, INIT_NORMAL, bsc, 3, E, F, r, "%s.lora_experts.l3.B", I);
            ly->l2A = addp(m, 1, INIT_NORMAL, sF, 3, E, r, F, "%s.lora_experts.l2.A", I);
            ly->l2B = addp(m, 1, INIT_NORMAL, bsc, 3, E, D, r, "%s.lora_experts.l2.B", I);
        }
        for (int i = first_adapter; i < m->np; i++) m->p[i].adapter = 1;
    }
    m->final_norm = addp(m, tb, INIT_NORMW, 0.3, 1, D, 0, 0, "final_norm");
    m->head = addp(m, tb, INIT_NORMAL, sD, 2, V, D, 0, "head");
    m->tokens_name = "tokens";
    m->labels_name = "labels";
    m->tokens = IALLOC(s->T);
    m->labels = IALLOC(s->T);
    return 0;
}

void tmodel_free(TModel *m) {
    for (int i = 0; i < m->np; i++) { free(m->p[i].v); free(m->p[i].g); }
    free(m->tokens); free(m->labels);
    m->np = 0;
}

/* ------------------------------------------------------------------ random weights */
static uint64_t trng;
static uint64_t tsplitmix(void) {
    uint64_t z = (trng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double tunif(void) { return ((tsplitmix() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
static double tnormal(void) { return sqrt(-2.0 * log(tunif())) * cos(6.283185307179586 * tunif()); }

/* Scales: embed N(0,1); norm weights 1 + 0.3·N(0,1); routers (base and PEFT) N(0,1)·2/√D (logit
 * std ≈ 2); experts N(0,1)/√fan-in; head N(0,1)/√D; A / W1a N(0,1)/√fan-in; B / W2a N(0,1)·0.5/√r
 * (LoRA) or 1/√r (parallel): far from zero. Values are rounded to f32 so both sides see the
 * same numbers. Tokens and labels uniform in [0,V). */
void tmodel_generate(TModel *m, unsigned long long seed) {
    trng = 0x70C3E000ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
    for (int i = 0; i < m->np; i++) {
        TParam *p = &m->p[i];
        for (int64_t k = 0; k < p->n; k++) {
            double z = tnormal() * p->scale;
            p->v[k] = (double)(float)(p->kind == INIT_NORMW ? 1 + z : z);
        }
    }
    for (int t = 0; t < m->s.T; t++) m->tokens[t] = (int)(tsplitmix() % (uint64_t)m->s.V);
    for (int t = 0; t < m->s.T; t++) m->labels[t] = (int)(tsplitmix() % (uint64_t)m->s.V);
}
