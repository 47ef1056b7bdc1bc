/* perft-ref: the independent reference for examples/moe_perft_r.perft.
 *
 *   perft-ref gen     [SIZES] [--seed S] W.safetensors X.safetensors
 *   perft-ref run     [SIZES] W.safetensors X.safetensors OUT.safetensors
 *   perft-ref compare A.safetensors B.safetensors [--rtol R] [--atol A] [--only PREFIX]...
 *   perft-ref fdcheck [SIZES] [--seed S] [--eps E] [--expect-fail]
 *   perft-ref edit    IN.safetensors OUT.safetensors (--perturb NAME IDX REL | --drop NAME | --flatten NAME)
 *   perft-ref handcheck     (a tiny case checked against hand-derived values)
 *   perft-ref attention params|gen|run|fdcheck|handcheck ...   (attention.perft: attention_cli.inc)
 *
 * SIZES: --T --D --E --K --F --N --Kt --r (defaults 29 37 6 3 23 5 2 3).
 * PERFT_REF_WRONG=norenorm|nolb|nosoftmax (and the token and attention models' own, see model.h)
 * selects a deliberately wrong backward rule
 * (for demonstrating that fdcheck catches it). */
#include "attention.h"
#include "model.h"
#include "st.h"
#include "token.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die_usage(void) {
    fprintf(stderr,
            "usage:\n"
            "  perft-ref gen     [SIZES] [--seed S] W.safetensors X.safetensors\n"
            "  perft-ref run     [SIZES] W.safetensors X.safetensors OUT.safetensors\n"
            "  perft-ref compare A.safetensors B.safetensors [--rtol R] [--atol A] [--only PREFIX]...\n"
            "  perft-ref fdcheck [SIZES] [--seed S] [--eps E] [--expect-fail]\n"
            "  perft-ref edit    IN OUT (--perturb NAME IDX REL | --drop NAME | --flatten NAME)\n"
            "  perft-ref handcheck\n"
            "token models (examples/token_*.perft): add --strategy NAME (see `perft-ref strategies`):\n"
            "  perft-ref params  --strategy S [TSIZES] [--layers l,..]      # expected --list-params lines\n"
            "  (also --tokens-name NAME --labels-name NAME: the i32 inputs' names, default tokens, labels)\n"
            "  perft-ref gen     --strategy S [TSIZES] [--layers l,..] [--seed S] [--ignore-every N] W.safetensors X.safetensors\n"
            "                    (--ignore-every N: label -100, outside the loss, at every N-th position)\n"
            "  perft-ref run     --strategy S [TSIZES] [--layers l,..] W.safetensors X.safetensors OUT.safetensors\n"
            "  perft-ref fdcheck --strategy S [TSIZES] [--layers l,..] [--seed S] [--eps E] [--all] [--expect-fail]\n"
            "TSIZES: --T --V --D --E --K --F --L --N --Kt --r --renorm  (defaults 17 11 13 6 3 9 2 5 2 3 0)\n"
            "attention model (tests/reference/attention.perft):\n"
            "  perft-ref attention params    [ASIZES]                           # expected --list-params lines\n"
            "  perft-ref attention gen       [ASIZES] [--seed S] W.safetensors X.safetensors\n"
            "  perft-ref attention run       [ASIZES] W.safetensors X.safetensors OUT.safetensors\n"
            "  perft-ref attention fdcheck   [ASIZES] [--seed S] [--eps E] [--expect-fail]\n"
            "  perft-ref attention handcheck\n"
            "ASIZES: --B --S --D --H --G --hd --theta  (defaults 2 7 10 4 2 6 10000; T = B*S)\n"
            "SIZES: --T --D --E --K --F --N --Kt --r   (defaults 29 37 6 3 23 5 2 3)\n"
            "env PERFT_REF_WRONG=norenorm|nolb|nosoftmax|rmsnorm|frozenlb|silu|rope|kvhead: use a deliberately wrong backward rule\n");
    exit(2);
}

/* ------------------------------------------------------------------ arguments */

typedef struct {
    Sizes s;
    unsigned long long seed;
    int ignore_every;   /* token gen: label −100 (outside the loss) at every N-th position; 0 none */
    double rtol, atol, eps;
    int expect_fail;
    const char *only[32];
    int n_only;
    const char *pos[8];
    int n_pos;
    const char *edit_op, *edit_name;
    long long edit_idx;
    double edit_rel;
    /* token model (--strategy) */
    const char *strategy;
    TSizes ts;
    unsigned layers; /* bit l: the strategy sits at layer l (0: all) */
    int fd_all;      /* fdcheck every parameter, frozen ones too */
    const char *tokens_name, *labels_name; /* --tokens-name, --labels-name */
    /* attention model (perft-ref attention ...) */
    ASizes as;
} Args;

static int parse_int(const char *opt, const char *v) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == 0 || *end != 0 || x < 1 || x > 1000000) { fprintf(stderr, "perft-ref: %s expects a positive integer, got '%s'\n", opt, v); exit(2); }
    return (int)x;
}
static double parse_double(const char *opt, const char *v) {
    char *end;
    double x = strtod(v, &end);
    if (*v == 0 || *end != 0) { fprintf(stderr, "perft-ref: %s expects a number, got '%s'\n", opt, v); exit(2); }
    return x;
}

