/* graph.h — the elaborated program: what the front end (dsl/) hands to the
 * MLIR generator (compiler/).
 *
 * The front end parses a .perft file, checks it, instantiates every block,
 * expert, bank and strategy with concrete sizes, and flattens the result into
 * one acyclic dataflow graph of tensor operations with static shapes. Nothing
 * in here is PERFT-specific: PERFT lives in .perft source.
 *
 * `route(x, idx, w) { bank[e](x) ... }` is already lowered here into
 *     DISPATCH(x, idx)  -> rows[T*k, D], perm[T*k] i32, offsets[E+1] i32
 *     the body evaluated on rows, where `rows @ P^T` with P a bank parameter
 *       (shape [E, N, K]) becomes GROUPED_MATMUL(rows, P, offsets, transpose_w=1)
 *     COMBINE(body_rows, perm, w) -> [T, D]
 *
 * Node ids are indices into graph->nodes; every operand refers to an earlier
 * node (the list is in a valid evaluation order). Shapes are row-major.
 */
#ifndef PERFT_GRAPH_H
#define PERFT_GRAPH_H

#include <stdint.h>

enum { GRAPH_MAX_RANK = 4, GRAPH_MAX_OPERANDS = 4, GRAPH_MAX_RESULTS = 3 };

typedef struct {
  const char *file; /* the source path as given on the command line */
  int line, column; /* 1-based */
} SourceLocation;

typedef enum { DTYPE_F32, DTYPE_I32 } DType;

typedef struct {
  DType dtype;
  int rank; /* 0 for a scalar */
  int64_t dims[GRAPH_MAX_RANK];
} TensorType;

typedef enum { INIT_NORMAL, INIT_ZEROS, INIT_ONES, INIT_CONST, INIT_EYE, INIT_COPY } InitKind;

typedef struct {
  InitKind kind;
  double mean, std; /* INIT_NORMAL; INIT_CONST: the value in mean */
  int source;       /* INIT_COPY: the PARAM node copied, [starts[d], stops[d]) along each axis d */
  int64_t starts[GRAPH_MAX_RANK], stops[GRAPH_MAX_RANK];
} Initializer;

typedef enum {
  /* leaves */
  NODE_PARAM,  /* name, trainable, init; result: the parameter */
  NODE_INPUT,  /* name; result: a per-step input */
  NODE_CONST,  /* scalar f32 constant `value` */
  /* dense */
  NODE_MATMUL, /* a[M,K]-ish, b: C = op(a) @ op(b), op = transpose when the flag is set */
  NODE_ADD, NODE_SUB, NODE_MUL, NODE_DIV, /* elementwise, same shape (scalars too) */
  NODE_SCALE,  /* x * factor (factor a compile-time number) */
  NODE_SILU,   /* x * sigmoid(x) */
  NODE_SOFTMAX, /* along the last axis */
  /* routing */
  NODE_TOP_K,  /* p[T,E] -> weights[T,k] f32, indices[T,k] i32; k, renormalize */
  NODE_DISPATCH, /* x[T,D], indices[T,k] -> rows[T*k,D], perm[T*k] i32, offsets[E+1] i32; num_experts */
  NODE_GROUPED_MATMUL, /* rows[R,K], bank[E,N,K] (transpose_w=1) or bank[E,K,N] (0), offsets[E+1] -> [R,N] */
  NODE_COMBINE, /* rows[T*k,D], perm[T*k], weights[T,k] -> [T,D] */
  /* losses (scalar results) */
  NODE_LOAD_BALANCE, /* p[T,E], indices[T,k] -> E * sum_j f_j P_j; num_experts */
  NODE_EXPERT_FRACTION, /* indices i32[T,k] -> f[E] = picks of expert e / T; num_experts (no gradient) */
  NODE_MSE,          /* y, target (same shape) -> mean((y - target)^2) */
  /* models: token stacks */
  NODE_RMSNORM,       /* x[T,D], weight[D] -> x / sqrt(mean_d(x^2) + eps) * weight; eps in `value` */
  NODE_EMBEDDING,     /* table[V,D], ids i32[T] -> [T,D] (row lookup) */
  NODE_CROSS_ENTROPY, /* logits[T,V], labels i32[T] -> mean_t(logsumexp(logits[t]) - logits[t,label]) */
  NODE_DROPOUT,       /* x, seed i32[1] -> x * mask / (1 - p); p in `value`; seed 0 = identity (eval) */
  /* the language's functions */
  NODE_UNARY,         /* f(x) elementwise, f = `function` (UnaryFunction) */
  NODE_MAXIMUM, NODE_MINIMUM, /* a, b (same shape) -> elementwise max / min */
  NODE_LOG_SOFTMAX,   /* x[T,C] -> x - logsumexp(x) along the last axis */
  NODE_REDUCE,        /* x -> sum / mean / max along `axis` (`function`: ReduceFunction); rank - 1 */
  NODE_BROADCAST,     /* x -> x stretched to the result's shape (numpy: dims aligned right, each equal or 1) */
  NODE_COMPARE,       /* a, b -> f32 mask (1 or 0); `function`: 0 <, 1 >, 2 <=, 3 >=, 4 ==, 5 != */
  NODE_TRANSPOSE,     /* x[A,B] -> [B,A] */
  NODE_NEST_INDICES,  /* j i32[R,k] among M, offsets i32[E+1] of the enclosing route -> e(r)*M + j
                         (M in num_experts): sub-expert m of expert e is e*M + m */
  NODE_GATHER,        /* p[T,E], indices i32[T,k] -> [T,k]: p at the chosen columns */
  NODE_EC_DISPATCH,   /* x[T,D], tok i32[N,C] -> rows[N*C,D] (row e*C+c = x[tok[e,c]]), offsets i32[N+1] */
  NODE_EC_COMBINE,    /* rows[N*C,D], tok[N,C], w[N,C] -> [T,D]: each row weighted back to its token */
  /* attention: rows are B sequences of `seq` tokens (row r is position r mod seq) */
  NODE_ROPE,          /* x[T,H*hd] -> rotary position embedding per head {heads, seq}; theta in `value` */
  NODE_CAUSAL_ATTENTION, /* q[T,H*hd], k[T,G*hd], v[T,G*hd] -> [T,H*hd] {heads, kv_heads, seq} */
  NODE_WHERE,         /* c, a, b (one shape) -> a where c != 0, else b */
  NODE_EXPERT_ROWS,   /* bank[E, s...], offsets[E+1] -> [R, s...] ([R, 1] for scalars): each dispatched
                         row's expert's slice (a bank param in an elementwise position) */
} NodeKind;

