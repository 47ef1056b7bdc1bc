/* elaborate_pools.c — `pool load_balance`: the load-balancing loss as transformers computes it.
 *
 * Without it, every `aux c * load_balance(p, S)` a layer runs adds its own term,
 *     c · E · Σ_e (picks_e / (T·k)) · mean_t p[t, e]          (PERFT.md, one per layer).
 * With `pool load_balance` in the model, each such aux statement is one pool over every layer (and
 * block instance) that runs it, computed as transformers' load_balancing_loss_func computes it on
 * the router outputs of all layers concatenated — which the official PERFT code calls for the base
 * router and for the PEFT router alike:
 *     c · E · Σ_e F_e · P_e,   F_e = Σ_l picks_le / (T·L)  (sums to k),   P_e = Σ_l Σ_t p_l[t, e] / (T·L)
 * Built from graph nodes, per layer l:  f_l = expert_fraction(S_l) [E],  m_l = mean(p_l, axis 0) [E];
 * at the end, per pool:  c·E/L² · sum((Σ_l f_l) ⊙ (Σ_l m_l)).  Gradient flows through m_l only.
 *
 * While such a statement is evaluated (Elaborator.pooling), load_balance(p, S) adds its layer to the
 * pool and stands for the number 1, so the statement's value is its coefficient c.
 */
#include <string.h>

#include "elaborate.h"

struct AuxPool {
  const AstStmt *site;
  int count;              /* layers and instances pooled */
  int num_experts;
  ValueRef fractions;     /* Σ_l f_l [E] */
  ValueRef means;         /* Σ_l m_l [E] */
  double coefficient;
  int has_coefficient;
};

static int is_load_balance_call(const AstExpr *expr) {
  return expr && expr->kind == EXPR_CALL && expr->lhs && expr->lhs->kind == EXPR_NAME &&
         strcmp(expr->lhs->name, "load_balance") == 0;
}

static int calls_load_balance(const AstExpr *expr) {
  if (!expr) return 0;
  if (is_load_balance_call(expr)) return 1;
  if (calls_load_balance(expr->lhs) || calls_load_balance(expr->rhs)) return 1;
  for (int i = 0; i < expr->args.count; i++)
    if (calls_load_balance(((const AstArg *)expr->args.items[i])->value)) return 1;
  return 0;
}

/* `load_balance(p, S)` or `c * load_balance(p, S)` (either order), c free of load_balance. */
int pooled_aux_shape(const AstExpr *expr) {
  if (is_load_balance_call(expr)) return 1;
  if (expr->kind != EXPR_BINARY || expr->op != '*') return 0;
  return (is_load_balance_call(expr->rhs) && !calls_load_balance(expr->lhs)) ||
         (is_load_balance_call(expr->lhs) && !calls_load_balance(expr->rhs));
}

static ValueRef add_to(Elaborator *e, ValueRef sum, ValueRef term, int first, SourceLocation loc, TensorType type) {
  if (first) return term;
  int node = graph_add_node(e->graph, NODE_ADD, loc);
  graph_add_operand(e->graph, node, sum);
  graph_add_operand(e->graph, node, term);
  graph_add_result(e->graph, node, type);
  return (ValueRef){node, 0};
}

static int reduce_node(Elaborator *e, ValueRef x, ReduceFunction f, TensorType type, SourceLocation loc) {
  int node = graph_add_node(e->graph, NODE_REDUCE, loc);
  graph_add_operand(e->graph, node, x);
  graph_add_result(e->graph, node, type);
  graph_node(e->graph, node)->function = f;
  graph_node(e->graph, node)->axis = 0;
  return node;
}