static void parse_args(int argc, char **argv, Args *a) {
    memset(a, 0, sizeof *a);
    a->s = (Sizes){ 29, 37, 6, 3, 23, 5, 2, 3 };
    a->seed = 1;
    a->rtol = 1e-4; a->atol = 1e-5; a->eps = 1e-6;
    a->ts = (TSizes){ 17, 11, 13, 6, 3, 9, 2, 5, 2, 3, 0 };
    a->as = (ASizes){ 2, 7, 10, 4, 2, 6, 10000.0 };
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        int has = i + 1 < argc;
#define OPT(name) (strcmp(o, name) == 0 && (has || (fprintf(stderr, "perft-ref: %s needs a value\n", name), exit(2), 0)))
        if (OPT("--T") || OPT("--tokens")) a->s.T = a->ts.T = parse_int(o, argv[++i]);
        else if (OPT("--D")) a->s.D = a->ts.D = a->as.D = parse_int(o, argv[++i]);
        else if (OPT("--B")) a->as.B = parse_int(o, argv[++i]);
        else if (OPT("--S")) a->as.S = parse_int(o, argv[++i]);
        else if (OPT("--H")) a->as.H = parse_int(o, argv[++i]);
        else if (OPT("--G")) a->as.G = parse_int(o, argv[++i]);
        else if (OPT("--hd")) a->as.hd = parse_int(o, argv[++i]);
        else if (OPT("--theta")) a->as.theta = parse_double(o, argv[++i]);
        else if (OPT("--E")) a->s.E = a->ts.E = parse_int(o, argv[++i]);
        else if (OPT("--K")) a->s.K = a->ts.K = parse_int(o, argv[++i]);
        else if (OPT("--F")) a->s.F = a->ts.F = parse_int(o, argv[++i]);
        else if (OPT("--N")) a->s.N = a->ts.N = parse_int(o, argv[++i]);
        else if (OPT("--Kt")) a->s.Kt = a->ts.Kt = parse_int(o, argv[++i]);
        else if (OPT("--r")) a->s.r = a->ts.r = parse_int(o, argv[++i]);
        else if (OPT("--V")) a->ts.V = parse_int(o, argv[++i]);
        else if (OPT("--L")) a->ts.L = parse_int(o, argv[++i]);
        else if (OPT("--renorm")) { const char *v = argv[++i]; if (strcmp(v, "0") && strcmp(v, "1")) { fprintf(stderr, "perft-ref: --renorm expects 0 or 1\n"); exit(2); } a->ts.renorm = v[0] - '0'; }
        else if (OPT("--strategy")) a->strategy = argv[++i];
        else if (OPT("--tokens-name")) a->tokens_name = argv[++i];
        else if (OPT("--labels-name")) a->labels_name = argv[++i];
        else if (OPT("--layers")) {
            const char *v = argv[++i];
            a->layers = 0;
            while (*v) {
                char *end;
                long l = strtol(v, &end, 10);
                if (end == v || l < 0 || l >= TMAX_LAYERS) { fprintf(stderr, "perft-ref: --layers expects a comma list of layer numbers, got '%s'\n", argv[i]); exit(2); }
                a->layers |= 1u << l;
                v = *end == ',' ? end + 1 : end;
                if (*end && *end != ',') { fprintf(stderr, "perft-ref: bad --layers '%s'\n", argv[i]); exit(2); }
            }
        }
        else if (strcmp(o, "--all") == 0) a->fd_all = 1;
        else if (OPT("--seed")) a->seed = strtoull(argv[++i], NULL, 10);
        else if (OPT("--ignore-every")) a->ignore_every = atoi(argv[++i]);
        else if (OPT("--rtol")) a->rtol = parse_double(o, argv[++i]);
        else if (OPT("--atol")) a->atol = parse_double(o, argv[++i]);
        else if (OPT("--eps")) a->eps = parse_double(o, argv[++i]);
        else if (OPT("--only")) { if (a->n_only < 32) a->only[a->n_only++] = argv[++i]; }
        else if (strcmp(o, "--expect-fail") == 0) a->expect_fail = 1;
        else if (OPT("--drop") || OPT("--flatten")) { a->edit_op = o + 2; a->edit_name = argv[++i]; }
        else if (strcmp(o, "--perturb") == 0) {
            if (i + 3 >= argc) { fprintf(stderr, "perft-ref: --perturb needs NAME IDX REL\n"); exit(2); }
            a->edit_op = "perturb"; a->edit_name = argv[i + 1];
            a->edit_idx = strtoll(argv[i + 2], NULL, 10);
            a->edit_rel = parse_double("--perturb REL", argv[i + 3]);
            i += 3;
        } else if (o[0] == '-' && o[1] == '-') { fprintf(stderr, "perft-ref: unknown option %s\n", o); die_usage(); }
        else if (a->n_pos < 8) a->pos[a->n_pos++] = o;
        else die_usage();
#undef OPT
    }
    if (a->strategy) {
        if (a->ts.K > a->ts.E) { fprintf(stderr, "perft-ref: K=%d exceeds E=%d\n", a->ts.K, a->ts.E); exit(2); }
        if (a->ts.Kt > a->ts.N) { fprintf(stderr, "perft-ref: Kt=%d exceeds N=%d\n", a->ts.Kt, a->ts.N); exit(2); }
        return;
    }
    if (a->s.K > a->s.E) { fprintf(stderr, "perft-ref: K=%d exceeds E=%d\n", a->s.K, a->s.E); exit(2); }
    if (a->s.Kt > a->s.N) { fprintf(stderr, "perft-ref: Kt=%d exceeds N=%d\n", a->s.Kt, a->s.N); exit(2); }
}