typedef enum { UNARY_SIGMOID, UNARY_TANH, UNARY_RELU, UNARY_GELU, UNARY_EXP, UNARY_LOG, UNARY_SQRT, UNARY_ABS } UnaryFunction;
typedef enum { REDUCE_SUM, REDUCE_MEAN, REDUCE_MAX } ReduceFunction;
enum { NUM_UNARY_FUNCTIONS = UNARY_ABS + 1, NUM_REDUCE_FUNCTIONS = REDUCE_MAX + 1 };
/* their names in the language (sema.c) */
extern const char *const dsl_unary_names[NUM_UNARY_FUNCTIONS];
extern const char *const dsl_reduce_names[NUM_REDUCE_FUNCTIONS];

typedef struct {
  int node;   /* index of the producing node */
  int result; /* which of its results (0 for single-result nodes) */
} ValueRef;

typedef struct {
  NodeKind kind;
  SourceLocation loc;
  int num_operands;
  ValueRef operands[GRAPH_MAX_OPERANDS];
  int num_results;
  TensorType results[GRAPH_MAX_RESULTS];
  /* attributes; meaning depends on kind */
  const char *name;           /* PARAM, INPUT: dotted name, e.g. "moe.experts.w1" */
  int trainable;              /* PARAM */
  int constant;               /* PARAM: `const` (initialised by its rule, never loaded, saved or trained) */
  Initializer init;           /* PARAM */
  double value;               /* CONST: the value; SCALE: the factor */
  int transpose_a, transpose_b; /* MATMUL */
  int transpose_w;            /* GROUPED_MATMUL */
  int k, renormalize;         /* TOP_K */
  int num_experts;            /* DISPATCH, LOAD_BALANCE */
  int function;               /* UNARY: UnaryFunction; REDUCE: ReduceFunction */
  int axis;                   /* REDUCE */
  int heads, kv_heads, seq;   /* ROPE (heads, seq), CAUSAL_ATTENTION */
  int bank_name_length;       /* PARAM of a bank ([E, ...]): the length of the bank's part of the name
                                 ("layers.0.moe.experts" in "layers.0.moe.experts.w1"); 0 otherwise */
  int blocks, block_axis;     /* PARAM after `blocks NAME[COUNT] along AXIS`: COUNT equal blocks; 0 otherwise */
} Node;

typedef struct {
  const char *name; /* e.g. "y" */
  ValueRef value;
} GraphOutput;

typedef struct {
  Node *nodes;
  int num_nodes;
  GraphOutput *outputs; /* the model's named outputs, in declaration order */
  int num_outputs;
  ValueRef loss;        /* scalar f32: the total training loss (main loss + weighted aux terms) */
  /* For the teacher data source of the training executable: the MSE target input and the
   * output it is compared with; both -1 when the loss is not an MSE of an output. */
  int target_input_node, target_output_index;
  int64_t tokens;       /* the token count T the graph was built for (the `tokens` dim) */
  /* The implicit per-step dropout seed input (i32[1], named "dropout.seed"), created by the
   * front end on the first `dropout(...)`; -1 when the program has no dropout. */
  int dropout_seed_node;
  /* For accuracy: when the loss is cross_entropy(OUTPUT, INPUT) of a named output (logits) and
   * an i32 input (labels): that output index and input node; -1 otherwise. */
  int classify_output_index, classify_label_node;
  /* `names` declarations resolved (elaborate_names.c): "MAP PARAM SLICE NAME\n" lines, or NULL */
  const char *checkpoint_names;
} Graph;

#endif
