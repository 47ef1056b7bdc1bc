/* op_table.h — every op perft knows, declared once (op_table.c).
 *
 * One entry per op says everything the compiler needs of it:
 *   name, operands and results   element kind (float or i32), rank, and a type variable: values
 *                                that share one must have the same type (IRDL enforces it)
 *   attributes                   name and kind
 *   verify                       the shape relations IRDL cannot state (op_verify.c)
 *   backward                     its reverse-mode rule (autodiff_rules.c), or why it has none
 *   flops                        its GEMM FLOPs for --report (0 when not a GEMM)
 *   scratch                      the scratch buffers its kernel needs
 *   kernel[target]               its kernel emitter, one column per target (cpu_kernels.c)
 *
 * Derived from it: the IRDL definition of the `perft` dialect (tensor form) and of the
 * `perft_buffer` dialect (the same ops in destination-passing style on memrefs:
 * inputs, then outputs, then scratch, no results), autodiff's dispatch, emit-kernels'
 * dispatch, the verifier and --report. Upstream ops with a rule or a kernel (linalg's
 * matmuls and elementwise arithmetic) have entries too, marked `upstream`; MLIR defines
 * and verifies those. op_table_check() runs when a tool starts: an entry without a rule
 * for a stage is an error then, not when a program happens to use the op.
 *
 * Adding an op: docs/ADDING_AN_OP.md.
 */
#ifndef PERFT_OP_TABLE_H
#define PERFT_OP_TABLE_H

#include "ir_builder.h"
#include "loop_builder.h"

#include <stdio.h>

/* The ops, in table order. */
#define PERFT_OPS(X)                                                                              \
  X(MATMUL) X(MATMUL_TRANSPOSE_A) X(MATMUL_TRANSPOSE_B) X(ADD) X(SUB) X(MUL) X(DIV)              \
  X(SCALE) X(SILU) X(SILU_GRAD) X(SWIGLU) X(SWIGLU_GRAD) X(SOFTMAX) X(SOFTMAX_GRAD) X(TOP_K) X(TOP_K_GRAD)              \
  X(DISPATCH) X(DISPATCH_GRAD) X(GROUPED_MATMUL) X(GROUPED_MATMUL_GRAD_WEIGHT)                  \
  X(ROUTE) X(GATHERED_MATMUL) X(GATHERED_MATMUL_GRAD_WEIGHT) X(GROUPED_MATMUL_COMBINE)           \
  X(SOFTMAX_TOP_K) X(CONCAT) X(SLICE) X(MATMUL_SCALE_ADD) X(GROUPED_MATMUL_SCALE_ADD) \
  X(LORA_CHAIN) X(GROUPED_LORA_CHAIN) X(GATHERED_DROPOUT) X(GROUPED_MATMUL_JOIN) X(GROUPED_MATMUL_JOIN_COMBINE)                                                              \
  X(COMBINE) X(COMBINE_GRAD_ROWS) X(COMBINE_GRAD_WEIGHTS) X(LOAD_BALANCE) X(LOAD_BALANCE_GRAD) X(EXPERT_FRACTION)  \
  X(MSE) X(MSE_GRAD) X(RMSNORM) X(RMSNORM_GRAD_INPUT) X(RMSNORM_GRAD_WEIGHT)                    \
  X(EMBEDDING) X(EMBEDDING_GRAD) X(CROSS_ENTROPY) X(CROSS_ENTROPY_GRAD) X(DROPOUT) X(DROPOUT_GRAD)        \
  X(SIGMOID) X(SIGMOID_GRAD) X(TANH) X(TANH_GRAD) X(RELU) X(RELU_GRAD) X(GELU) X(GELU_GRAD)              \
  X(EXP) X(EXP_GRAD) X(LOG) X(LOG_GRAD) X(SQRT) X(SQRT_GRAD) X(ABS) X(ABS_GRAD)                          \
  X(MAXIMUM) X(MAXIMUM_GRAD) X(MINIMUM) X(MINIMUM_GRAD) X(LOG_SOFTMAX) X(LOG_SOFTMAX_GRAD)                \
  X(REDUCE_SUM) X(REDUCE_MEAN) X(REDUCE_MAX) X(REDUCE_SUM_GRAD) X(REDUCE_MAX_GRAD) X(BROADCAST) X(SUM_TO) X(EXPERT_ROWS) X(EXPERT_ROWS_GRAD) X(COMPARE) X(WHERE) X(WHERE_GRAD) X(TRANSPOSE) \
  X(EC_DISPATCH) X(EC_DISPATCH_GRAD) X(EC_COMBINE) X(EC_COMBINE_GRAD_ROWS) X(EC_COMBINE_GRAD_WEIGHTS) X(GATHER) X(NEST_INDICES) \
  X(ROPE) X(ROPE_GRAD) X(CAUSAL_ATTENTION) X(CAUSAL_ATTENTION_GRAD) \
  X(ATTENTION_SCORES) X(ATTENTION_APPLY) X(ATTENTION_APPLY_T) X(CAUSAL_SOFTMAX) X(CAUSAL_SOFTMAX_GRAD)

#define PERFT_OP_ID(name) OP_##name,
typedef enum { PERFT_OPS(PERFT_OP_ID) OP_COUNT } OpId;
#undef PERFT_OP_ID

/* The code generation targets: one kernel column of the table each (compiler/target.h).
 * cuda: the same loop nests as the CPU's, built with Kernel.gpu set (every independent loop
 * an scf.parallel, at GPU granularity); perft-gpu-launch turns them into gpu.launch ops. */
