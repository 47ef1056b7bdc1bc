/* Independent double-precision reference: forward/backward pairs, one small
 * function per op, plain loops (llm.c style). See model.h for the program. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int g_wrong_rule = WRONG_NONE;

static void *xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz);
    if (!p) { fprintf(stderr, "perft-ref: out of memory\n"); exit(1); }
    return p;
}
#define DALLOC(n) ((double *)xcalloc((size_t)(n), sizeof(double)))
#define IALLOC(n) ((int *)xcalloc((size_t)(n), sizeof(int)))

/* ------------------------------------------------------------------ ops */

/* out[T,M] = x[T,D] · W[M,D]^T */
static void linear_forward(double *out, const double *x, const double *W, int T, int D, int M) {
    for (int t = 0; t < T; t++)
        for (int m = 0; m < M; m++) {
            double acc = 0.0;
            for (int d = 0; d < D; d++) acc += x[t * D + d] * W[m * D + d];
            out[t * M + m] = acc;
        }
}
/* dW[M,D] += dout[T,M]^T · x[T,D]   (no gradient for x: h is an input) */
static void linear_backward_weight(double *dW, const double *dout, const double *x, int T, int D, int M) {
    for (int t = 0; t < T; t++)
        for (int m = 0; m < M; m++) {
            double g = dout[t * M + m];
            for (int d = 0; d < D; d++) dW[m * D + d] += g * x[t * D + d];
        }
}

/* out[T,M] = softmax(in[T,M]) along M */
static void softmax_forward(double *out, const double *in, int T, int M) {
    for (int t = 0; t < T; t++) {
        const double *a = in + (size_t)t * M;
        double *o = out + (size_t)t * M;
        double mx = a[0];
        for (int m = 1; m < M; m++) if (a[m] > mx) mx = a[m];
        double sum = 0.0;
        for (int m = 0; m < M; m++) { o[m] = exp(a[m] - mx); sum += o[m]; }
        for (int m = 0; m < M; m++) o[m] /= sum;
    }
}
/* din[T,M] = out ⊙ (dout − Σ_m dout·out) */
static void softmax_backward(double *din, const double *dout, const double *out, int T, int M) {
    for (int t = 0; t < T; t++) {
        const double *o = out + (size_t)t * M, *go = dout + (size_t)t * M;
        double *gi = din + (size_t)t * M;
        if (g_wrong_rule == WRONG_NOSOFTMAX) { for (int m = 0; m < M; m++) gi[m] = go[m]; continue; }
        double dot = 0.0;
        for (int m = 0; m < M; m++) dot += go[m] * o[m];
        for (int m = 0; m < M; m++) gi[m] = o[m] * (go[m] - dot);
    }
}

/* (val[T,k], idx[T,k]) = top-k of in[T,M] per row; descending value, lower index first on ties */
static void topk_forward(double *val, int *idx, const double *in, int T, int M, int k) {
    for (int t = 0; t < T; t++) {
        const double *a = in + (size_t)t * M;
        for (int s = 0; s < k; s++) {
            int best = -1;
            for (int m = 0; m < M; m++) {
                int taken = 0;
                for (int s2 = 0; s2 < s; s2++) if (idx[t * k + s2] == m) { taken = 1; break; }
                if (taken) continue;
                if (best < 0 || a[m] > a[best]) best = m; /* strict: ties keep the lower index */
            }
            idx[t * k + s] = best;
            val[t * k + s] = a[best];
        }
    }
}
/* din[T,M] += scatter(dval[T,k]) at idx   (selection itself is piecewise constant) */
static void topk_backward(double *din, const double *dval, const int *idx, int T, int M, int k) {
    for (int t = 0; t < T; t++)
        for (int s = 0; s < k; s++) din[t * M + idx[t * k + s]] += dval[t * k + s];
}

