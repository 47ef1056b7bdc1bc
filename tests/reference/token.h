/* Independent double-precision reference for the token-model family of examples/token_*.perft:
 *
 *   x = embed[tokens]
 *   for l in 0..L-1:  h = rmsnorm(x, norm_l);  x = x + MoE_l(h) (+ the strategy at that site)
 *   logits = rmsnorm(x, final_norm) · headᵀ
 *   loss = mean_t CE(logits_t, labels_t) + Σ_l 0.01·LB(base router_l) + Σ 0.01·LB(PEFT router)
 *
 * Written from shared/design/PERFT.md and the .perft sources only (no compiler/runtime code).
 * Every parameter (frozen or not) gets a gradient here; the trainable ones are what `run`
 * writes and what `fdcheck` verifies (it can verify all of them with --all). */
#ifndef PERFT_REF_TOKEN_H
#define PERFT_REF_TOKEN_H

#include <stdint.h>

typedef struct { int T, V, D, E, K, F, L, N, Kt, r, renorm; } TSizes; /* renorm: Mixtral-style block (top-K renormalised, aux c = 0.02) */

enum { ADAPTER_LORA = 0, ADAPTER_PARALLEL = 1 };

/* Components a strategy can put at a layer (bit set). */
enum {
    C_R = 1,      /* perft_r: own router [N,D], top-Kt renormalised, LB aux, N LoRA experts A [N,r,D] B [N,D,r] */
    C_E = 2,      /* perft_e: y = Σ_{i∈S} g_i (E_i(h) + Δ_i(h)), A [E,r,D] B [E,D,r] */
    C_S = 4,      /* perft_s: y += 2·B A h, A [r,D] B [D,r] */
    C_D = 8,      /* perft_d: y += 2·B A h, stacked A [N·r,D] B [D,N·r] */
    C_GL = 16,    /* lora_router: routing from h(Wg + 2 B A)ᵀ, A [r,D] B [E,r]; LB of both routings */
    C_XL = 32,    /* lora_experts: W1/W3/W2 of every expert + 2 B A */
    C_SH = 64,    /* shared_routed: shared parallel adapter (shared_down [r,D], shared_up [D,r]) + routed as C_R */
    C_SOFT = 128, /* soft_mixture: routed with k = N, no renormalisation, no LB */
    C_RPA = 256,  /* perft_r_adapter: as C_R, but its N experts are parallel adapters W2a·silu(W1a·h) (no scale):
                     ad.W1 [N,r,D], ad.W2 [N,D,r] */
};

/* A strategy: its components at layers l < L/2 and l >= L/2 (real division) and what it trains. */
typedef struct {
    const char *name;   /* the selector (--strategy NAME) */
    int lower, upper;   /* components at layers l < L/2 and l >= L/2 */
    int train_router;   /* base routers trainable */
    int train_experts;  /* base experts trainable */
    int train_base;     /* embed, norms, final norm, head trainable (pretraining) */
} TStrategy;


#define TMAX_PARAMS 512
#define TMAX_LAYERS 16

typedef struct {
    char name[128];
    int ndim;
    int64_t shape[4];
    int64_t n;
    int trainable;
    int adapter;   /* introduced by the strategy (`adapter` in --list-params) */
    int kind;      /* init kind for gen, see token.c */
    double scale;  /* init scale for gen */
    double *v, *g; /* values, gradient (every parameter gets one) */
} TParam;

/* indices into TModel.p, -1 when absent */
typedef struct {
    int comp;          /* components at this layer (C_*) */
    int rk, rrenorm, rlb; /* routed adapters: top-k count, renormalised, with LB aux */
    int rkind;         /* routed adapters' kind: ADAPTER_LORA (scale 2) or ADAPTER_PARALLEL (scale 1) */
    int norm, router, w1, w3, w2;
    int rR, rA, rB;    /* PERFT-R: router [N,D], bank A/W1a [N,r,D], B/W2a [N,D,r] */
    int eA, eB;        /* PERFT-E: [E,r,D], [E,D,r] */
    int dA, dB;        /* PERFT-S/D: [R,D], [D,R] with R = r (S) or N·r (D) */
    int dR;            /* that rank R */
    int shd, shu;      /* shared parallel adapter [r,D], [D,r] */
    int gA, gB;        /* router LoRA: A [r,D], B [E,r] */
    int l1A, l1B, l3A, l3B, l2A, l2B; /* expert LoRA: W1/W3: A [E,r,D], B [E,F,r]; W2: A [E,r,F], B [E,D,r] */
} TLayer;

typedef struct {
    TSizes s;
    TStrategy st;
    int np;
    TParam p[TMAX_PARAMS];
    int embed, final_norm, head;
    TLayer layer[TMAX_LAYERS];
    int *tokens, *labels; /* [T] */
    const char *tokens_name, *labels_name; /* input names (default tokens, labels) */
} TModel;

/* Builds the parameter table for strategy `strategy` (NULL: the list of known names is printed
 * and -1 returned) with the layer restriction `layers` (bit l set: the strategy sits at layer l;
 * 0 means every layer). Returns 0 on success. */
int tmodel_build(TModel *m, const TSizes *s, const char *strategy, unsigned layers);
void tmodel_free(TModel *m);
void tmodel_list_strategies(void);
/* Random, non-degenerate weights and in-range inputs. */
void tmodel_generate(TModel *m, unsigned long long seed);

typedef struct TState TState;
TState *tstate_new(const TModel *m);
void tstate_free(TState *st);
/* forward: returns the loss; fills the logits */
double tmodel_forward(const TModel *m, TState *st);
/* backward after forward on the same state: writes m->p[i].g for every parameter */
void tmodel_backward(TModel *m, TState *st);
const double *tstate_logits(const TState *st);
void tstate_losses(const TState *st, double *ce, double *aux);
/* all top-k selections of the last forward (for detecting kinks): count and pointer */
int tstate_selections(const TState *st, const int **sel);
/* smallest gap between the last selected and the best unselected probability over every router */
double tstate_min_margin(const TState *st);

/* Shared with attention.c. out[T,M] = x[T,D]·W[M,D]ᵀ;  dx[T,D] += dout·W and dW[M,D] += doutᵀ·x
 * (either may be NULL). */
void linear_fwd(double *out, const double *x, const double *W, int T, int D, int M);
void linear_bwd(double *dx, double *dW, const double *dout, const double *x, const double *W, int T, int D, int M);

#endif
