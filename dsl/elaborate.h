/* elaborate.h — shared by elaborate.c (declarations, statements, blocks,
 * strategies, banks) and elaborate_expr.c (expressions, builtins, route).
 *
 * Elaboration walks the model, instantiating each block, strategy, bank and
 * expert with concrete sizes, checks every shape, and appends Graph nodes.
 * A failed sub-expression yields VALUE_ERROR, which later checks accept
 * silently, so one mistake gives one message. */
#ifndef PERFT_DSL_ELABORATE_H
#define PERFT_DSL_ELABORATE_H

#include "ast.h"
#include "diagnostics.h"
#include "graph_build.h"

typedef enum {
  VALUE_ERROR,      /* already reported */
  VALUE_NUMBER,     /* a compile-time number: a size, a scale */
  VALUE_TENSOR,     /* a graph value */
  VALUE_PAIR,       /* top_k's (weights, indices): results 0 and 1 of `ref.node` */
  VALUE_BANK,       /* a bank of experts */
  VALUE_BANK_PARAM, /* inside an expert fn under a route: one expert's slice of a bank param */
} ValueKind;

typedef struct Bank Bank;

typedef struct {
  ValueKind kind;
  double number;    /* NUMBER */
  ValueRef ref;     /* TENSOR, BANK_PARAM, PAIR */
  TensorType type;  /* TENSOR; BANK_PARAM: one expert's shape (without the bank axis); PAIR: weights */
  int transposed;   /* written `x^T`: only an operand of @ accepts it */
  int num_experts;  /* i32 indices from top_k: how many experts they choose among */
  int64_t chooses_tokens; /* indices from expert_choice: [experts, C] token ids among this many tokens */
  int dispatched;   /* computed from the dispatched rows of the route at this depth (0: none; a
                       route inside a route body has depth 2) */
  Bank *bank;       /* BANK */
} Value;

typedef struct {
  const char *name;
  Value value;
  SourceLocation loc;
} Binding;

typedef struct Scope Scope;
struct Scope {
  Scope *parent;
  Binding *bindings;
  int count, capacity;
  NameTable index; /* a name -> its latest binding in `bindings` */
};

struct Bank {
  const char *name;
  const AstDecl *expert;
  int count;
  Scope *sizes;      /* the expert's size parameters, bound to numbers */
  ValueRef *params;  /* one per `param` of the expert, in order */
  TensorType *param_types; /* one expert's shape of each */
  NameTable param_index;   /* a param's name -> its statement's index in the expert's body */
  Scope *fn_scope;   /* the expert's params as VALUE_BANK_PARAMs over `sizes`, made on first use */
};

enum { MAX_ROUTE_DEPTH = 2 };
typedef struct RouteContext RouteContext;
struct RouteContext {
  ValueRef offsets; /* DISPATCH result 2 */
  int num_experts;
  int64_t rows;     /* T * k */
  int depth;        /* 1 for a route, 2 for a route in a route body, ...: Value.dispatched of its rows */
  RouteContext *outer;
};

typedef struct {
  const char *name;
  int count;
} InstanceCounter;

typedef struct {
  const AstProgram *program;
  Diagnostics *diagnostics;
  OwnedGraph *graph;
  Arena scratch;
  Scope globals;         /* the top-level dims */
  RouteContext *route;   /* the route whose body is being evaluated, or NULL */
  int application_depth; /* nesting of block applications (stops recursion) */
  ValueRef *aux_terms;
  SourceLocation *aux_locs;
  int num_aux, aux_capacity;
  /* `pool load_balance` in the model: each aux statement `c * load_balance(p, S)` is one pool over
   * every layer and instance that runs it (elaborate_pools.c) */
  int pool_load_balance;
  const AstStmt *pooling;   /* the aux statement being evaluated into a pool, or NULL */
  struct AuxPool *pools;
  int num_pools, pool_capacity;
  InstanceCounter *instances;
  int num_instances, instance_capacity;
  NameTable instance_index; /* a block instance's name -> its counter in `instances` */
  NameTable output_index;   /* the names of the graph's outputs */
  int checked_nodes;        /* nodes [0, checked_nodes) were checked against dsl_limits.h */
  int64_t steps;            /* statements run, expressions evaluated and names bound so far */
  int reported_too_much;    /* the error for passing LIMIT_GRAPH_NODES or LIMIT_ELABORATION_STEPS was given */
  int expression_depth;     /* elaborate_expr calls in progress, through block applications too */
  int reported_too_deep;    /* the error for passing LIMIT_EXPRESSION_DEPTH there was given */
  int dropout_seed;      /* the INPUT node "dropout.seed", -1 until the first dropout */
  int sizes_only;        /* evaluating a type's dims: names bound to tensors do not hide dims */
  const AstExpr *with_call;       /* the block application that `with_strategies` attach to */
  const AstList *with_strategies; /* of the assignment being evaluated, or NULL */
} Elaborator;