/* w[T,k] = v / Σ_slot v */
static void renorm_forward(double *w, const double *v, int T, int k) {
    for (int t = 0; t < T; t++) {
        double Z = 0.0;
        for (int s = 0; s < k; s++) Z += v[t * k + s];
        for (int s = 0; s < k; s++) w[t * k + s] = v[t * k + s] / Z;
    }
}
/* dv[T,k] = (dw − Σ_m dw_m w_m) / Z */
static void renorm_backward(double *dv, const double *dw, const double *v, const double *w, int T, int k) {
    for (int t = 0; t < T; t++) {
        double Z = 0.0, dot = 0.0;
        for (int s = 0; s < k; s++) { Z += v[t * k + s]; dot += dw[t * k + s] * w[t * k + s]; }
        if (g_wrong_rule == WRONG_NORENORM) dot = 0.0; /* deliberately wrong: drops the Z-dependence */
        for (int s = 0; s < k; s++) dv[t * k + s] = (dw[t * k + s] - dot) / Z;
    }
}

static double silu(double x) { return x / (1.0 + exp(-x)); }

/* one frozen SwiGLU expert on one token:
 * a1[F] = W1 x, a3[F] = W3 x, u[F] = silu(a1) ⊙ a3, out[D] = W2 u
 * W1, W3: [F,D]; W2: [D,F]. Frozen and h is an input, so no backward is needed. */
static void swiglu_forward(double *out, double *a1, double *a3, double *u, const double *x,
                           const double *W1, const double *W3, const double *W2, int D, int F) {
    for (int f = 0; f < F; f++) {
        double s1 = 0.0, s3 = 0.0;
        for (int d = 0; d < D; d++) { s1 += W1[f * D + d] * x[d]; s3 += W3[f * D + d] * x[d]; }
        a1[f] = s1; a3[f] = s3; u[f] = silu(s1) * s3;
    }
    for (int d = 0; d < D; d++) {
        double acc = 0.0;
        for (int f = 0; f < F; f++) acc += W2[d * F + f] * u[f];
        out[d] = acc;
    }
}

/* one LoRA expert (without the alpha/r scale) on one token:
 * z[r] = A x, out[D] = B z;  A: [r,D], B: [D,r] */
static void lora_forward(double *out, double *z, const double *x, const double *A, const double *B, int D, int r) {
    for (int i = 0; i < r; i++) {
        double acc = 0.0;
        for (int d = 0; d < D; d++) acc += A[i * D + d] * x[d];
        z[i] = acc;
    }
    for (int d = 0; d < D; d++) {
        double acc = 0.0;
        for (int i = 0; i < r; i++) acc += B[d * r + i] * z[i];
        out[d] = acc;
    }
}
/* dB[D,r] += dout ⊗ z;  dz[r] = Bᵀ dout;  dA[r,D] += dz ⊗ x */
static void lora_backward(double *dA, double *dB, double *dz, const double *dout, const double *z,
                          const double *x, const double *B, int D, int r) {
    for (int d = 0; d < D; d++)
        for (int i = 0; i < r; i++) dB[d * r + i] += dout[d] * z[i];
    for (int i = 0; i < r; i++) {
        double acc = 0.0;
        for (int d = 0; d < D; d++) acc += B[d * r + i] * dout[d];
        dz[i] = acc;
    }
    for (int i = 0; i < r; i++)
        for (int d = 0; d < D; d++) dA[i * D + d] += dz[i] * x[d];
}

/* y[T,D] += Σ_slot wt[T,k] · scale · eo[T,k,D] */
static void combine_forward(double *y, const double *wt, const double *eo, double scale, int T, int k, int D) {
    for (int t = 0; t < T; t++)
        for (int s = 0; s < k; s++) {
            double c = wt[t * k + s] * scale;
            const double *e = eo + ((size_t)t * k + s) * D;
            for (int d = 0; d < D; d++) y[t * D + d] += c * e[d];
        }
}
/* dwt[T,k] = scale · Σ_d dy·eo;  deo[T,k,D] = wt · scale · dy */
static void combine_backward(double *dwt, double *deo, const double *dy, const double *wt, const double *eo,
                             double scale, int T, int k, int D) {
    for (int t = 0; t < T; t++)
        for (int s = 0; s < k; s++) {
            const double *e = eo + ((size_t)t * k + s) * D;
            double *de = deo + ((size_t)t * k + s) * D;
            double acc = 0.0;
            for (int d = 0; d < D; d++) { acc += dy[t * D + d] * e[d]; de[d] = wt[t * k + s] * scale * dy[t * D + d]; }
            dwt[t * k + s] = scale * acc;
        }
}

