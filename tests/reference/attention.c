/* Independent double-precision reference for rope and causal_attention (see attention.h).
 * Plain loops, one forward/backward pair per op (llm.c style); backwards accumulate (+=). */
#include "attention.h"
#include "model.h" /* g_wrong_rule and the WRONG_* selectors */
#include "token.h" /* linear_fwd, linear_bwd */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* =================================================================== rope */

double rope_inv_freq(int i, int hd, double theta) {
    return (double)(float)pow(theta, -2.0 * i / hd);
}

/* Rotates each pair (v[i], v[i+half]) of every head of every row by sign·p·inv_freq_i:
 * sign +1 is the forward rotation R, −1 its transpose Rᵀ (the backward). out += R·in. */
static void rope_rotate_add(double *out, const double *in, int T, int S, int heads, int hd, double theta, double sign) {
    const int half = hd / 2, W = heads * hd;
    for (int r = 0; r < T; r++) {
        const int p = r % S;
        for (int i = 0; i < half; i++) {
            const double angle = sign * p * rope_inv_freq(i, hd, theta), c = cos(angle), s = sin(angle);
            for (int h = 0; h < heads; h++) {
                const double *a = in + (size_t)r * W + h * hd;
                double *o = out + (size_t)r * W + h * hd;
                o[i] += a[i] * c - a[i + half] * s;
                o[i + half] += a[i + half] * c + a[i] * s;
            }
        }
    }
}

void rope_forward(double *out, const double *x, int T, int S, int heads, int hd, double theta) {
    memset(out, 0, (size_t)T * heads * hd * sizeof(double));
    rope_rotate_add(out, x, T, S, heads, hd, theta, +1.0);
}

void rope_backward(double *dx, const double *dout, int T, int S, int heads, int hd, double theta) {
    /* deliberately wrong: the forward rotation instead of its transpose */
    const double sign = g_wrong_rule == WRONG_ROPE ? +1.0 : -1.0;
    rope_rotate_add(dx, dout, T, S, heads, hd, theta, sign);
}

/* =================================================================== causal attention */

static double dot(const double *a, const double *b, int n) {
    double acc = 0;
    for (int d = 0; d < n; d++) acc += a[d] * b[d];
    return acc;
}

void causal_attention_forward(double *out, double *prob, const double *q, const double *k, const double *v, int B, int S, int H,
                              int G, int hd) {
    const int QW = H * hd, KW = G * hd, rep = H / G;
    const double scale = 1.0 / sqrt((double)hd);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const int g = h / rep; /* repeat_kv: query heads h·rep … share kv head g */
            for (int i = 0; i < S; i++) {
                const size_t ri = (size_t)b * S + i;
                double *p = prob + (((size_t)b * H + h) * S + i) * S; /* p[j], j < S */
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < S; j++) p[j] = 0;
                for (int j = 0; j <= i; j++) {
                    p[j] = scale * dot(q + ri * QW + h * hd, k + ((size_t)b * S + j) * KW + g * hd, hd);
                    if (p[j] > mx) mx = p[j];
                }
                for (int j = 0; j <= i; j++) { p[j] = exp(p[j] - mx); sum += p[j]; }
                for (int j = 0; j <= i; j++) p[j] /= sum;
                double *o = out + ri * QW + h * hd;
                for (int d = 0; d < hd; d++) o[d] = 0;
                for (int j = 0; j <= i; j++)
                    for (int d = 0; d < hd; d++) o[d] += p[j] * v[((size_t)b * S + j) * KW + g * hd + d];
            }
        }
}

/*   dp_ij = dout_i·v_j;  dv_j += p_ij dout_i;  ds_ij = p_ij (dp_ij − Σ_j' p_ij' dp_ij')
 *   dq_i += Σ_j ds_ij k_j / sqrt(hd);  dk_j += ds_ij q_i / sqrt(hd) */
void causal_attention_backward(double *dq, double *dk, double *dv, const double *dout, const double *prob, const double *q,
                               const double *k, const double *v, int B, int S, int H, int G, int hd) {
    const int QW = H * hd, KW = G * hd, rep = H / G;
    const double scale = 1.0 / sqrt((double)hd);
    double *ds = calloc((size_t)S, sizeof(double));
    if (!ds) { fprintf(stderr, "perft-ref: out of memory\n"); exit(1); }
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            /* deliberately wrong: the kv gradients go to kv head h mod G */
            const int g = h / rep, g_grad = g_wrong_rule == WRONG_KVHEAD ? h % G : g;
            for (int i = 0; i < S; i++) {
                const size_t ri = (size_t)b * S + i;
                const double *p = prob + (((size_t)b * H + h) * S + i) * S, *go = dout + ri * QW + h * hd;
                double pdp = 0;
                for (int j = 0; j <= i; j++) {
                    const size_t rj = (size_t)b * S + j;
                    ds[j] = dot(go, v + rj * KW + g * hd, hd);
                    pdp += p[j] * ds[j];
                    for (int d = 0; d < hd; d++) dv[rj * KW + g_grad * hd + d] += p[j] * go[d];
                }
                if (g_wrong_rule == WRONG_NOSOFTMAX) pdp = 0; /* deliberately wrong: ds = p·dp */
                for (int j = 0; j <= i; j++) {
                    const size_t rj = (size_t)b * S + j;
                    const double dsj = p[j] * (ds[j] - pdp) * scale;
                    for (int d = 0; d < hd; d++) {
                        dq[ri * QW + h * hd + d] += dsj * k[rj * KW + g * hd + d];
                        dk[rj * KW + g_grad * hd + d] += dsj * q[ri * QW + h * hd + d];
                    }
                }
            }
        }
    free(ds);
}

