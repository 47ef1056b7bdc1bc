/* Independent double-precision reference for examples/moe_perft_r.perft:
 * a frozen OLMoE-style MoE block (top-K, no renormalisation) with PERFT-R
 * (routed LoRA experts, top-Kt renormalised) beside it, MSE loss plus
 * 0.01 * load-balance terms for both routers. Written from the equations in
 * shared/design/PERFT.md only. */
#ifndef PERFT_REF_MODEL_H
#define PERFT_REF_MODEL_H

typedef struct { int T, D, E, K, F, N, Kt, r; } Sizes;

/* all tensors row-major, double */
typedef struct {
    double *router;  /* [E,D]   frozen  moe.router            */
    double *w1;      /* [E,F,D] frozen  moe.experts.w1        */
    double *w3;      /* [E,F,D] frozen  moe.experts.w3        */
    double *w2;      /* [E,D,F] frozen  moe.experts.w2        */
    double *prouter; /* [N,D]   train   moe.perft_r.router    */
    double *A;       /* [N,r,D] train   moe.perft_r.ad.A      */
    double *B;       /* [N,D,r] train   moe.perft_r.ad.B      */
} Params;

typedef struct {
    double *h;      /* [T,D] */
    double *target; /* [T,D] */
} Inputs;

typedef struct {
    /* forward activations */
    double *lp;   /* [T,E]    base router logits                   */
    double *p;    /* [T,E]    base router probabilities            */
    double *g;    /* [T,K]    top-K values of p (not renormalised) */
    int *S;       /* [T,K]    top-K indices                        */
    double *a1;   /* [T,K,F]  W1_e h                               */
    double *a3;   /* [T,K,F]  W3_e h                               */
    double *u;    /* [T,K,F]  silu(a1) * a3                        */
    double *eo;   /* [T,K,D]  W2_e u                               */
    double *lq;   /* [T,N]    PEFT router logits                   */
    double *q;    /* [T,N]    PEFT router probabilities            */
    double *qs;   /* [T,Kt]   top-Kt values of q                   */
    int *j;       /* [T,Kt]   top-Kt indices                       */
    double *w;    /* [T,Kt]   qs renormalised                      */
    double *z;    /* [T,Kt,r] A_e h                                */
    double *ad;   /* [T,Kt,D] B_e z (before alpha/r and w)         */
    double *y;    /* [T,D]    block output                         */
    double mse, lb_p, lb_q, loss;
    /* backward */
    double *dy;   /* [T,D]    */
    double *dw;   /* [T,Kt]   */
    double *dqs;  /* [T,Kt]   */
    double *dq;   /* [T,N]    */
    double *dlq;  /* [T,N]    */
    double *dad;  /* [T,Kt,D] */
    double *dz;   /* [T,Kt,r] */
    /* gradients of the trainable parameters */
    double *dprouter; /* [N,D]   */
    double *dA;       /* [N,r,D] */
    double *dB;       /* [N,D,r] */
} State;

#define LB_COEF 0.01

/* Deliberately wrong rules, for showing that the finite-difference check catches them.
 * Selected with the environment variable PERFT_REF_WRONG (see perft_ref.c). */
enum { WRONG_NONE = 0, WRONG_NORENORM = 1, WRONG_NOLB = 2, WRONG_NOSOFTMAX = 3,
       /* token model (token.c) only: */
       WRONG_RMSNORM = 4,   /* rmsnorm backward without the 1/rms dependence on x */
       WRONG_FROZENLB = 5,  /* the frozen base router's LB term sends no gradient to h */
       WRONG_SILU = 6,      /* parallel adapters' silu backward: sigmoid(z) instead of silu'(z) */
       /* attention model (attention.c) only; WRONG_NOSOFTMAX applies there too: */
       WRONG_ROPE = 7,      /* rope backward rotates by +angle (R) instead of −angle (Rᵀ) */
       WRONG_KVHEAD = 8     /* attention backward sends query head h's dk, dv to kv head h mod G, not h / (H/G) */ };
extern int g_wrong_rule;

void params_alloc(Params *P, const Sizes *s);
void params_free(Params *P);
void inputs_alloc(Inputs *X, const Sizes *s);
void inputs_free(Inputs *X);
void state_alloc(State *st, const Sizes *s);
void state_free(State *st);

/* forward: fills the activations, y and loss; returns the loss */
double model_forward(const Sizes *s, const Params *P, const Inputs *X, State *st);
/* backward: needs a prior model_forward on the same state; fills dprouter, dA, dB */
void model_backward(const Sizes *s, const Params *P, const Inputs *X, State *st);

#endif