/* LB = M · Σ_e f_e P_e,  f_e = #{(t,slot): idx=e}/(T·k),  P_e = mean_t p[t,e] */
static void lb_counts(double *f, const int *idx, int T, int M, int k) {
    for (int m = 0; m < M; m++) f[m] = 0.0;
    for (int t = 0; t < T; t++)
        for (int s = 0; s < k; s++) f[idx[t * k + s]] += 1.0;
    for (int m = 0; m < M; m++) f[m] /= (double)T * k;
}
static double load_balance_forward(const double *p, const int *idx, int T, int M, int k) {
    double *f = DALLOC(M);
    lb_counts(f, idx, T, M, k);
    double lb = 0.0;
    for (int m = 0; m < M; m++) {
        double P = 0.0;
        for (int t = 0; t < T; t++) P += p[t * M + m];
        lb += f[m] * (P / T);
    }
    free(f);
    return M * lb;
}
/* dp[T,M] += coef · M · f_e / T   (f_e constant) */
static void load_balance_backward(double *dp, double coef, const int *idx, int T, int M, int k) {
    double *f = DALLOC(M);
    lb_counts(f, idx, T, M, k);
    for (int t = 0; t < T; t++)
        for (int m = 0; m < M; m++) dp[t * M + m] += coef * M * f[m] / T;
    free(f);
}

/* mean over n of (y − target)² ; backward dy = 2 (y − target) / n */
static double mse_forward(const double *y, const double *tg, int n) {
    double acc = 0.0;
    for (int i = 0; i < n; i++) { double e = y[i] - tg[i]; acc += e * e; }
    return acc / n;
}
static void mse_backward(double *dy, const double *y, const double *tg, int n) {
    for (int i = 0; i < n; i++) dy[i] = 2.0 * (y[i] - tg[i]) / n;
}

/* ------------------------------------------------------------------ model */

double model_forward(const Sizes *s, const Params *P, const Inputs *X, State *st) {
    const int T = s->T, D = s->D, E = s->E, K = s->K, F = s->F, N = s->N, Kt = s->Kt, r = s->r;
    const double scale = (2.0 * r) / r; /* alpha / r with alpha = 2r */

    /* frozen MoE block */
    linear_forward(st->lp, X->h, P->router, T, D, E);  /* [T,E] */
    softmax_forward(st->p, st->lp, T, E);
    topk_forward(st->g, st->S, st->p, T, E, K);         /* no renormalisation */
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++) {
            int e = st->S[t * K + k];
            size_t sl = (size_t)t * K + k;
            swiglu_forward(st->eo + sl * D, st->a1 + sl * F, st->a3 + sl * F, st->u + sl * F, X->h + (size_t)t * D,
                           P->w1 + (size_t)e * F * D, P->w3 + (size_t)e * F * D, P->w2 + (size_t)e * D * F, D, F);
        }
    memset(st->y, 0, (size_t)T * D * sizeof(double));
    combine_forward(st->y, st->g, st->eo, 1.0, T, K, D);

    /* PERFT-R */
    linear_forward(st->lq, X->h, P->prouter, T, D, N); /* [T,N] */
    softmax_forward(st->q, st->lq, T, N);
    topk_forward(st->qs, st->j, st->q, T, N, Kt);
    renorm_forward(st->w, st->qs, T, Kt);
    for (int t = 0; t < T; t++)
        for (int k = 0; k < Kt; k++) {
            int e = st->j[t * Kt + k];
            size_t sl = (size_t)t * Kt + k;
            lora_forward(st->ad + sl * D, st->z + sl * r, X->h + (size_t)t * D,
                         P->A + (size_t)e * r * D, P->B + (size_t)e * D * r, D, r);
        }
    combine_forward(st->y, st->w, st->ad, scale, T, Kt, D);

    /* loss */
    st->mse = mse_forward(st->y, X->target, T * D);
    st->lb_p = load_balance_forward(st->p, st->S, T, E, K);
    st->lb_q = load_balance_forward(st->q, st->j, T, N, Kt);
    st->loss = st->mse + LB_COEF * st->lb_p + LB_COEF * st->lb_q;
    return st->loss;
}

