/* op_verify.h — the shape relations of perft ops that IRDL cannot state (op_verify.c).
 * Each emits an error naming the op at its location and returns 0 when a relation fails.
 * Element types, ranks and same-type operands are checked from the table first (verify.c). */
#ifndef PERFT_OP_VERIFY_H
#define PERFT_OP_VERIFY_H

#include <mlir-c/IR.h>

int verify_top_k(MlirOperation op);
int verify_top_k_grad(MlirOperation op);
int verify_dispatch(MlirOperation op);
int verify_dispatch_grad(MlirOperation op);
int verify_grouped_matmul(MlirOperation op);
int verify_grouped_matmul_grad_weight(MlirOperation op);
int verify_route(MlirOperation op);
int verify_gathered_matmul(MlirOperation op);
int verify_gathered_matmul_grad_weight(MlirOperation op);
int verify_grouped_matmul_combine(MlirOperation op);
int verify_matmul_scale_add(MlirOperation op);
int verify_grouped_matmul_scale_add(MlirOperation op);
int verify_lora_chain(MlirOperation op);
int verify_grouped_lora_chain(MlirOperation op);
int verify_gathered_dropout(MlirOperation op);
int verify_grouped_matmul_join(MlirOperation op);
int verify_grouped_matmul_join_combine(MlirOperation op);
int verify_reduce(MlirOperation op);
int verify_broadcast(MlirOperation op);
int verify_expert_rows(MlirOperation op);
int verify_compare(MlirOperation op);
int verify_transpose(MlirOperation op);
int verify_gather(MlirOperation op);
int verify_ec(MlirOperation op);
int verify_softmax_top_k(MlirOperation op);
int verify_concat(MlirOperation op);
int verify_slice(MlirOperation op);
int verify_combine(MlirOperation op);
int verify_combine_grad_rows(MlirOperation op);
int verify_combine_grad_weights(MlirOperation op);
int verify_load_balance(MlirOperation op);
int verify_load_balance_grad(MlirOperation op);
int verify_expert_fraction(MlirOperation op);
int verify_rmsnorm(MlirOperation op);
int verify_rmsnorm_grad_weight(MlirOperation op);
int verify_rope(MlirOperation op);
int verify_causal_attention(MlirOperation op);
int verify_attention_gemm(MlirOperation op); /* attention_scores, _apply, _apply_t */
int verify_causal_softmax(MlirOperation op);
int verify_embedding(MlirOperation op);
int verify_embedding_grad(MlirOperation op);
int verify_cross_entropy(MlirOperation op);
int verify_dropout(MlirOperation op);

/* Emits "'NAME' op MESSAGE" at op's location; returns 0. */
int verify_fail(MlirOperation op, const char *format, ...) __attribute__((format(printf, 2, 3)));

#endif