typedef enum { TARGET_CPU, TARGET_CUDA, TARGET_COUNT } TargetKind;
extern const char *const target_names[TARGET_COUNT];

/* ELEMENT_WEIGHT: a weight operand of a GEMM or a table: the op's float type, or bf16 (a frozen
 * weight kept in bf16, perftc --frozen-dtype=bf16; the kernels widen it to f32 as they load it).
 * A grouped GEMM's rows are one too: perft-bf16-gemm-inputs gives a bf16 bank bf16 rows. */
typedef enum { ELEMENT_FLOAT, ELEMENT_I32, ELEMENT_WEIGHT } ElementKind;
enum { ANY_RANK = -1 };

typedef struct {
  const char *name;     /* in messages: "x", "idx" */
  const char *type_var; /* values of one op with the same type_var have the same type */
  ElementKind element;
  int rank;             /* ANY_RANK or 0..3 */
} ValueSpec;

typedef enum { ATTRIBUTE_INT, ATTRIBUTE_BOOL, ATTRIBUTE_FLOAT } AttributeKind;
typedef struct {
  const char *name;
  AttributeKind kind;
} AttributeSpec;

/* An attribute value given to op_build, in the order of the entry's attributes. */
typedef struct {
  int64_t i; /* ATTRIBUTE_INT, ATTRIBUTE_BOOL */
  double f;  /* ATTRIBUTE_FLOAT */
} AttributeValue;

typedef struct Autodiff Autodiff; /* autodiff.h */

/* Emits errors at the op's location and returns 0 when the op's shapes do not fit. */
typedef int (*OpVerifier)(MlirOperation op);
/* Adds the adjoints of op's operands from the adjoints of its results. */
typedef void (*BackwardRule)(Autodiff *ad, MlirOperation op);
/* GEMM FLOPs of the op (tensor or buffer form). */
typedef double (*FlopCount)(MlirOperation op);
/* Writes the memref types of the op's scratch buffers for code generation target `target` (a GPU
 * kernel's partial sums need room its CPU twin does not: an unused scratch is one element); returns
 * how many. */
typedef int (*ScratchSpec)(MlirOperation op, TargetKind target, MlirType *memref_types);
/* Emits the op's computation from `buffers` (its buffer-form operands: inputs, outputs,
 * scratch) where k's builder points. Returns 1 when the op is replaced, 0 when it stays
 * for upstream lowering (linalg matmuls it has no loop nest for). */
typedef int (*KernelEmitter)(Kernel *k, MlirOperation op, const MlirValue *buffers);

enum { OP_MAX_OPERANDS = 7, OP_MAX_RESULTS = 3, OP_MAX_ATTRIBUTES = 3, OP_MAX_SCRATCH = 1 };

typedef struct {
  const char *name; /* the tensor form: "perft.softmax", "linalg.matmul" */
  int upstream;     /* an upstream op: not in the perft dialects, MLIR verifies it */
  int num_operands, num_results;
  ValueSpec operands[OP_MAX_OPERANDS], results[OP_MAX_RESULTS];
  int num_attributes;
  AttributeSpec attributes[OP_MAX_ATTRIBUTES];
  OpVerifier verify;
  BackwardRule backward;
  const char *no_backward; /* why there is no rule: "a gradient op" (then backward is NULL) */
  FlopCount flops;         /* NULL: not a GEMM */
  ScratchSpec scratch;     /* NULL: none */
  KernelEmitter kernel[TARGET_COUNT];
} OpInfo;

extern const OpInfo op_table[OP_COUNT];

/* The entry of `op` (tensor or buffer form), or NULL when perft has none. */
const OpInfo *op_info_of(MlirOperation op);
/* Whether op (possibly null) is op `id`, in either form. */
int op_is_kind(MlirOperation op, OpId id);
/* "perft_buffer.softmax" for "perft.softmax"; upstream ops keep their name. */
const char *op_buffer_name(const OpInfo *info, char *buffer, size_t size);
/* Whether op is in the buffer form (its outputs are operands). */
int op_is_buffer_form(MlirOperation op, const OpInfo *info);
/* The type of input i / output i / scratch i of op, in either form. */
MlirType op_input_type(MlirOperation op, int i);
MlirType op_output_type(MlirOperation op, const OpInfo *info, int i);

/* Builds op `id` with the table's name and attribute names, inserting it where b points. */
MlirOperation op_build(Builder *b, OpId id, const MlirValue *operands, const MlirType *result_types,
                       const AttributeValue *attributes);
/* The same, with the attributes copied from `from` (which must carry every one of them). */
MlirOperation op_build_like(Builder *b, OpId id, const MlirValue *operands, const MlirType *result_types,
                            MlirOperation from);

/* Checks that every entry is complete (a rule or a reason for none, a kernel per target,
 * a verifier for perft ops, specs within bounds); prints what is missing to `err`. */
int op_table_check(const OpInfo *table, int count, FILE *err);

/* The IRDL module defining the `perft` and `perft_buffer` dialects (malloc'ed). */
char *op_table_irdl(void);

/* Every op `id` in tensor form in the module's functions, in order (malloc'd; the caller frees):
 * fusion passes collect first, since fusing erases ops around the one it starts from. */
MlirOperation *op_collect(MlirOperation module, OpId id, size_t *count);
/* Calls fuse on every op `id` in tensor form (collected first); returns how many it fused. */
int op_fuse_each(MlirOperation module, OpId id, int (*fuse)(MlirOperation op));

#endif