void model_backward(const Sizes *s, const Params *P, const Inputs *X, State *st) {
    const int T = s->T, D = s->D, N = s->N, Kt = s->Kt, r = s->r;
    const double scale = (2.0 * r) / r;

    memset(st->dprouter, 0, (size_t)N * D * sizeof(double));
    memset(st->dA, 0, (size_t)N * r * D * sizeof(double));
    memset(st->dB, 0, (size_t)N * D * r * sizeof(double));
    memset(st->dq, 0, (size_t)T * N * sizeof(double));

    mse_backward(st->dy, st->y, X->target, T * D);
    /* the frozen MoE path and LB(p, S) carry no gradient to trainable tensors (h is an input) */

    combine_backward(st->dw, st->dad, st->dy, st->w, st->ad, scale, T, Kt, D);
    for (int t = 0; t < T; t++)
        for (int k = 0; k < Kt; k++) {
            int e = st->j[t * Kt + k];
            size_t sl = (size_t)t * Kt + k;
            lora_backward(st->dA + (size_t)e * r * D, st->dB + (size_t)e * D * r, st->dz + sl * r, st->dad + sl * D,
                          st->z + sl * r, X->h + (size_t)t * D, P->B + (size_t)e * D * r, D, r);
        }
    renorm_backward(st->dqs, st->dw, st->qs, st->w, T, Kt);
    topk_backward(st->dq, st->dqs, st->j, T, N, Kt);
    if (g_wrong_rule != WRONG_NOLB) load_balance_backward(st->dq, LB_COEF, st->j, T, N, Kt);
    softmax_backward(st->dlq, st->dq, st->q, T, N);
    linear_backward_weight(st->dprouter, st->dlq, X->h, T, D, N);
}

/* ------------------------------------------------------------------ memory */

void params_alloc(Params *P, const Sizes *s) {
    P->router = DALLOC((size_t)s->E * s->D);
    P->w1 = DALLOC((size_t)s->E * s->F * s->D);
    P->w3 = DALLOC((size_t)s->E * s->F * s->D);
    P->w2 = DALLOC((size_t)s->E * s->D * s->F);
    P->prouter = DALLOC((size_t)s->N * s->D);
    P->A = DALLOC((size_t)s->N * s->r * s->D);
    P->B = DALLOC((size_t)s->N * s->D * s->r);
}
void params_free(Params *P) {
    free(P->router); free(P->w1); free(P->w3); free(P->w2); free(P->prouter); free(P->A); free(P->B);
}
void inputs_alloc(Inputs *X, const Sizes *s) {
    X->h = DALLOC((size_t)s->T * s->D);
    X->target = DALLOC((size_t)s->T * s->D);
}
void inputs_free(Inputs *X) { free(X->h); free(X->target); }

void state_alloc(State *st, const Sizes *s) {
    const size_t T = s->T, D = s->D, E = s->E, K = s->K, F = s->F, N = s->N, Kt = s->Kt, r = s->r;
    memset(st, 0, sizeof *st);
    st->lp = DALLOC(T * E); st->p = DALLOC(T * E); st->g = DALLOC(T * K); st->S = IALLOC(T * K);
    st->a1 = DALLOC(T * K * F); st->a3 = DALLOC(T * K * F); st->u = DALLOC(T * K * F); st->eo = DALLOC(T * K * D);
    st->lq = DALLOC(T * N); st->q = DALLOC(T * N); st->qs = DALLOC(T * Kt); st->j = IALLOC(T * Kt);
    st->w = DALLOC(T * Kt); st->z = DALLOC(T * Kt * r); st->ad = DALLOC(T * Kt * D); st->y = DALLOC(T * D);
    st->dy = DALLOC(T * D); st->dw = DALLOC(T * Kt); st->dqs = DALLOC(T * Kt); st->dq = DALLOC(T * N);
    st->dlq = DALLOC(T * N); st->dad = DALLOC(T * Kt * D); st->dz = DALLOC(T * Kt * r);
    st->dprouter = DALLOC(N * D); st->dA = DALLOC(N * r * D); st->dB = DALLOC(N * D * r);
}
void state_free(State *st) {
    free(st->lp); free(st->p); free(st->g); free(st->S); free(st->a1); free(st->a3); free(st->u); free(st->eo);
    free(st->lq); free(st->q); free(st->qs); free(st->j); free(st->w); free(st->z); free(st->ad); free(st->y);
    free(st->dy); free(st->dw); free(st->dqs); free(st->dq); free(st->dlq); free(st->dad); free(st->dz);
    free(st->dprouter); free(st->dA); free(st->dB);
}
