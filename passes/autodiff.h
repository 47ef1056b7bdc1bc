/* autodiff.h — what a backward rule sees (the rules: autodiff_rules.c; the pass: autodiff.c).
 *
 * A rule reads the forward op and the adjoints of its results, builds the ops of its
 * derivative where ad_builder points (before @train_step's return), and adds each
 * operand's contribution with ad_accumulate. Only active values (those that depend on a
 * trainable parameter) take contributions; ad_accumulate ignores the others, and rules
 * skip work for an inactive operand by asking ad_is_active first.
 */
#ifndef PERFT_AUTODIFF_H
#define PERFT_AUTODIFF_H

#include "op_table.h"

int ad_is_active(Autodiff *ad, MlirValue v);
MlirValue ad_adjoint(Autodiff *ad, MlirValue v); /* null when no adjoint reached v */
void ad_accumulate(Autodiff *ad, MlirValue v, MlirValue contribution);
Builder *ad_builder(Autodiff *ad);

/* Builds perft op `id` with one result of `type`; its attributes are copied from `from`. */
MlirValue ad_op(Autodiff *ad, OpId id, const MlirValue *operands, MlirType type, MlirOperation from);
MlirValue ad_scale(Autodiff *ad, MlirValue x, double factor);                    /* perft.scale */
MlirValue ad_matmul(Autodiff *ad, OpId id, MlirValue a, MlirValue b, MlirType result); /* into zeros */
MlirValue ad_binary(Autodiff *ad, OpId id, MlirValue a, MlirValue b);            /* linalg.mul, .div */

/* The rules named by op_table.c. */
void backward_matmul(Autodiff *ad, MlirOperation op);
void backward_matmul_transpose_a(Autodiff *ad, MlirOperation op);
void backward_matmul_transpose_b(Autodiff *ad, MlirOperation op);
void backward_add(Autodiff *ad, MlirOperation op);
void backward_sub(Autodiff *ad, MlirOperation op);
void backward_mul(Autodiff *ad, MlirOperation op);
void backward_div(Autodiff *ad, MlirOperation op);
void backward_scale(Autodiff *ad, MlirOperation op);
void backward_silu(Autodiff *ad, MlirOperation op);
void backward_softmax(Autodiff *ad, MlirOperation op);
void backward_top_k(Autodiff *ad, MlirOperation op);
void backward_dispatch(Autodiff *ad, MlirOperation op);
void backward_grouped_matmul(Autodiff *ad, MlirOperation op);
void backward_combine(Autodiff *ad, MlirOperation op);
void backward_load_balance(Autodiff *ad, MlirOperation op);
void backward_mse(Autodiff *ad, MlirOperation op);
void backward_rmsnorm(Autodiff *ad, MlirOperation op);
void backward_rope(Autodiff *ad, MlirOperation op);
void backward_causal_attention(Autodiff *ad, MlirOperation op);
void backward_embedding(Autodiff *ad, MlirOperation op);
void backward_cross_entropy(Autodiff *ad, MlirOperation op);
void backward_dropout(Autodiff *ad, MlirOperation op);
void backward_unary(Autodiff *ad, MlirOperation op);
void backward_extremum(Autodiff *ad, MlirOperation op);
void backward_log_softmax(Autodiff *ad, MlirOperation op);
void backward_reduce_sum(Autodiff *ad, MlirOperation op);
void backward_reduce_mean(Autodiff *ad, MlirOperation op);
void backward_reduce_max(Autodiff *ad, MlirOperation op);
void backward_broadcast(Autodiff *ad, MlirOperation op);
void backward_expert_rows(Autodiff *ad, MlirOperation op);
void backward_compare(Autodiff *ad, MlirOperation op);
void backward_transpose(Autodiff *ad, MlirOperation op);
void backward_gather(Autodiff *ad, MlirOperation op);
void backward_ec_dispatch(Autodiff *ad, MlirOperation op);
void backward_ec_combine(Autodiff *ad, MlirOperation op);
void backward_where(Autodiff *ad, MlirOperation op);

#endif