static struct AuxPool *pool_of(Elaborator *e, const AstStmt *site) {
  for (int i = 0; i < e->num_pools; i++)
    if (e->pools[i].site == site) return &e->pools[i];
  if (e->num_pools == e->pool_capacity) {
    int capacity = e->pool_capacity ? 2 * e->pool_capacity : 4;
    struct AuxPool *pools = arena_alloc(&e->scratch, sizeof *pools * (size_t)capacity);
    if (e->num_pools) memcpy(pools, e->pools, sizeof *pools * (size_t)e->num_pools);
    e->pools = pools;
    e->pool_capacity = capacity;
  }
  struct AuxPool *pool = &e->pools[e->num_pools++];
  memset(pool, 0, sizeof *pool);
  pool->site = site;
  return pool;
}

/* p[T, E] and S[T, k] (checked by builtin_load_balance): this layer's f and m into the pool. */
Value pool_load_balance(Elaborator *e, Value p, Value indices, SourceLocation loc) {
  struct AuxPool *pool = pool_of(e, e->pooling);
  int64_t E = p.type.dims[1];
  if (pool->count && pool->num_experts != E) {
    diag_error(e->diagnostics, loc, "a pooled load_balance has %lld experts here but %d in the layers before",
               (long long)E, pool->num_experts);
    return value_error();
  }
  TensorType row = tensor_type(DTYPE_F32, 1, &E);
  int fraction = graph_add_node(e->graph, NODE_EXPERT_FRACTION, loc);
  graph_add_operand(e->graph, fraction, indices.ref);
  graph_add_result(e->graph, fraction, row);
  graph_node(e->graph, fraction)->num_experts = (int)E;
  int mean = reduce_node(e, p.ref, REDUCE_MEAN, row, loc);
  pool->fractions = add_to(e, pool->fractions, (ValueRef){fraction, 0}, pool->count == 0, loc, row);
  pool->means = add_to(e, pool->means, (ValueRef){mean, 0}, pool->count == 0, loc, row);
  pool->num_experts = (int)E;
  pool->count++;
  return value_number(1.0);
}

/* The statement's value, c: the same at every layer. */
int pool_set_coefficient(Elaborator *e, const AstStmt *site, Value coefficient) {
  if (coefficient.kind == VALUE_ERROR) return 0;
  struct AuxPool *pool = pool_of(e, site);
  if (coefficient.kind != VALUE_NUMBER) {
    diag_error(e->diagnostics, site->value->loc,
               "with pool load_balance, this aux term must be a number times load_balance(p, S)");
    return 0;
  }
  if (pool->has_coefficient && pool->coefficient != coefficient.number) {
    diag_error(e->diagnostics, site->value->loc,
               "a pooled load_balance's coefficient must be the same in every layer: %g here, %g before",
               coefficient.number, pool->coefficient);
    return 0;
  }
  pool->coefficient = coefficient.number;
  pool->has_coefficient = 1;
  return 1;
}

/* Each pool's term, c·E/L² · sum(F ⊙ P), added to the aux terms. */
void pools_finish(Elaborator *e) {
  for (int i = 0; i < e->num_pools; i++) {
    struct AuxPool *pool = &e->pools[i];
    if (!pool->count || !pool->has_coefficient) continue;
    SourceLocation loc = pool->site->loc;
    int64_t E = pool->num_experts;
    TensorType row = tensor_type(DTYPE_F32, 1, &E), scalar = tensor_type(DTYPE_F32, 0, NULL);
    int product = graph_add_node(e->graph, NODE_MUL, loc);
    graph_add_operand(e->graph, product, pool->fractions);
    graph_add_operand(e->graph, product, pool->means);
    graph_add_result(e->graph, product, row);
    int total = reduce_node(e, (ValueRef){product, 0}, REDUCE_SUM, scalar, loc);
    int scaled = graph_add_node(e->graph, NODE_SCALE, loc);
    graph_add_operand(e->graph, scaled, (ValueRef){total, 0});
    graph_add_result(e->graph, scaled, scalar);
    graph_node(e->graph, scaled)->value = pool->coefficient * (double)E / ((double)pool->count * pool->count);
    add_aux_term(e, (ValueRef){scaled, 0}, loc);
  }
}