/* =================================================================== the test model */

int asizes_check(const ASizes *s) {
    const char *why = NULL;
    if (s->B < 1 || s->S < 1 || s->D < 1 || s->H < 1 || s->G < 1 || s->hd < 1) why = "every size must be positive";
    else if (s->hd % 2) why = "hd must be even (rope rotates pairs i, i + hd/2)";
    else if (s->H % s->G) why = "H must be a multiple of G (query head h reads kv head h / (H/G))";
    else if (!(s->theta > 0) || !isfinite(s->theta)) why = "theta must be a positive number";
    if (why) fprintf(stderr, "perft-ref: attention sizes B=%d S=%d D=%d H=%d G=%d hd=%d theta=%g: %s\n", s->B, s->S, s->D, s->H, s->G, s->hd,
                     s->theta, why);
    return why != NULL;
}

static double *zeros(size_t n) {
    double *p = calloc(n ? n : 1, sizeof(double));
    if (!p) { fprintf(stderr, "perft-ref: out of memory\n"); exit(1); }
    return p;
}

void amodel_alloc(AModel *m, const ASizes *s) {
    memset(m, 0, sizeof *m);
    m->s = *s;
    m->T = s->B * s->S; m->QW = s->H * s->hd; m->KW = s->G * s->hd;
    const size_t T = m->T, D = s->D, QW = m->QW, KW = m->KW;
    m->wq = zeros(QW * D); m->wk = zeros(KW * D); m->wv = zeros(KW * D); m->wo = zeros(D * QW);
    m->x = zeros(T * D); m->target = zeros(T * D);
    m->qp = zeros(T * QW); m->kp = zeros(T * KW); m->q = zeros(T * QW); m->k = zeros(T * KW); m->v = zeros(T * KW);
    m->prob = zeros((size_t)s->B * s->H * s->S * s->S); m->o = zeros(T * QW); m->y = zeros(T * D);
    m->dwq = zeros(QW * D); m->dwk = zeros(KW * D); m->dwv = zeros(KW * D); m->dwo = zeros(D * QW); m->dx = zeros(T * D);
}

void amodel_free(AModel *m) {
    double *all[] = { m->wq, m->wk, m->wv, m->wo, m->x, m->target, m->qp, m->kp, m->q, m->k, m->v, m->prob, m->o, m->y,
                      m->dwq, m->dwk, m->dwv, m->dwo, m->dx };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    memset(m, 0, sizeof *m);
}

double amodel_forward(AModel *m) {
    const ASizes *s = &m->s;
    const int T = m->T, D = s->D;
    linear_fwd(m->qp, m->x, m->wq, T, D, m->QW);
    linear_fwd(m->kp, m->x, m->wk, T, D, m->KW);
    linear_fwd(m->v, m->x, m->wv, T, D, m->KW);
    rope_forward(m->q, m->qp, T, s->S, s->H, s->hd, s->theta);
    rope_forward(m->k, m->kp, T, s->S, s->G, s->hd, s->theta);
    causal_attention_forward(m->o, m->prob, m->q, m->k, m->v, s->B, s->S, s->H, s->G, s->hd);
    linear_fwd(m->y, m->o, m->wo, T, m->QW, D);
    double acc = 0;
    for (size_t i = 0; i < (size_t)T * D; i++) acc += (m->y[i] - m->target[i]) * (m->y[i] - m->target[i]);
    m->loss = acc / ((double)T * D);
    return m->loss;
}

void amodel_backward(AModel *m) {
    const ASizes *s = &m->s;
    const int T = m->T, D = s->D;
    const size_t nq = (size_t)T * m->QW, nk = (size_t)T * m->KW;
    double *dy = zeros((size_t)T * D), *dO = zeros(nq), *dq = zeros(nq), *dk = zeros(nk), *dv = zeros(nk), *dqp = zeros(nq),
           *dkp = zeros(nk);
    for (size_t i = 0; i < (size_t)T * D; i++) dy[i] = 2.0 * (m->y[i] - m->target[i]) / ((double)T * D);
    memset(m->dwq, 0, (size_t)m->QW * D * sizeof(double));
    memset(m->dwk, 0, (size_t)m->KW * D * sizeof(double));
    memset(m->dwv, 0, (size_t)m->KW * D * sizeof(double));
    memset(m->dwo, 0, (size_t)D * m->QW * sizeof(double));
    memset(m->dx, 0, (size_t)T * D * sizeof(double));
    linear_bwd(dO, m->dwo, dy, m->o, m->wo, T, m->QW, D);
    causal_attention_backward(dq, dk, dv, dO, m->prob, m->q, m->k, m->v, s->B, s->S, s->H, s->G, s->hd);
    rope_backward(dqp, dq, T, s->S, s->H, s->hd, s->theta);
    rope_backward(dkp, dk, T, s->S, s->G, s->hd, s->theta);
    linear_bwd(m->dx, m->dwq, dqp, m->x, m->wq, T, D, m->QW);
    linear_bwd(m->dx, m->dwk, dkp, m->x, m->wk, T, D, m->KW);
    linear_bwd(m->dx, m->dwv, dv, m->x, m->wv, T, D, m->KW);
    free(dy); free(dO); free(dq); free(dk); free(dv); free(dqp); free(dkp);
}