/* A body being executed: a block, strategy, the model or one layer of a stack. */
typedef struct {
  Scope *scope;
  const char *owner;       /* prefix of parameter and instance names ("moe", "moe.perft_r",
                              "layers.3"); NULL in the model */
  const char *output_name; /* the one name that may be assigned again; NULL in the model */
  int adapter;             /* params made here are adapter params (Node.value = 1): a strategy's */
  Scope *outer;            /* a layer of a stack: the model's scope, whose names an assignment
                              updates (carried from layer to layer); NULL elsewhere */
  /* a strategy: its site, the block instance it attaches to */
  Scope *site;             /* the block instance's scope (its params, banks, locals) */
  const char *site_block;  /* the block's name, for messages */
  int site_first_node, site_last_node; /* the nodes the block instance made, [first, last) */
  int unfreeze_all;        /* `unfreeze all` was seen (model, layer) */
} Body;

/* scopes */
Scope *scope_create(Elaborator *elaborator, Scope *parent);
const Binding *scope_lookup(const Scope *scope, const char *name);
Binding *scope_lookup_local(Scope *scope, const char *name);
void scope_bind(Elaborator *elaborator, Scope *scope, const char *name, Value value, SourceLocation loc);

/* An assignment (or a route body's local) may not hide a dim, a size parameter, a param or a bank
 * of an enclosing body: 0 after an error that says which, 1 when `name` hides none. */
int check_local_hides_nothing(Elaborator *elaborator, Scope *scope, const char *name, SourceLocation loc);

/* limits (elaborate_limits.c), after each statement: the nodes made since the last check, against
 * LIMIT_TENSOR_ELEMENTS and LIMIT_DIM (each tensor past a limit is reported once, at the node that
 * made it, not again at nodes computed from it), and the whole against LIMIT_GRAPH_NODES and
 * LIMIT_ELABORATION_STEPS. Passing either stops elaboration at once; the error names the statement
 * of the model (or layer) that was running. */
void check_after_statement(Elaborator *elaborator, SourceLocation statement);
/* 1 once elaboration should stop: too many errors, nodes or steps. */
int elaboration_stopped(const Elaborator *elaborator);

/* values */
Value value_error(void);
Value value_number(double number);
Value value_tensor(ValueRef ref, TensorType type);
TensorType tensor_type(DType dtype, int rank, const int64_t *dims);
void format_type(const TensorType *type, char *buffer, size_t size);
int same_type(const TensorType *a, const TensorType *b);
/* A positive integer size below 2^31 from `value`; reports and returns 0 otherwise. */
int value_to_dim(Elaborator *elaborator, Value value, SourceLocation loc, int64_t *dim);

/* expressions (elaborate_expr.c) */
Value elaborate_expr(Elaborator *elaborator, Body *body, const AstExpr *expr);
/* Reports and returns 0 unless `value` is a plain tensor (not a pair, not `x^T`). */
int expect_tensor(Elaborator *elaborator, Value value, SourceLocation loc, const char *what);
/* When expr is a name that is a tensor where it stands while a top-level dim has the same name:
 * 1 after an error that says the tensor hides the dim. */
int explain_shadowed_dim(Elaborator *elaborator, const AstExpr *expr, Value value);
/* What a route body can compute, for messages that refuse something there. */
#define ROUTE_BODY_ALLOWS                                                                              \
  "a route body computes each dispatched row on its own: matmuls with an expert's params (rows @ "    \
  "bank[e].P^T), bank[e](rows), the elementwise functions, softmax, log_softmax, top_k, sums along "  \
  "axis 1, dropout, rmsnorm and a nested route"

/* The two values of top_k's pair (weights, indices), each an error after a diagnostic at loc when
 * `value` is not a pair. */
void split_pair(Elaborator *elaborator, Value value, SourceLocation loc, Value *first, Value *second);

/* blocks (elaborate.c): `block(sizes)(input)` followed by `with` strategies (may be NULL) */
Value elaborate_block_application(Elaborator *elaborator, Body *body, const AstExpr *call,
                                  const AstList *strategies);
/* `expert` fn applied to `input` rows for one bank, under the current route */
Value elaborate_expert_fn(Elaborator *elaborator, Bank *bank, Value input, SourceLocation loc);
void add_aux_term(Elaborator *elaborator, ValueRef term, SourceLocation loc);
/* elaborate_pools.c: `pool load_balance` (see there) */
int pooled_aux_shape(const AstExpr *expr);
Value pool_load_balance(Elaborator *elaborator, Value p, Value indices, SourceLocation loc);
int pool_set_coefficient(Elaborator *elaborator, const AstStmt *site, Value coefficient);
void pools_finish(Elaborator *elaborator);
/* elaborate_names.c: the `names` declarations applied to the program's params (Graph.checkpoint_names). */
void elaborate_names(Elaborator *elaborator);

#endif
