/* fake_op.c — a hand-written stand-in for a perftc object compiled with --dtype=f64, to test the
 * gradcheck harness without the compiler (docs/ABI.md interface).
 *
 *   params:  fake.w 3x5 trainable, fake.f 1 frozen, fake.v 13x17 trainable (221 values: more than
 *            the harness's default 200 per tensor, so its sampling path runs)
 *   inputs:  c 3x5, u 13x17
 *   output:  y 3x5 = silu(w) * c
 *   loss     = f * sum(silu(w) * c) + 0.5 * sum(v * v * u)
 *   grads:   dL/dw = f * c * silu'(w),  silu'(x) = s(x) (1 + x (1 - s(x))), s = sigmoid
 *            dL/dv = v * u
 * The sigmoids go through the workspace, as generated code would keep intermediates there.
 *
 * Variants (compile-time):
 *   FAKE_WRONG_GRAD=1  silu'(x) taken as s(x) (the classic dropped term)      -> harness FAIL
 *   FAKE_WRONG_GRAD=2  one element of dL/dv off by a relative 1e-4             -> harness FAIL
 *   FAKE_WRONG_GRAD=3  dL/dw accumulated into the grad buffer (+=)              -> harness FAIL
 *   FAKE_F32           manifest without `dtype f64`                             -> harness error (2)
 */
#include <math.h>
#include <stddef.h>

#ifndef FAKE_WRONG_GRAD
#define FAKE_WRONG_GRAD 0
#endif

const char perft_manifest[] =
    "perft-manifest 1\n"
    "tokens 3\n"
#ifndef FAKE_F32
    "dtype f64\n"
#endif
    "param fake.w 3x5 trainable normal 0 1\n"
    "param fake.f 1 frozen normal 0 0.5\n"
    "param fake.v 13x17 trainable ones\n"
    "input c 3x5\n"
    "input u 13x17\n"
    "output y 3x5\n"
    "grad fake.w 3x5\n"
    "grad fake.v 13x17\n"
    "frobnicate some future record 1x2\n"
    "workspace 120\n";

enum { NW = 15, NV = 13 * 17 };

static double forward(void **b, double *sig) {
  const double *w = b[0], *f = b[1], *v = b[2], *c = b[3], *u = b[4];
  double *loss = b[5], *y = b[6];
  double s = 0;
  for (int i = 0; i < NW; ++i) {
    sig[i] = 1.0 / (1.0 + exp(-w[i]));
    y[i] = w[i] * sig[i] * c[i];
    s += y[i];
  }
  double q = 0;
  for (int i = 0; i < NV; ++i) q += v[i] * v[i] * u[i];
  *loss = f[0] * s + 0.5 * q;
  return *loss;
}

void perft_forward(void **b) { forward(b, (double *)b[9]); }

void perft_train_step(void **b) {
  double *sig = (double *)b[9]; /* workspace: 15 doubles = 120 bytes */
  forward(b, sig);
  const double *w = b[0], *f = b[1], *v = b[2], *c = b[3], *u = b[4];
  double *gw = b[7], *gv = b[8];
  for (int i = 0; i < NW; ++i) {
    double s = sig[i];
#if FAKE_WRONG_GRAD == 1
    double d = s;
    (void)w;
#else
    double d = s * (1.0 + w[i] * (1.0 - s));
#endif
#if FAKE_WRONG_GRAD == 3
    gw[i] += f[0] * c[i] * d;
#else
    gw[i] = f[0] * c[i] * d;
#endif
  }
  for (int i = 0; i < NV; ++i) gv[i] = v[i] * u[i];
#if FAKE_WRONG_GRAD == 2
  gv[100] *= 1.0 + 1e-4;
#endif
}
