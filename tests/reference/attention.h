/* Independent double-precision reference for the attention pieces of a decoder layer
 * (tests/reference/attention.perft), written from the equations of issue 10 and Hugging Face's
 * Llama/OLMoE/Mixtral semantics (rotate_half RoPE, repeat_kv grouped-query attention, causal
 * mask, 1/sqrt(head_dim) scaling). Shares no code with the compiler.
 *
 * Rows are tokens: T = B·S rows, row r is position r mod S of sequence r / S.
 *
 *   rope(x, heads, theta, seq)                 x f32[T, heads·hd], hd even, half = hd/2
 *     p = r mod S;  inv_freq_i = theta^(−2i/hd)  (i < half; double, then rounded to f32)
 *     out[i]      = v[i]·cos(p·inv_freq_i) − v[i+half]·sin(p·inv_freq_i)
 *     out[i+half] = v[i+half]·cos(p·inv_freq_i) + v[i]·sin(p·inv_freq_i)     per head h, v = x[r, h·hd : (h+1)·hd]
 *   causal_attention(q, k, v, heads, kv_heads, seq)   q f32[T, H·hd], k, v f32[T, G·hd], H multiple of G
 *     query head h reads kv head g = h / (H/G);  for position i of a sequence, j <= i of the same sequence:
 *     s_ij = q_i·k_j / sqrt(hd);  p_i = softmax_j(s_i);  out[i, h·hd : (h+1)·hd] = Σ_j p_ij v_j
 *
 * The test model (attention.perft):
 *   q = rope(x·wqᵀ, H);  k = rope(x·wkᵀ, G);  v = x·wvᵀ;  o = causal_attention(q, k, v);  y = o·woᵀ
 *   loss = mean((y − target)²)
 * wq [H·hd, D], wk and wv [G·hd, D] trainable; wo [D, H·hd] frozen; inputs x, target [T, D]. */
#ifndef PERFT_REF_ATTENTION_H
#define PERFT_REF_ATTENTION_H

typedef struct { int B, S, D, H, G, hd; double theta; } ASizes; /* T = B·S */

/* ------------------------------------------------------------------ the two ops */

/* theta^(−2i/hd) computed in double and rounded to f32: the frequency table is an f32
 * constant of the compiled program; angles, cos and sin are then taken in double. */
double rope_inv_freq(int i, int hd, double theta);
/* out[T, heads·hd] = rope(x) (out and x may not alias) */
void rope_forward(double *out, const double *x, int T, int S, int heads, int hd, double theta);
/* dx[T, heads·hd] += Rᵀ·dout (the rotation by −angle) */
void rope_backward(double *dx, const double *dout, int T, int S, int heads, int hd, double theta);

/* out[T, H·hd]; prob[B, H, S, S] saves p_ij (0 above the diagonal) for the backward */
void causal_attention_forward(double *out, double *prob, const double *q, const double *k, const double *v, int B, int S, int H,
                              int G, int hd);
/* dq[T, H·hd], dk[T, G·hd], dv[T, G·hd] += the gradients of Σ dout·out */
void causal_attention_backward(double *dq, double *dk, double *dv, const double *dout, const double *prob, const double *q,
                               const double *k, const double *v, int B, int S, int H, int G, int hd);

/* ------------------------------------------------------------------ the test model */

typedef struct {
    ASizes s;
    int T, QW, KW; /* T = B·S; QW = H·hd; KW = G·hd */
    /* parameters and inputs (row-major) */
    double *wq;     /* [QW, D] train  */
    double *wk;     /* [KW, D] train  */
    double *wv;     /* [KW, D] train  */
    double *wo;     /* [D, QW] frozen */
    double *x;      /* [T, D]  input  */
    double *target; /* [T, D]  input  */
    /* forward activations */
    double *qp, *kp; /* [T, QW], [T, KW]  projections before rope */
    double *q, *k;   /* [T, QW], [T, KW]  after rope (outputs qr, kr) */
    double *v;       /* [T, KW]           */
    double *prob;    /* [B, H, S, S]      attention probabilities */
    double *o;       /* [T, QW]           attention output (output o) */
    double *y;       /* [T, D]            (output y) */
    double loss;
    /* gradients: every parameter and the input x */
    double *dwq, *dwk, *dwv, *dwo; /* shaped as the parameters */
    double *dx;                    /* [T, D] */
} AModel;

/* Checks the sizes (hd even, H a multiple of G, every size positive); prints why not and returns 1. */
int asizes_check(const ASizes *s);
void amodel_alloc(AModel *m, const ASizes *s);
void amodel_free(AModel *m);
/* forward: fills the activations and the loss; returns the loss */
double amodel_forward(AModel *m);
/* backward after a forward: overwrites every gradient */
void amodel_backward(AModel *m);

#endif