static void print_sizes(const Sizes *s) {
    printf("sizes: T=%d D=%d E=%d K=%d F=%d N=%d Kt=%d r=%d\n", s->T, s->D, s->E, s->K, s->F, s->N, s->Kt, s->r);
}

/* ------------------------------------------------------------------ tensor table */

typedef struct { const char *name; double *data; int ndim; int64_t shape[3]; int trainable; } Slot;

static int param_slots(Slot *sl, const Sizes *s, Params *P) {
    int64_t E = s->E, D = s->D, F = s->F, N = s->N, r = s->r;
    int n = 0;
    sl[n++] = (Slot){ "moe.router", P->router, 2, { E, D, 0 }, 0 };
    sl[n++] = (Slot){ "moe.experts.w1", P->w1, 3, { E, F, D }, 0 };
    sl[n++] = (Slot){ "moe.experts.w3", P->w3, 3, { E, F, D }, 0 };
    sl[n++] = (Slot){ "moe.experts.w2", P->w2, 3, { E, D, F }, 0 };
    sl[n++] = (Slot){ "moe.perft_r.router", P->prouter, 2, { N, D, 0 }, 1 };
    sl[n++] = (Slot){ "moe.perft_r.ad.A", P->A, 3, { N, r, D }, 1 };
    sl[n++] = (Slot){ "moe.perft_r.ad.B", P->B, 3, { N, D, r }, 1 };
    return n;
}
static int input_slots(Slot *sl, const Sizes *s, Inputs *X) {
    int64_t T = s->T, D = s->D;
    sl[0] = (Slot){ "h", X->h, 2, { T, D, 0 }, 0 };
    sl[1] = (Slot){ "target", X->target, 2, { T, D, 0 }, 0 };
    return 2;
}
static const char *dims_str(int ndim, const int64_t *shape, char *buf, size_t len) {
    size_t o = snprintf(buf, len, "[");
    for (int i = 0; i < ndim && o < len; i++) o += snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)shape[i]);
    if (o < len) snprintf(buf + o, len - o, "]");
    return buf;
}

/* ------------------------------------------------------------------ random numbers */

static uint64_t rng_state;
static uint64_t splitmix64(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double uniform01(void) { return ((splitmix64() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
static double normal01(void) {
    double u1 = uniform01(), u2 = uniform01();
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
static void fill_normal(double *x, int64_t n, double scale) {
    for (int64_t i = 0; i < n; i++) x[i] = (double)(float)(normal01() * scale); /* f32-representable */
}

/* Weights and inputs: routers N(0,1)·2/sqrt(D) (router logits have std ≈ 2 for every D, so routing
 * is neither uniform nor one-hot), experts N(0,1)/sqrt(fan-in), A N(0,1)/sqrt(D), B N(0,1)·0.5
 * (far from zero, so grad A is not trivially small), h and target N(0,1). */
static void generate(const Sizes *s, unsigned long long seed, Params *P, Inputs *X) {
    rng_state = 0x5EED0000ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
    const int64_t E = s->E, D = s->D, F = s->F, N = s->N, r = s->r, T = s->T;
    fill_normal(P->router, E * D, 2.0 / sqrt((double)D));
    fill_normal(P->w1, E * F * D, 1.0 / sqrt((double)D));
    fill_normal(P->w3, E * F * D, 1.0 / sqrt((double)D));
    fill_normal(P->w2, E * D * F, 1.0 / sqrt((double)F));
    fill_normal(P->prouter, N * D, 2.0 / sqrt((double)D));
    fill_normal(P->A, N * r * D, 1.0 / sqrt((double)D));
    fill_normal(P->B, N * D * r, 0.5);
    fill_normal(X->h, T * D, 1.0);
    fill_normal(X->target, T * D, 1.0);
}

static int write_slots(const char *path, const Slot *sl, int n) {
    StFile f;
    st_init(&f);
    for (int i = 0; i < n; i++) st_add(&f, sl[i].name, sl[i].ndim, sl[i].shape, sl[i].data);
    char err[512];
    int rc = st_write(path, &f, err, sizeof err);
    if (rc) fprintf(stderr, "perft-ref: %s\n", err);
    st_free(&f);
    return rc;
}

/* Loads every slot from path; reports all missing tensors and all shape mismatches. */
static int load_slots(const char *path, Slot *sl, int n, const char *what) {
    StFile f;
    char err[512];
    if (st_read(path, &f, err, sizeof err)) { fprintf(stderr, "perft-ref: %s\n", err); return 1; }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        StTensor *t = st_find(&f, sl[i].name);
        char e1[96], e2[96];
        if (!t) { fprintf(stderr, "perft-ref: %s: %s %s is missing (expected shape %s)\n", path, what, sl[i].name, dims_str(sl[i].ndim, sl[i].shape, e1, sizeof e1)); bad = 1; continue; }
        int same = t->ndim == sl[i].ndim;
        for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == sl[i].shape[d];
        if (!same) {
            fprintf(stderr, "perft-ref: %s: %s %s has shape %s, expected %s (are the sizes right?)\n", path, what, sl[i].name,
                    st_shape_str(t, e2, sizeof e2), dims_str(sl[i].ndim, sl[i].shape, e1, sizeof e1));
            bad = 1; continue;
        }
        memcpy(sl[i].data, t->data, (size_t)t->numel * sizeof(double));
    }
    st_free(&f);
    return bad;
}

/* ------------------------------------------------------------------ subcommands */

static int cmd_gen(const Args *a) {
    if (a->n_pos != 2) die_usage();
    Params P; Inputs X; Slot ps[8], xs[2];
    params_alloc(&P, &a->s); inputs_alloc(&X, &a->s);
    generate(&a->s, a->seed, &P, &X);
    int np = param_slots(ps, &a->s, &P), nx = input_slots(xs, &a->s, &X);
    int rc = write_slots(a->pos[0], ps, np) || write_slots(a->pos[1], xs, nx);
    if (!rc) { print_sizes(&a->s); printf("gen: seed %llu -> %s, %s\n", a->seed, a->pos[0], a->pos[1]); }
    params_free(&P); inputs_free(&X);
    return rc ? 1 : 0;
}

static int cmd_run(const Args *a) {
    if (a->n_pos != 3) die_usage();
    const Sizes *s = &a->s;
    Params P; Inputs X; State st; Slot ps[8], xs[2];
    params_alloc(&P, s); inputs_alloc(&X, s); state_alloc(&st, s);
    int np = param_slots(ps, s, &P), nx = input_slots(xs, s, &X);
    int bad = load_slots(a->pos[0], ps, np, "parameter");
    bad |= load_slots(a->pos[1], xs, nx, "input");
    if (bad) { params_free(&P); inputs_free(&X); state_free(&st); return 1; }
    model_forward(s, &P, &X, &st);
    model_backward(s, &P, &X, &st);
    Slot out[5];
    int64_t T = s->T, D = s->D, N = s->N, r = s->r;
    double loss = st.loss;
    out[0] = (Slot){ "loss", &loss, 1, { 1, 0, 0 }, 0 };
    out[1] = (Slot){ "out.y", st.y, 2, { T, D, 0 }, 0 };
    out[2] = (Slot){ "grad.moe.perft_r.router", st.dprouter, 2, { N, D, 0 }, 0 };
    out[3] = (Slot){ "grad.moe.perft_r.ad.A", st.dA, 3, { N, r, D }, 0 };
    out[4] = (Slot){ "grad.moe.perft_r.ad.B", st.dB, 3, { N, D, r }, 0 };
    int rc = write_slots(a->pos[2], out, 5);
    if (!rc) {
        print_sizes(s);
        printf("run: loss %.10g (mse %.10g, lb_p %.10g, lb_q %.10g) -> %s\n", st.loss, st.mse, st.lb_p, st.lb_q, a->pos[2]);
        /* smallest gap between the last selected and the first unselected probability: a tiny
         * gap means f32 and double could select different experts (then compare would fail) */
        double mp = INFINITY, mq = INFINITY;
        for (int t = 0; t < s->T; t++) {
            if (s->K < s->E) {
                double best_out = -1;
                for (int e = 0; e < s->E; e++) {
                    int in = 0;
                    for (int k = 0; k < s->K; k++) in |= st.S[t * s->K + k] == e;
                    if (!in && st.p[t * s->E + e] > best_out) best_out = st.p[t * s->E + e];
                }
                double gap = st.g[t * s->K + s->K - 1] - best_out;
                if (gap < mp) mp = gap;
            }
            if (s->Kt < s->N) {
                double best_out = -1;
                for (int e = 0; e < s->N; e++) {
                    int in = 0;
                    for (int k = 0; k < s->Kt; k++) in |= st.j[t * s->Kt + k] == e;
                    if (!in && st.q[t * s->N + e] > best_out) best_out = st.q[t * s->N + e];
                }
                double gap = st.qs[t * s->Kt + s->Kt - 1] - best_out;
                if (gap < mq) mq = gap;
            }
        }
        printf("run: smallest top-k selection margin: base router %.3e, PEFT router %.3e (inf: all selected)%s\n", mp, mq,
               (mp < 1e-5 || mq < 1e-5) ? "  WARNING: near-tie, f32 may select differently" : "");
    }
    params_free(&P); inputs_free(&X); state_free(&st);
    return rc ? 1 : 0;
}

static int selected(const Args *a, const char *name) {
    if (a->n_only == 0) return 1;
    for (int i = 0; i < a->n_only; i++)
        if (strncmp(name, a->only[i], strlen(a->only[i])) == 0) return 1;
    return 0;
}

static void unravel(const StTensor *t, int64_t k, char *buf, size_t len) {
    int64_t idx[ST_MAX_DIMS];
    for (int d = t->ndim - 1; d >= 0; d--) { idx[d] = t->shape[d] ? k % t->shape[d] : 0; k = t->shape[d] ? k / t->shape[d] : 0; }
    dims_str(t->ndim, idx, buf, len);
}

/* For every tensor of A (the expected values): present in B, same shape, and
 * |A−B| <= atol + rtol·|A| elementwise. */
static int cmd_compare(const Args *a) {
    if (a->n_pos != 2) die_usage();
    StFile A, B;
    char err[512];
    if (st_read(a->pos[0], &A, err, sizeof err)) { fprintf(stderr, "compare: %s\ncompare: FAIL (cannot read A)\n", err); return 1; }
    if (st_read(a->pos[1], &B, err, sizeof err)) { fprintf(stderr, "compare: %s\ncompare: FAIL (cannot read B)\n", err); st_free(&A); return 1; }
    printf("compare: A=%s (expected)  B=%s  rtol=%g atol=%g  criterion |A-B| <= atol + rtol*|A|\n", a->pos[0], a->pos[1], a->rtol, a->atol);
    int failed = 0, checked = 0;
    char failed_names[1024] = "";
    for (int i = 0; i < A.n; i++) {
        StTensor *ta = &A.t[i];
        if (!selected(a, ta->name)) continue;
        checked++;
        char s1[96], s2[96];
        StTensor *tb = st_find(&B, ta->name);
        int ok = 1;
        if (!tb) {
            printf("  MISSING %-28s %s: not present in B\n", ta->name, st_shape_str(ta, s1, sizeof s1));
            ok = 0;
        } else {
            int same = ta->ndim == tb->ndim;
            for (int d = 0; same && d < ta->ndim; d++) same = ta->shape[d] == tb->shape[d];
            if (!same) {
                printf("  SHAPE   %-28s A %s vs B %s\n", ta->name, st_shape_str(ta, s1, sizeof s1), st_shape_str(tb, s2, sizeof s2));
                ok = 0;
            } else {
                double max_abs = 0, max_rel = 0, max_a = 0, num = 0, den = 0;
                int64_t nbad = 0, worst = -1;
                double worst_excess = -1;
                for (int64_t k = 0; k < ta->numel; k++) {
                    double x = ta->data[k], y = tb->data[k], e = fabs(x - y);
                    int finite = isfinite(x) && isfinite(y);
                    if (!finite) e = INFINITY;
                    if (fabs(x) > max_a) max_a = fabs(x);
                    if (e > max_abs) max_abs = e;
                    if (fabs(x) > 0 && e / fabs(x) > max_rel) max_rel = e / fabs(x);
                    num += finite ? e * e : 0; den += x * x;
                    double lim = a->atol + a->rtol * fabs(x);
                    if (!finite || e > lim) {
                        nbad++;
                        double excess = finite ? e / lim : INFINITY;
                        if (excess > worst_excess) { worst_excess = excess; worst = k; }
                    }
                }
                double nrel = den > 0 ? sqrt(num / den) : sqrt(num);
                ok = nbad == 0;
                printf("  %-7s %-28s %-12s max_abs=%.3e max_rel=%.3e norm_rel=%.3e max|A|=%.3e\n", ok ? "OK" : "FAIL", ta->name,
                       st_shape_str(ta, s1, sizeof s1), max_abs, max_rel, nrel, max_a);
                if (!ok) {
                    unravel(ta, worst, s2, sizeof s2);
                    printf("          %lld of %lld elements out of tolerance; worst at %s: A=%.9g B=%.9g\n", (long long)nbad,
                           (long long)ta->numel, s2, ta->data[worst], tb->data[worst]);
                }
            }
        }
        if (!ok) {
            failed++;
            size_t l = strlen(failed_names);
            if (l + strlen(ta->name) + 3 < sizeof failed_names) snprintf(failed_names + l, sizeof failed_names - l, "%s%s", l ? ", " : "", ta->name);
        }
    }
    for (int i = 0; i < B.n; i++)
        if (selected(a, B.t[i].name) && !st_find(&A, B.t[i].name)) printf("  note: B has %s, which A lacks (not compared)\n", B.t[i].name);
    int rc;
    if (checked == 0) { printf("compare: FAIL (no tensors of A were selected for comparison)\n"); rc = 1; }
    else if (failed) { printf("compare: FAIL (%d of %d tensors: %s)\n", failed, checked, failed_names); rc = 1; }
    else { printf("compare: PASS (%d tensors within rtol=%g atol=%g)\n", checked, a->rtol, a->atol); rc = 0; }
    st_free(&A); st_free(&B);
    return rc;
}

/* Central finite differences (double) of the loss against the analytic backward, for
 * every element of every trainable tensor. Elements whose ±eps perturbation changes the
 * top-k selection (a kink of the piecewise-smooth loss) are skipped and counted. */
static int cmd_fdcheck(const Args *a) {
    const Sizes *s = &a->s;
    Params P; Inputs X; State st, sp;
    params_alloc(&P, s); inputs_alloc(&X, s); state_alloc(&st, s); state_alloc(&sp, s);
    generate(s, a->seed, &P, &X);
    double L0 = model_forward(s, &P, &X, &st);
    model_backward(s, &P, &X, &st);
    print_sizes(s);
    printf("fdcheck: seed %llu eps %g loss %.12g (mse %.6g lb_p %.6g lb_q %.6g)%s\n", a->seed, a->eps, L0, st.mse, st.lb_p, st.lb_q,
           g_wrong_rule ? "  [DELIBERATELY WRONG BACKWARD RULE ACTIVE]" : "");
    struct { const char *name; double *p, *g; int64_t n; } tr[3] = {
        { "moe.perft_r.router", P.prouter, st.dprouter, (int64_t)s->N * s->D },
        { "moe.perft_r.ad.A", P.A, st.dA, (int64_t)s->N * s->r * s->D },
        { "moe.perft_r.ad.B", P.B, st.dB, (int64_t)s->N * s->D * s->r },
    };
    const double rtol = 1e-5, atol_rel = 1e-6, atol_abs = 1e-11;
    int64_t total_bad = 0, total_skip = 0, total_n = 0;
    for (int ti = 0; ti < 3; ti++) {
        double gmax = 0;
        for (int64_t k = 0; k < tr[ti].n; k++) if (fabs(tr[ti].g[k]) > gmax) gmax = fabs(tr[ti].g[k]);
        double max_err = 0, max_rel = 0;
        int64_t nbad = 0, nskip = 0, worst = -1;
        double worst_fd = 0;
        for (int64_t k = 0; k < tr[ti].n; k++) {
            double orig = tr[ti].p[k];
            int kink = 0;
            tr[ti].p[k] = orig + a->eps;
            double Lp = model_forward(s, &P, &X, &sp);
            if (memcmp(sp.j, st.j, (size_t)s->T * s->Kt * sizeof(int)) || memcmp(sp.S, st.S, (size_t)s->T * s->K * sizeof(int))) kink = 1;
            tr[ti].p[k] = orig - a->eps;
            double Lm = model_forward(s, &P, &X, &sp);
            if (memcmp(sp.j, st.j, (size_t)s->T * s->Kt * sizeof(int)) || memcmp(sp.S, st.S, (size_t)s->T * s->K * sizeof(int))) kink = 1;
            tr[ti].p[k] = orig;
            if (kink) { nskip++; continue; }
            double fd = (Lp - Lm) / (2 * a->eps), an = tr[ti].g[k], e = fabs(fd - an);
            if (!(e <= atol_abs + atol_rel * gmax + rtol * fabs(an))) {
                if (nbad == 0 || e > fabs(worst_fd - tr[ti].g[worst])) { worst = k; worst_fd = fd; }
                nbad++;
            }
            if (e > max_err) max_err = e;
            if (fabs(an) > 1e-3 * gmax && e / fabs(an) > max_rel) max_rel = e / fabs(an);
        }
        printf("  %-4s grad %-20s n=%-5lld max|grad|=%.3e max_abs_err=%.3e max_rel_err=%.3e (|grad|>1e-3·max) skipped=%lld bad=%lld\n",
               nbad ? "FAIL" : "OK", tr[ti].name, (long long)tr[ti].n, gmax, max_err, max_rel, (long long)nskip, (long long)nbad);
        if (nbad) printf("       worst element %lld: analytic %.9e finite-difference %.9e\n", (long long)worst, tr[ti].g[worst], worst_fd);
        if (gmax == 0 && tr[ti].n > 0 && !(s->N == 1)) printf("       warning: gradient is identically zero\n");
        total_bad += nbad; total_skip += nskip; total_n += tr[ti].n;
    }
    int too_many_skips = total_skip * 20 > total_n; /* more than 5% at kinks: inputs are degenerate */
    params_free(&P); inputs_free(&X); state_free(&st); state_free(&sp);
    if (too_many_skips) {
        printf("fdcheck: FAIL (%lld of %lld elements sit at top-k kinks; choose another seed or eps)\n", (long long)total_skip, (long long)total_n);
        return 1;
    }
    if (a->expect_fail) {
        if (total_bad) {
            printf("fdcheck: PASS (expected failure: the finite-difference check caught the wrong rule in %lld elements)\n", (long long)total_bad);
            return 0;
        }
        printf("fdcheck: FAIL (a failure was expected but the analytic gradients matched: the check did not catch the wrong rule)\n");
        return 1;
    }
    if (total_bad) { printf("fdcheck: FAIL (%lld of %lld elements disagree with finite differences)\n", (long long)total_bad, (long long)total_n); return 1; }
    printf("fdcheck: PASS (%lld elements, %lld skipped at kinks)\n", (long long)total_n, (long long)total_skip);
    return 0;
}

static int cmd_edit(const Args *a) {
    if (a->n_pos != 2 || !a->edit_op) die_usage();
    StFile f;
    char err[512];
    if (st_read(a->pos[0], &f, err, sizeof err)) { fprintf(stderr, "perft-ref: %s\n", err); return 1; }
    StTensor *t = st_find(&f, a->edit_name);
    if (!t) { fprintf(stderr, "perft-ref: edit: no tensor %s in %s\n", a->edit_name, a->pos[0]); st_free(&f); return 1; }
    if (strcmp(a->edit_op, "drop") == 0) st_remove(&f, a->edit_name);
    else if (strcmp(a->edit_op, "flatten") == 0) { t->shape[0] = t->numel; t->ndim = 1; }
    else {
        if (a->edit_idx < 0 || a->edit_idx >= t->numel) { fprintf(stderr, "perft-ref: edit: index out of range\n"); st_free(&f); return 1; }
        double *v = &t->data[a->edit_idx];
        *v = *v != 0 ? *v * (1 + a->edit_rel) : a->edit_rel;
    }
    int rc = st_write(a->pos[1], &f, err, sizeof err);
    if (rc) fprintf(stderr, "perft-ref: %s\n", err);
    st_free(&f);
    return rc ? 1 : 0;
}

/* A case small enough to work out by hand (T=2 identical tokens, D=3, E=2, K=1, F=2, N=2,
 * Kt=1, r=2). Non-square weights, so a transposed layout of w1/w3/w2/A/B/routers changes the
 * answer; expert 0 and adapter 0 hold junk that must not be used. Expected values below are
 * written out from the equations, independently of model.c. */
static int cmd_handcheck(void) {
    Sizes s = { 2, 3, 2, 1, 2, 2, 1, 2 };
    Params P; Inputs X; State st;
    params_alloc(&P, &s); inputs_alloc(&X, &s); state_alloc(&st, &s);
    const double h[3] = { 1, 2, 3 }, tg[3] = { 0.5, -1, 2 };
    for (int t = 0; t < 2; t++) for (int d = 0; d < 3; d++) { X.h[t * 3 + d] = h[d]; X.target[t * 3 + d] = tg[d]; }
    const double router[6] = { 1, 0, 0, /**/ 0, 1, 0 };               /* [E=2,D=3]: logits (1, 2) */
    const double w1[12] = { 7, 7, 7, 7, 7, 7, /**/ 1, 0, 0, 0, 0, 1 }; /* [E,F=2,D=3]: a1 = (1, 3) */
    const double w3[12] = { 7, 7, 7, 7, 7, 7, /**/ 0, 1, 0, 1, 0, 0 }; /* a3 = (2, 1) */
    const double w2[12] = { 7, 7, 7, 7, 7, 7, /**/ 1, 0, 0, 1, 1, 1 }; /* [E,D=3,F=2]: (u0, u1, u0+u1) */
    const double prouter[6] = { 0, 0, 0, /**/ 0, 0, 1 };              /* [N=2,D=3]: logits (0, 3) */
    const double A[12] = { 9, 9, 9, 9, 9, 9, /**/ 1, 0, 0, 0, 1, 1 };  /* [N,r=2,D=3]: z = (1, 5) */
    const double B[12] = { 9, 9, 9, 9, 9, 9, /**/ 1, 0, 0, 1, 1, -1 }; /* [N,D=3,r=2]: Bz = (1, 5, -4) */
    memcpy(P.router, router, sizeof router); memcpy(P.w1, w1, sizeof w1); memcpy(P.w3, w3, sizeof w3);
    memcpy(P.w2, w2, sizeof w2); memcpy(P.prouter, prouter, sizeof prouter); memcpy(P.A, A, sizeof A); memcpy(P.B, B, sizeof B);
    model_forward(&s, &P, &X, &st);
    model_backward(&s, &P, &X, &st);

    const double e1 = exp(1.0), e3 = exp(3.0);
    const double g = e1 / (1 + e1);                 /* p_1 = top-1 value, no renormalisation */
    const double q1 = e3 / (1 + e3), q0 = 1 - q1;   /* PEFT router; top-1 renormalised weight = 1 */
    const double u0 = 2 * (1 / (1 + exp(-1.0))), u1 = 1 * (3 / (1 + exp(-3.0)));
    const double y[3] = { g * u0 + 2 * 1, g * u1 + 2 * 5, g * (u0 + u1) + 2 * -4 };
    double mse = 0, dy[3];
    for (int d = 0; d < 3; d++) { mse += (y[d] - tg[d]) * (y[d] - tg[d]) / 3; dy[d] = 2 * (y[d] - tg[d]) / 6; }
    const double loss = mse + 0.01 * 2 * g + 0.01 * 2 * q1; /* LB = E·f_1·P_1 = 2g, N·q1 */
    /* grads, summed over the two identical tokens */
    double dB[3][2], dA[2][3], dR[2][3];
    const double z[2] = { 1, 5 };
    const double dz[2] = { 2 * 2 * (dy[0] + dy[2]), 2 * 2 * (dy[1] - dy[2]) };
    for (int d = 0; d < 3; d++) for (int i = 0; i < 2; i++) dB[d][i] = 2 * 2 * dy[d] * z[i];
    for (int i = 0; i < 2; i++) for (int d = 0; d < 3; d++) dA[i][d] = dz[i] * h[d];
    for (int d = 0; d < 3; d++) { dR[0][d] = 2 * (-0.02 * q0 * q1 / 2) * h[d]; dR[1][d] = 2 * (0.02 * q0 * q1 / 2) * h[d]; }

    double worst = 0;
    int bad = 0;
#define CHK(what, got, want) do { double e_ = fabs((got) - (want)); if (e_ > worst) worst = e_; \
        if (!(e_ <= 1e-12 * (1 + fabs(want)))) { bad++; printf("  mismatch %s: got %.15g want %.15g\n", what, (double)(got), (double)(want)); } } while (0)
    CHK("loss", st.loss, loss);
    for (int t = 0; t < 2; t++) for (int d = 0; d < 3; d++) CHK("y", st.y[t * 3 + d], y[d]);
    for (int d = 0; d < 3; d++) for (int i = 0; i < 2; i++) { CHK("dB[1]", st.dB[6 + d * 2 + i], dB[d][i]); CHK("dB[0]", st.dB[d * 2 + i], 0.0); }
    for (int i = 0; i < 2; i++) for (int d = 0; d < 3; d++) { CHK("dA[1]", st.dA[6 + i * 3 + d], dA[i][d]); CHK("dA[0]", st.dA[i * 3 + d], 0.0); }
    for (int e = 0; e < 2; e++) for (int d = 0; d < 3; d++) CHK("drouter", st.dprouter[e * 3 + d], dR[e][d]);
#undef CHK
    params_free(&P); inputs_free(&X); state_free(&st);
    if (bad) { printf("handcheck: FAIL (%d values differ from the hand-derived ones)\n", bad); return 1; }
    printf("handcheck: PASS (loss, y and all gradients match hand-derived values; max abs err %.2e)\n", worst);
    return 0;
}

#include "token_cli.inc"
#include "attention_cli.inc"

int main(int argc, char **argv) {
    if (argc < 2) die_usage();
    const char *w = getenv("PERFT_REF_WRONG");
    if (w && *w) {
        if (strcmp(w, "norenorm") == 0) g_wrong_rule = WRONG_NORENORM;
        else if (strcmp(w, "nolb") == 0) g_wrong_rule = WRONG_NOLB;
        else if (strcmp(w, "nosoftmax") == 0) g_wrong_rule = WRONG_NOSOFTMAX;
        else if (strcmp(w, "rmsnorm") == 0) g_wrong_rule = WRONG_RMSNORM;
        else if (strcmp(w, "frozenlb") == 0) g_wrong_rule = WRONG_FROZENLB;
        else if (strcmp(w, "silu") == 0) g_wrong_rule = WRONG_SILU;
        else if (strcmp(w, "rope") == 0) g_wrong_rule = WRONG_ROPE;
        else if (strcmp(w, "kvhead") == 0) g_wrong_rule = WRONG_KVHEAD;
        else { fprintf(stderr, "perft-ref: unknown PERFT_REF_WRONG=%s (norenorm|nolb|nosoftmax|rmsnorm|frozenlb|silu|rope|kvhead)\n", w); return 2; }
        fprintf(stderr, "perft-ref: WARNING: deliberately wrong backward rule '%s' is active\n", w);
    }
    if (strcmp(argv[1], "attention") == 0) return acmd_main(argc - 1, argv + 1);
    Args a;
    parse_args(argc, argv, &a);
    if (strcmp(argv[1], "strategies") == 0) { tmodel_list_strategies(); return 0; }
    if (a.strategy) {
        if (strcmp(argv[1], "gen") == 0) return tcmd_gen(&a);
        if (strcmp(argv[1], "run") == 0) return tcmd_run(&a);
        if (strcmp(argv[1], "fdcheck") == 0) return tcmd_fdcheck(&a);
        if (strcmp(argv[1], "params") == 0) return tcmd_params(&a);
        die_usage();
    }
    if (strcmp(argv[1], "gen") == 0) return cmd_gen(&a);
    if (strcmp(argv[1], "run") == 0) return cmd_run(&a);
    if (strcmp(argv[1], "compare") == 0) return cmd_compare(&a);
    if (strcmp(argv[1], "fdcheck") == 0) return cmd_fdcheck(&a);
    if (strcmp(argv[1], "edit") == 0) return cmd_edit(&a);
    if (strcmp(argv[1], "handcheck") == 0) return cmd_handcheck();
    die_usage();
    return 2;
}
