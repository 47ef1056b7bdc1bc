/* elaborate.c — dsl_elaborate: from the checked syntax tree to the Graph.
 *
 * The model's statements run in order. `moe(D, E, K, F)(h) with perft_r(...)`
 * instantiates block `moe` (its params become `moe.<param>`, a second
 * instance `moe.1.<param>`), runs its body, then runs each strategy in a
 * scope nested in the block's (it reads the block's sizes, params, banks and
 * locals), its input bound to the block's input and its output starting as
 * the block's output (params `moe.perft_r.<param>`). `bank ad[N] = lora(...)` stacks N copies of
 * each expert param: [N, shape...], named `<owner>.ad.<param>`. The loss is
 * the `loss` expression plus every `aux` term.
 * Params a strategy makes (directly, in banks, in blocks it applies) are adapter params:
 * Node.value = 1 (0 for every other param). `layers l in L { ... }` in the model runs its body L
 * times with l = 0..L-1, owner "layers.<l>" (params layers.3.norm, instances layers.3.moe);
 * assigning a model name there carries it on. `with S when COND` skips S where COND is 0;
 * `unfreeze NAME|all` sets `trainable`.
 * Expressions are in elaborate_expr.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl.h"
#include "dsl_limits.h"
#include "elaborate.h"
#include "sema.h"

enum { MAX_APPLICATION_DEPTH = 16 };

/* ---- values ---- */
Value value_error(void) { return (Value){.kind = VALUE_ERROR}; }
Value value_number(double number) { return (Value){.kind = VALUE_NUMBER, .number = number}; }
Value value_tensor(ValueRef ref, TensorType type) { return (Value){.kind = VALUE_TENSOR, .ref = ref, .type = type}; }

TensorType tensor_type(DType dtype, int rank, const int64_t *dims) {
  TensorType type = {dtype, rank, {0}};
  for (int i = 0; i < rank && i < GRAPH_MAX_RANK; i++) type.dims[i] = dims[i];
  return type;
}

void format_type(const TensorType *type, char *buffer, size_t size) {
  int used = snprintf(buffer, size, "%s[", type->dtype == DTYPE_I32 ? "i32" : "f32");
  for (int i = 0; i < type->rank && used > 0 && (size_t)used < size; i++)
    used += snprintf(buffer + used, size - (size_t)used, "%s%lld", i ? "," : "", (long long)type->dims[i]);
  if (used > 0 && (size_t)used < size) snprintf(buffer + used, size - (size_t)used, "]");
}

int same_type(const TensorType *a, const TensorType *b) {
  if (a->dtype != b->dtype || a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

void split_pair(Elaborator *e, Value value, SourceLocation loc, Value *first, Value *second) {
  *first = *second = value_error();
  if (value.kind == VALUE_PAIR) {
    *first = value_tensor((ValueRef){value.ref.node, 0}, value.type);
    first->dispatched = value.dispatched;
    TensorType indices = value.type;
    indices.dtype = DTYPE_I32;
    *second = value_tensor((ValueRef){value.ref.node, 1}, indices);
    second->num_experts = value.num_experts;
    second->chooses_tokens = value.chooses_tokens;
    second->dispatched = value.dispatched;
  } else if (value.kind != VALUE_ERROR) {
    diag_error(e->diagnostics, loc, "only top_k gives two values to bind with (a, b) = ...");
  }
}

int value_to_dim(Elaborator *e, Value value, SourceLocation loc, int64_t *dim) {
  if (value.kind == VALUE_ERROR) return 0;
  if (value.kind != VALUE_NUMBER) {
    diag_error(e->diagnostics, loc, "a size must be a compile-time integer, not a tensor");
    return 0;
  }
  double number = value.number;
  if (!(number >= 1 && number <= (double)LIMIT_DIM) || floor(number) != number) {
    diag_error(e->diagnostics, loc, "a size must be a positive integer below 2^31, but this is %g", number);
    return 0;
  }
  *dim = (int64_t)number;
  return 1;
}

/* ---- scopes ---- */
Scope *scope_create(Elaborator *e, Scope *parent) {
  Scope *scope = arena_alloc(&e->scratch, sizeof *scope);
  scope->parent = parent;
  return scope;
}

Binding *scope_lookup_local(Scope *scope, const char *name) {
  int index = name_table_find(&scope->index, name);
  return index < 0 ? NULL : &scope->bindings[index];
}

const Binding *scope_lookup(const Scope *scope, const char *name) {
  for (; scope; scope = scope->parent) {
    const Binding *binding = scope_lookup_local((Scope *)scope, name);
    if (binding) return binding;
  }
  return NULL;
}

void scope_bind(Elaborator *e, Scope *scope, const char *name, Value value, SourceLocation loc) {
  if (scope->count == scope->capacity) {
    int capacity = scope->capacity ? scope->capacity * 2 : 8;
    Binding *bindings = arena_alloc(&e->scratch, sizeof(Binding) * (size_t)capacity);
    if (scope->count) memcpy(bindings, scope->bindings, sizeof(Binding) * (size_t)scope->count);
    scope->bindings = bindings;
    scope->capacity = capacity;
  }
  name_table_put(&scope->index, &e->scratch, name, scope->count);
  scope->bindings[scope->count++] = (Binding){name, value, loc};
  e->steps++;
}

/* Binds a statement's name in the body, refusing a second definition
 * (except of the body's output, which a strategy assigns again). */
static void define(Elaborator *e, Body *body, const char *name, Value value, SourceLocation loc) {
  Binding *existing = scope_lookup_local(body->scope, name);
  if (existing) {
    if (body->output_name && strcmp(body->output_name, name) == 0) {
      existing->value = value;
      existing->loc = loc;
      return;
    }
    diag_error(e->diagnostics, loc, "'%s' is already defined (at line %d)", name, existing->loc.line);
    return;
  }
  /* In a layer of a stack, assigning a name of the model carries the new value on. */
  Binding *carried = body->outer ? scope_lookup_local(body->outer, name) : NULL;
  if (carried && carried->value.kind != VALUE_BANK) {
    carried->value = value;
    return;
  }
  scope_bind(e, body->scope, name, value, loc);
}

int check_local_hides_nothing(Elaborator *e, Scope *scope, const char *name, SourceLocation loc) {
  if (scope_lookup_local(scope, name) || !scope->parent) return 1; /* a second definition: define says so */
  const Binding *hidden = scope_lookup(scope->parent, name);
  if (!hidden) return 1;
  const char *what = NULL;
  if (scope_lookup_local(&e->globals, name) == hidden)
    what = "the dim";
  else if (hidden->value.kind == VALUE_NUMBER)
    what = "a size parameter (or layer variable)";
  else if (hidden->value.kind == VALUE_BANK)
    what = "a bank";
  else if (hidden->value.kind == VALUE_TENSOR && graph_node(e->graph, hidden->value.ref.node)->kind == NODE_PARAM)
    what = "a param";
  if (!what) return 1;
  char where[300]; /* "line 9", or "moe.perft:20" for a name declared in another file */
  if (hidden->loc.file && loc.file && strcmp(hidden->loc.file, loc.file) != 0)
    snprintf(where, sizeof where, "%s:%d", hidden->loc.file, hidden->loc.line);
  else
    snprintf(where, sizeof where, "line %d", hidden->loc.line);
  diag_error(e->diagnostics, loc, "'%s' is %s declared at %s; a local name cannot hide it (rename the local)", name,
             what, where);
  return 0;
}

/* define() for an assignment: a name that hides a dim, size parameter, param or bank is refused
 * (and bound to an error here, so that its uses are not reported again). */
static void define_local(Elaborator *e, Body *body, const char *name, Value value, SourceLocation loc) {
  if (check_local_hides_nothing(e, body->scope, name, loc))
    define(e, body, name, value, loc);
  else
    scope_bind(e, body->scope, name, value_error(), loc);
}

static const char *qualified(Elaborator *e, const char *owner, const char *name) {
  if (!owner) return arena_strdup(&e->scratch, name);
  size_t length = strlen(owner) + strlen(name) + 2;
  char *text = arena_alloc(&e->scratch, length);
  snprintf(text, length, "%s.%s", owner, name);
  return text;
}

/* ---- sizes ---- */

/* Evaluates `args` in `caller` and binds them to `params` in `target`:
 * positional ones first, then `name: value`. Every parameter needs a value. */
static int bind_size_args(Elaborator *e, Body *caller, const AstList *params, const AstList *args, const char *what,
                          const char *callee_name, SourceLocation call_loc, Scope *target) {
  int ok = 1;
  Value *values = arena_alloc(&e->scratch, sizeof(Value) * (size_t)(params->count + 1));
  int *given = arena_alloc(&e->scratch, sizeof(int) * (size_t)(params->count + 1));
  int seen_named = 0;
  NameTable param_index = {0};
  for (int j = 0; j < params->count; j++)
    name_table_put(&param_index, &e->scratch, ((const AstIdent *)params->items[j])->name, j);
  for (int i = 0; i < args->count; i++) {
    const AstArg *arg = args->items[i];
    int slot = -1;
    if (!arg->name) {
      if (seen_named) {
        diag_error(e->diagnostics, arg->loc, "a positional argument cannot follow a named one");
        ok = 0;
        continue;
      }
      if (i >= params->count) {
        diag_error(e->diagnostics, arg->loc, "%s '%s' takes %d size argument%s, but %d are given", what, callee_name,
                   params->count, params->count == 1 ? "" : "s", args->count);
        ok = 0;
        break;
      }
      slot = i;
    } else {
      seen_named = 1;
      slot = name_table_find(&param_index, arg->name);
      if (slot < 0) {
        diag_error(e->diagnostics, arg->loc, "%s '%s' has no size parameter '%s'", what, callee_name, arg->name);
        ok = 0;
        continue;
      }
      if (given[slot]) {
        diag_error(e->diagnostics, arg->loc, "size parameter '%s' is given twice", arg->name);
        ok = 0;
        continue;
      }
    }
    Value value = elaborate_expr(e, caller, arg->value);
    if (value.kind != VALUE_NUMBER) {
      if (value.kind != VALUE_ERROR && !explain_shadowed_dim(e, arg->value, value))
        diag_error(e->diagnostics, arg->value->loc, "a size argument must be a compile-time number");
      ok = 0;
      value = value_error();
    }
    values[slot] = value;
    given[slot] = 1;
  }
  for (int j = 0; j < params->count; j++) {
    const AstIdent *param = params->items[j];
    if (!given[j] && ok) {
      diag_error(e->diagnostics, call_loc, "%s '%s' needs a value for its size parameter '%s'", what, callee_name,
                 param->name);
      ok = 0;
    }
    scope_bind(e, target, param->name, given[j] ? values[j] : value_error(), param->loc);
  }
  return ok;
}

/* Evaluates `type`'s dims; checks the dtype (f32, or i32 where `dtype` is not NULL: inputs) and
 * that the rank fits with `extra` leading axes. */
static int elaborate_type(Elaborator *e, Body *body, const AstType *type, int extra, int64_t *dims, int *rank,
                          DType *dtype) {
  int ok = 1;
  if (dtype) *dtype = DTYPE_F32;
  if (strcmp(type->dtype, "i32") == 0 && dtype) {
    *dtype = DTYPE_I32;
  } else if (strcmp(type->dtype, "i32") == 0) {
    diag_error(e->diagnostics, type->loc, "a param must be f32; only an input can be i32 (token ids, labels)");
    ok = 0;
  } else if (strcmp(type->dtype, "f32") != 0) {
    diag_error(e->diagnostics, type->loc, "unknown element type '%s' (f32, or i32 for an input)", type->dtype);
    ok = 0;
  }
  if (type->dims.count + extra > GRAPH_MAX_RANK) {
    diag_error(e->diagnostics, type->loc, "a tensor has at most %d axes%s", GRAPH_MAX_RANK,
               extra ? " (a bank adds one)" : "");
    return 0;
  }
  for (int i = 0; i < type->dims.count; i++) {
    const AstExpr *dim = type->dims.items[i];
    e->sizes_only++;
    Value size = elaborate_expr(e, body, dim);
    e->sizes_only--;
    if (!value_to_dim(e, size, dim->loc, &dims[extra + i])) ok = 0;
  }
  *rank = type->dims.count + extra;
  return ok;
}

/* copy(P), copy(P[a:b, :, ...]) or copy(P, start, stop) (rows [start, stop) of the leading axis): P
 * a param declared before (the block's too, in a strategy); each axis a range start:stop or ':'
 * (whole), axes not written are whole. The shape is checked by add_param. */
static int elaborate_copy_init(Elaborator *e, Body *body, const AstStmt *stmt, Initializer *init) {
  int count = stmt->init_args.count;
  const AstArg *source = count ? stmt->init_args.items[0] : NULL;
  const AstExpr *slice = source && source->value->kind == EXPR_SLICE ? source->value : NULL;
  const AstExpr *named = slice ? slice->lhs : source ? source->value : NULL;
  if ((count != 1 && count != 3) || (slice && count != 1) || source->name || named->kind != EXPR_NAME) {
    diag_error(e->diagnostics, stmt->init_loc,
               "copy takes a param, copy(P), a slice of it, copy(P[a:b, :]), or a range of its rows, copy(P, a, b)");
    return 0;
  }
  const Binding *binding = scope_lookup(body->scope, named->name);
  const Node *node = binding && binding->value.kind == VALUE_TENSOR ? graph_node(e->graph, binding->value.ref.node) : NULL;
  if (!node || node->kind != NODE_PARAM) {
    diag_error(e->diagnostics, named->loc, "'%s' is not a param declared before this one", named->name);
    return 0;
  }
  const TensorType *from = &node->results[0];
  *init = (Initializer){.kind = INIT_COPY, .source = binding->value.ref.node};
  for (int d = 0; d < from->rank; d++) init->starts[d] = 0, init->stops[d] = from->dims[d];
  int axes = slice ? slice->args.count : count == 3 ? 1 : 0;
  if (axes > from->rank) {
    diag_error(e->diagnostics, named->loc, "'%s' has %d axes, the slice %d", named->name, from->rank, axes);
    return 0;
  }
  for (int d = 0; d < axes; d++) {
    const AstExpr *lo = slice ? ((const AstExpr *)((const AstArg *)slice->args.items[d])->value)->lhs
                              : ((const AstArg *)stmt->init_args.items[1])->value;
    const AstExpr *hi = slice ? ((const AstExpr *)((const AstArg *)slice->args.items[d])->value)->rhs
                              : ((const AstArg *)stmt->init_args.items[2])->value;
    if (!lo) continue; /* ':' — the whole axis */
    const AstExpr *ends[2] = {lo, hi};
    int64_t bounds[2];
    for (int i = 0; i < 2; i++) {
      Value value = elaborate_expr(e, body, ends[i]);
      if (value.kind != VALUE_NUMBER || value.number != floor(value.number)) {
        if (value.kind != VALUE_ERROR) diag_error(e->diagnostics, ends[i]->loc, "the bounds of copy are compile-time integers");
        return 0;
      }
      bounds[i] = (int64_t)value.number;
    }
    if (bounds[0] < 0 || bounds[1] > from->dims[d] || bounds[0] >= bounds[1]) {
      diag_error(e->diagnostics, stmt->init_loc, "copy takes %lld to %lld along axis %d of '%s', which has %lld",
                 (long long)bounds[0], (long long)bounds[1], d, named->name, (long long)from->dims[d]);
      return 0;
    }
    init->starts[d] = bounds[0], init->stops[d] = bounds[1];
  }
  return 1;
}

static int elaborate_init(Elaborator *e, Body *body, const AstStmt *stmt, Initializer *init) {
  *init = (Initializer){.kind = INIT_ZEROS};
  if (!stmt->init_name) return 1;
  const char *name = stmt->init_name;
  if (strcmp(name, "copy") == 0) return elaborate_copy_init(e, body, stmt, init);
  int expected = strcmp(name, "normal") == 0  ? 2
                 : strcmp(name, "const") == 0 ? 1
                 : (strcmp(name, "zeros") == 0 || strcmp(name, "ones") == 0 || strcmp(name, "eye") == 0) ? 0
                                                                                                          : -1;
  if (expected < 0) {
    diag_error(e->diagnostics, stmt->init_loc,
               "unknown initializer '%s' (normal(mean, std), zeros(), ones(), const(value), eye() or copy(P))", name);
    return 0;
  }
  if (stmt->init_args.count != expected) {
    diag_error(e->diagnostics, stmt->init_loc, "'%s' takes %d argument%s, but %d %s given", name, expected,
               expected == 1 ? "" : "s", stmt->init_args.count, stmt->init_args.count == 1 ? "is" : "are");
    return 0;
  }
  if (expected == 0) {
    init->kind = name[0] == 'z' ? INIT_ZEROS : name[0] == 'e' ? INIT_EYE : INIT_ONES;
    return 1;
  }
  double numbers[2];
  for (int i = 0; i < expected; i++) {
    const AstArg *arg = stmt->init_args.items[i];
    Value value = elaborate_expr(e, body, arg->value);
    if (value.kind == VALUE_ERROR) return 0;
    if (value.kind != VALUE_NUMBER || arg->name) {
      diag_error(e->diagnostics, arg->loc, "%s takes compile-time numbers", expected == 2 ? "normal(mean, std)" : "const(value)");
      return 0;
    }
    numbers[i] = value.number;
  }
  if (expected == 1) {
    if (!isfinite(numbers[0])) {
      diag_error(e->diagnostics, stmt->init_loc, "const needs a finite value");
      return 0;
    }
    *init = (Initializer){.kind = INIT_CONST, .mean = numbers[0]};
    return 1;
  }
  if (!(numbers[1] >= 0) || !isfinite(numbers[0]) || !isfinite(numbers[1])) {
    diag_error(e->diagnostics, stmt->init_loc, "normal needs a finite mean and a finite std >= 0");
    return 0;
  }
  *init = (Initializer){.kind = INIT_NORMAL, .mean = numbers[0], .std = numbers[1]};
  return 1;
}

/* A PARAM node `name` of `rank`/`dims` from a `param` statement. */
static int add_param(Elaborator *e, Body *body, const AstStmt *stmt, const char *name, int extra, int64_t first_dim,
                     TensorType *type_out) {
  int64_t dims[GRAPH_MAX_RANK] = {first_dim};
  int rank = 0;
  Initializer init;
  int ok_type = elaborate_type(e, body, &stmt->type, extra, dims, &rank, NULL);
  int ok_init = elaborate_init(e, body, stmt, &init);
  if (!ok_type || !ok_init) return -1;
  if (init.kind == INIT_EYE && rank < 2) {
    diag_error(e->diagnostics, stmt->init_loc,
               "eye() initialises a matrix (ones where the last two indices are equal); '%s' has rank %d", name, rank);
    return -1;
  }
  if (init.kind == INIT_COPY) { /* the copied slice must have this param's shape */
    TensorType rows = graph_node(e->graph, init.source)->results[0];
    for (int d = 0; d < rows.rank; d++) rows.dims[d] = init.stops[d] - init.starts[d];
    TensorType mine = tensor_type(DTYPE_F32, rank, dims);
    if (!same_type(&rows, &mine)) {
      char want[96], have[96];
      format_type(&mine, want, sizeof want);
      format_type(&rows, have, sizeof have);
      diag_error(e->diagnostics, stmt->init_loc, "copy gives %s, but '%s' is %s", have, name, want);
      return -1;
    }
  }
  int node = graph_add_node(e->graph, NODE_PARAM, stmt->loc);
  TensorType type = tensor_type(DTYPE_F32, rank, dims);
  graph_add_result(e->graph, node, type);
  Node *param = graph_node(e->graph, node);
  param->name = graph_string(e->graph, name);
  param->trainable = stmt->trainable == 1;
  param->constant = stmt->trainable == 2;
  param->init = init;
  param->value = body->adapter ? 1.0 : 0.0; /* adapter params: made by a strategy */
  if (type_out) *type_out = type;
  return node;
}

/* ---- banks and experts ---- */
static void elaborate_bank(Elaborator *e, Body *body, const AstStmt *stmt) {
  int64_t count = 0;
  int ok = value_to_dim(e, elaborate_expr(e, body, stmt->value), stmt->value->loc, &count);
  const AstDecl *expert = sema_find_decl(e->program, stmt->expert_name);
  Bank *bank = arena_alloc(&e->scratch, sizeof *bank);
  bank->name = stmt->name;
  bank->expert = expert;
  bank->count = (int)count;
  bank->sizes = scope_create(e, &e->globals);
  if (!bind_size_args(e, body, &expert->size_params, &stmt->expert_args, "expert", expert->name, stmt->expert_loc,
                      bank->sizes))
    ok = 0;
  int num_params = expert->body.count;
  bank->params = arena_alloc(&e->scratch, sizeof(ValueRef) * (size_t)(num_params + 1));
  bank->param_types = arena_alloc(&e->scratch, sizeof(TensorType) * (size_t)(num_params + 1));
  Body expert_body = {.scope = bank->sizes, .owner = NULL, .output_name = NULL};
  expert_body.adapter = body->adapter;
  const char *bank_owner = qualified(e, body->owner, stmt->name);
  for (int i = 0; ok && i < expert->body.count; i++) {
    const AstStmt *param = expert->body.items[i];
    if (param->kind != STMT_PARAM) continue;
    int earlier = name_table_find(&bank->param_index, param->name);
    if (earlier >= 0) {
      diag_error(e->diagnostics, param->name_loc, "'%s' is already defined (at line %d)", param->name,
                 ((const AstStmt *)expert->body.items[earlier])->loc.line);
      ok = 0;
    } else {
      name_table_put(&bank->param_index, &e->scratch, param->name, i);
    }
    TensorType type;
    int node = add_param(e, &expert_body, param, qualified(e, bank_owner, param->name), 1, count, &type);
    if (node < 0) {
      ok = 0;
      continue;
    }
    graph_node(e->graph, node)->bank_name_length = (int)strlen(bank_owner);
    bank->params[i] = (ValueRef){node, 0};
    bank->param_types[i] = tensor_type(DTYPE_F32, type.rank - 1, type.dims + 1);
  }
  Value value = {.kind = ok ? VALUE_BANK : VALUE_ERROR, .bank = bank};
  define(e, body, stmt->name, value, stmt->name_loc);
}

/* The expert's params, each one expert's slice of the bank's: made once per bank, not per use. */
static Scope *expert_param_scope(Elaborator *e, Bank *bank) {
  if (bank->fn_scope) return bank->fn_scope;
  bank->fn_scope = scope_create(e, bank->sizes);
  for (int i = 0; i < bank->expert->body.count; i++) {
    const AstStmt *stmt = bank->expert->body.items[i];
    if (stmt->kind != STMT_PARAM) continue;
    Value param = {.kind = VALUE_BANK_PARAM, .ref = bank->params[i], .type = bank->param_types[i]};
    scope_bind(e, bank->fn_scope, stmt->name, param, stmt->name_loc);
  }
  return bank->fn_scope;
}

Value elaborate_expert_fn(Elaborator *e, Bank *bank, Value input, SourceLocation loc) {
  const AstDecl *expert = bank->expert;
  const AstStmt *fn = NULL;
  for (int i = 0; i < expert->body.count; i++)
    if (((const AstStmt *)expert->body.items[i])->kind == STMT_FN) fn = expert->body.items[i];
  if (!fn) return value_error();
  Scope *scope = scope_create(e, expert_param_scope(e, bank));
  scope_bind(e, scope, fn->name, input, fn->name_loc);
  Body body = {.scope = scope, .owner = NULL, .output_name = NULL};
  Value result = elaborate_expr(e, &body, fn->value);
  if (result.kind == VALUE_ERROR) return result;
  if (!expect_tensor(e, result, fn->value->loc, "the result of an expert")) return value_error();
  if (!result.dispatched) {
    diag_error(e->diagnostics, fn->value->loc, "the result of expert '%s' must be computed from its input rows",
               expert->name);
    return value_error();
  }
  (void)loc;
  return result;
}

/* ---- statements ---- */
static void elaborate_statements(Elaborator *e, Body *body, const AstList *statements);

/* The block applications `b(sizes)(x)` in `expr` (not inside route bodies): how many, the last. */
static int find_block_applications(const AstExpr *expr, const AstExpr **found) {
  if (!expr) return 0;
  int count = 0;
  if (expr->kind == EXPR_CALL && expr->lhs->kind == EXPR_CALL) {
    *found = expr;
    count++;
  }
  if (expr->kind == EXPR_ROUTE) return 0;
  if (expr->kind == EXPR_CALL || expr->kind == EXPR_BINARY || expr->kind == EXPR_NEGATE ||
      expr->kind == EXPR_TRANSPOSE || expr->kind == EXPR_COMPARE || expr->kind == EXPR_INDEX ||
      expr->kind == EXPR_MEMBER) {
    count += find_block_applications(expr->lhs, found);
    count += find_block_applications(expr->rhs, found);
  }
  for (int i = 0; expr->kind == EXPR_CALL && i < expr->args.count; i++)
    count += find_block_applications(((const AstArg *)expr->args.items[i])->value, found);
  return count;
}

static void unfreeze_nodes(Elaborator *e, int first, int last) {
  for (int i = first; i < last; i++)
    if (e->graph->graph.nodes[i].kind == NODE_PARAM && !e->graph->graph.nodes[i].constant)
      e->graph->graph.nodes[i].trainable = 1;
}

/* unfreeze NAME: a param or bank of the strategy's site (in a strategy) or of the model or layer;
 * unfreeze all: every param of the site (strategy), of the layer (stack) or of the program (model). */
/* blocks NAME[COUNT] along AXIS: a param of this body made of COUNT equal blocks along AXIS, which
 * checkpoints store one by one (names maps see NAME.0 ... NAME.{COUNT-1}). */
static void elaborate_blocks(Elaborator *e, Body *body, const AstStmt *stmt) {
  const Binding *binding = scope_lookup_local(body->scope, stmt->name);
  int64_t count = 0;
  if (!value_to_dim(e, elaborate_expr(e, body, stmt->value), stmt->value->loc, &count)) return;
  if (!binding || binding->value.kind != VALUE_TENSOR || graph_node(e->graph, binding->value.ref.node)->kind != NODE_PARAM) {
    diag_error(e->diagnostics, stmt->name_loc, "blocks names a param of this body; '%s' is not one", stmt->name);
    return;
  }
  Node *param = graph_node(e->graph, binding->value.ref.node);
  int axis = stmt->trainable;
  if (axis >= param->results[0].rank || param->results[0].dims[axis] % count != 0) {
    char type[96];
    format_type(&param->results[0], type, sizeof type);
    diag_error(e->diagnostics, stmt->loc, "'%s' (%s) has no axis %d of a multiple of %lld to split into blocks",
               stmt->name, type, axis, (long long)count);
    return;
  }
  param->blocks = (int)count;
  param->block_axis = axis;
}

static void elaborate_unfreeze(Elaborator *e, Body *body, const AstStmt *stmt) {
  if (strcmp(stmt->name, "all") == 0) {
    if (body->site) unfreeze_nodes(e, body->site_first_node, body->site_last_node);
    else body->unfreeze_all = 1;
    return;
  }
  Scope *scope = body->site ? body->site : body->scope;
  const Binding *binding = scope_lookup_local(scope, stmt->name);
  if (!binding && body->outer) binding = scope_lookup_local(body->outer, stmt->name);
  const char *where = body->site ? "of block" : "here";
  if (!binding) {
    if (body->site)
      diag_error(e->diagnostics, stmt->name_loc, "block '%s' has no param or bank '%s' to unfreeze", body->site_block,
                 stmt->name);
    else
      diag_error(e->diagnostics, stmt->name_loc, "no param or bank '%s' to unfreeze %s", stmt->name, where);
    return;
  }
  Value value = binding->value;
  if (value.kind == VALUE_ERROR) return;
  if (value.kind == VALUE_BANK) {
    const Bank *bank = value.bank;
    for (int i = 0; i < bank->expert->body.count; i++)
      if (((const AstStmt *)bank->expert->body.items[i])->kind == STMT_PARAM &&
          !graph_node(e->graph, bank->params[i].node)->constant)
        graph_node(e->graph, bank->params[i].node)->trainable = 1;
    return;
  }
  if (value.kind != VALUE_TENSOR || graph_node(e->graph, value.ref.node)->kind != NODE_PARAM) {
    diag_error(e->diagnostics, stmt->name_loc, "'%s' is not a param or bank; only those can be unfrozen", stmt->name);
    return;
  }
  if (graph_node(e->graph, value.ref.node)->constant) {
    diag_error(e->diagnostics, stmt->name_loc, "'%s' is a constant (const); it cannot be unfrozen", stmt->name);
    return;
  }
  graph_node(e->graph, value.ref.node)->trainable = 1;
}

/* NAME VAR in COUNT { statements }: the statements COUNT times, VAR = 0, 1, ...; params and block
 * instances of layer i are named NAME.i.<...>; assigning a model name carries it to the next layer. */
static void elaborate_stack(Elaborator *e, Body *body, const AstStmt *stmt) {
  int64_t count = 0;
  if (body->outer || body->owner) {
    diag_error(e->diagnostics, stmt->loc, "a layer stack is allowed only in the model");
    return;
  }
  if (!value_to_dim(e, elaborate_expr(e, body, stmt->value), stmt->value->loc, &count)) return;
  if (count > LIMIT_LAYERS) {
    diag_error(e->diagnostics, stmt->value->loc, "a layer stack has at most %d layers, but this is %lld", LIMIT_LAYERS,
               (long long)count);
    return;
  }
  for (int64_t layer = 0; layer < count && !elaboration_stopped(e); layer++) {
    int errors = e->diagnostics->error_count;
    int first = e->graph->graph.num_nodes;
    size_t length = strlen(stmt->name) + 24;
    char *owner = arena_alloc(&e->scratch, length);
    snprintf(owner, length, "%s.%lld", stmt->name, (long long)layer);
    Body layer_body = {.scope = scope_create(e, body->scope), .owner = owner, .output_name = NULL};
    layer_body.outer = body->scope;
    scope_bind(e, layer_body.scope, stmt->second_name, value_number((double)layer), stmt->second_loc);
    elaborate_statements(e, &layer_body, &stmt->body);
    if (layer_body.unfreeze_all) unfreeze_nodes(e, first, e->graph->graph.num_nodes);
    if (e->diagnostics->error_count > errors) break; /* one report, not one per layer */
  }
}

/* One more term of the total loss (the model's loss + every aux term). */
void add_aux_term(Elaborator *e, ValueRef term, SourceLocation loc) {
  if (e->num_aux == e->aux_capacity) {
    int capacity = e->aux_capacity ? e->aux_capacity * 2 : 8;
    ValueRef *terms = arena_alloc(&e->scratch, sizeof(ValueRef) * (size_t)capacity);
    SourceLocation *locs = arena_alloc(&e->scratch, sizeof(SourceLocation) * (size_t)capacity);
    if (e->num_aux) {
      memcpy(terms, e->aux_terms, sizeof(ValueRef) * (size_t)e->num_aux);
      memcpy(locs, e->aux_locs, sizeof(SourceLocation) * (size_t)e->num_aux);
    }
    e->aux_terms = terms;
    e->aux_locs = locs;
    e->aux_capacity = capacity;
  }
  e->aux_terms[e->num_aux] = term;
  e->aux_locs[e->num_aux++] = loc;
}

static void elaborate_statement(Elaborator *e, Body *body, const AstStmt *stmt) {
  switch (stmt->kind) {
  case STMT_PARAM: {
    int node = add_param(e, body, stmt, qualified(e, body->owner, stmt->name), 0, 0, NULL);
    Value value = node < 0 ? value_error() : value_tensor((ValueRef){node, 0}, graph_node(e->graph, node)->results[0]);
    define(e, body, stmt->name, value, stmt->name_loc);
    return;
  }
  case STMT_BANK: elaborate_bank(e, body, stmt); return;
  case STMT_ASSIGN: {
    Value value;
    if (stmt->strategies.count > 0) {
      /* `with` attaches to the one block application in the expression: x = x + moe(...)(h) with s */
      const AstExpr *site = NULL;
      int sites = find_block_applications(stmt->value, &site);
      if (sites == 0) {
        diag_error(e->diagnostics, stmt->value->loc, "'with' follows a block application: block(sizes)(input) with ...");
        value = value_error();
      } else if (sites > 1) {
        diag_error(e->diagnostics, stmt->value->loc,
                   "'with' needs exactly one block application in the expression, but it has %d", sites);
        value = value_error();
      } else {
        e->with_call = site;
        e->with_strategies = &stmt->strategies;
        value = elaborate_expr(e, body, stmt->value);
        e->with_call = NULL;
        e->with_strategies = NULL;
      }
    } else {
      value = elaborate_expr(e, body, stmt->value);
    }
    if (value.kind == VALUE_PAIR) {
      diag_error(e->diagnostics, stmt->value->loc, "top_k gives two values; bind them with (%s, indices) = ...", stmt->name);
      value = value_error();
    } else if (value.kind == VALUE_TENSOR && value.transposed) {
      diag_error(e->diagnostics, stmt->value->loc, "'^T' is allowed only on an operand of '@'");
      value = value_error();
    }
    define_local(e, body, stmt->name, value, stmt->name_loc);
    return;
  }
  case STMT_PAIR_ASSIGN: {
    Value first, second;
    split_pair(e, elaborate_expr(e, body, stmt->value), stmt->value->loc, &first, &second);
    define_local(e, body, stmt->name, first, stmt->name_loc);
    if (strcmp(stmt->name, stmt->second_name) == 0)
      diag_error(e->diagnostics, stmt->second_loc, "'%s' is bound twice", stmt->second_name);
    else
      define_local(e, body, stmt->second_name, second, stmt->second_loc);
    return;
  }
  case STMT_AUX: {
    if (e->pool_load_balance && pooled_aux_shape(stmt->value)) { /* c * load_balance(p, S): into its pool */
      e->pooling = stmt;
      Value coefficient = elaborate_expr(e, body, stmt->value);
      e->pooling = NULL;
      pool_set_coefficient(e, stmt, coefficient);
      return;
    }
    Value value = elaborate_expr(e, body, stmt->value);
    if (value.kind == VALUE_ERROR) return;
    if (value.kind != VALUE_TENSOR || value.transposed || value.type.rank != 0 || value.type.dtype != DTYPE_F32) {
      diag_error(e->diagnostics, stmt->value->loc, "aux adds a scalar loss term, such as 0.01 * load_balance(p, indices)");
      return;
    }
    add_aux_term(e, value.ref, stmt->loc);
    return;
  }
  case STMT_INPUT: {
    int64_t dims[GRAPH_MAX_RANK] = {0};
    int rank = 0;
    DType dtype = DTYPE_F32;
    Value value = value_error();
    if (elaborate_type(e, body, &stmt->type, 0, dims, &rank, &dtype)) {
      int node = graph_add_node(e->graph, NODE_INPUT, stmt->loc);
      graph_add_result(e->graph, node, tensor_type(dtype, rank, dims));
      graph_node(e->graph, node)->name = graph_string(e->graph, stmt->name);
      value = value_tensor((ValueRef){node, 0}, tensor_type(dtype, rank, dims));
    }
    define(e, body, stmt->name, value, stmt->name_loc);
    return;
  }
  case STMT_OUTPUT: {
    const Binding *binding = scope_lookup(body->scope, stmt->name);
    if (!binding) {
      diag_error(e->diagnostics, stmt->name_loc, "undefined name '%s'", stmt->name);
      return;
    }
    if (name_table_find(&e->output_index, stmt->name) >= 0) {
      diag_error(e->diagnostics, stmt->name_loc, "'%s' is already an output", stmt->name);
      return;
    }
    if (expect_tensor(e, binding->value, stmt->name_loc, "an output")) {
      name_table_put(&e->output_index, &e->scratch, stmt->name, e->graph->graph.num_outputs);
      graph_add_output(e->graph, stmt->name, binding->value.ref);
    }
    return;
  }
  case STMT_UNFREEZE: elaborate_unfreeze(e, body, stmt); return;
  case STMT_STACK: elaborate_stack(e, body, stmt); return;
  case STMT_POOL: /* read by elaborate_model */
    return;
  case STMT_BLOCKS: elaborate_blocks(e, body, stmt); return;
  case STMT_LOSS: /* handled by elaborate_model */
  case STMT_FN:   /* only in experts, see elaborate_expert_fn */
    return;
  }
}

/* The statements in order, each followed by the checks of dsl_limits.h on the nodes it made. */
static void elaborate_statements(Elaborator *e, Body *body, const AstList *statements) {
  for (int i = 0; i < statements->count && !elaboration_stopped(e); i++) {
    const AstStmt *stmt = statements->items[i];
    e->steps++;
    elaborate_statement(e, body, stmt);
    check_after_statement(e, stmt->loc);
  }
}

/* ---- blocks and strategies ---- */
static const char *instance_name(Elaborator *e, const char *block) {
  int i = name_table_find(&e->instance_index, block);
  if (i >= 0) {
    int number = e->instances[i].count++;
    size_t length = strlen(block) + 24;
    char *text = arena_alloc(&e->scratch, length);
    snprintf(text, length, "%s.%d", block, number);
    return text;
  }
  if (e->num_instances == e->instance_capacity) {
    int capacity = e->instance_capacity ? e->instance_capacity * 2 : 8;
    InstanceCounter *counters = arena_alloc(&e->scratch, sizeof *counters * (size_t)capacity);
    if (e->num_instances) memcpy(counters, e->instances, sizeof *counters * (size_t)e->num_instances);
    e->instances = counters;
    e->instance_capacity = capacity;
  }
  name_table_put(&e->instance_index, &e->scratch, block, e->num_instances);
  e->instances[e->num_instances++] = (InstanceCounter){block, 1};
  return block;
}

static Value apply_strategy(Elaborator *e, Body *caller, const AstStrategyUse *use, const AstDecl *block,
                            Scope *block_scope, const char *instance, Value input, Value output, int first_node,
                            int last_node) {
  if (use->when) {
    Value condition = elaborate_expr(e, caller, use->when);
    if (condition.kind == VALUE_ERROR) return value_error();
    if (condition.kind != VALUE_NUMBER) {
      diag_error(e->diagnostics, use->when->loc,
                 "the condition of 'when' must be a compile-time number, such as l >= 2 (l a layer variable)");
      return value_error();
    }
    if (condition.number == 0) return output; /* not at this site */
  }
  const AstDecl *strategy = sema_find_decl(e->program, use->name);
  if (!strategy || strategy->kind != DECL_STRATEGY) {
    diag_error(e->diagnostics, use->loc, strategy ? "'%s' is not a strategy" : "undefined strategy '%s'", use->name);
    return value_error();
  }
  if (strcmp(strategy->at_block.name, block->name) != 0) {
    diag_error(e->diagnostics, use->loc, "strategy '%s' attaches to block '%s', not to '%s'", strategy->name,
               strategy->at_block.name, block->name);
    return value_error();
  }
  /* The strategy reads everything the block defined: its sizes, params, banks and locals. */
  Scope *scope = scope_create(e, block_scope);
  if (!bind_size_args(e, caller, &strategy->size_params, &use->args, "strategy", strategy->name, use->loc, scope))
    return value_error();
  scope_bind(e, scope, strategy->input.name, input, strategy->input.loc);
  scope_bind(e, scope, strategy->output.name, output, strategy->output.loc);
  Body body = {.scope = scope, .owner = qualified(e, instance, strategy->name), .output_name = strategy->output.name};
  body.adapter = 1;
  body.site = block_scope;
  body.site_block = block->name;
  body.site_first_node = first_node;
  body.site_last_node = last_node;
  elaborate_statements(e, &body, &strategy->body);
  return scope_lookup_local(scope, strategy->output.name)->value;
}

Value elaborate_block_application(Elaborator *e, Body *caller, const AstExpr *call, const AstList *strategies) {
  const AstExpr *sizes = call->lhs;
  if (sizes->lhs->kind != EXPR_NAME) {
    diag_error(e->diagnostics, call->loc, "this cannot be called");
    return value_error();
  }
  const char *block_name = sizes->lhs->name;
  const AstDecl *block = sema_find_decl(e->program, block_name);
  if (!block || block->kind != DECL_BLOCK || scope_lookup(caller->scope, block_name)) {
    diag_error(e->diagnostics, sizes->lhs->loc, "'%s' is not a block; only a block is applied as name(sizes)(input)",
               block_name);
    return value_error();
  }
  if (e->route) {
    diag_error(e->diagnostics, call->loc, "a block cannot be applied inside a route body (" ROUTE_BODY_ALLOWS ")");
    return value_error();
  }
  if (e->application_depth >= MAX_APPLICATION_DEPTH) {
    diag_error(e->diagnostics, call->loc, "blocks are applied inside each other too deeply (does '%s' apply itself?)",
               block_name);
    return value_error();
  }
  Scope *scope = scope_create(e, &e->globals);
  int ok = bind_size_args(e, caller, &block->size_params, &sizes->args, "block", block_name, sizes->loc, scope);
  Value input = value_error();
  if (call->args.count != 1 || ((const AstArg *)call->args.items[0])->name) {
    diag_error(e->diagnostics, call->loc, "block '%s' takes one input tensor", block_name);
    ok = 0;
  } else {
    input = elaborate_expr(e, caller, ((const AstArg *)call->args.items[0])->value);
    if (!expect_tensor(e, input, call->loc, "the input of a block")) ok = 0;
  }
  if (!ok) return value_error();
  /* inside a block, strategy or layer, the instance is named under its owner: layers.3.moe */
  const char *instance = instance_name(e, caller->owner ? qualified(e, caller->owner, block_name) : block_name);
  scope_bind(e, scope, block->input.name, input, block->input.loc);
  Body body = {.scope = scope, .owner = instance, .output_name = block->output.name};
  body.adapter = caller->adapter;
  int first_node = e->graph->graph.num_nodes;
  e->application_depth++;
  elaborate_statements(e, &body, &block->body);
  if (elaboration_stopped(e)) { /* cut short: its output may not be assigned */
    e->application_depth--;
    return value_error();
  }
  int last_node = e->graph->graph.num_nodes;
  Value output = value_error();
  const Binding *result = scope_lookup_local(scope, block->output.name);
  if (!result)
    diag_error(e->diagnostics, block->output.loc, "block '%s' never assigns its output '%s'", block_name,
               block->output.name);
  else
    output = result->value;
  for (int i = 0; strategies && i < strategies->count; i++) {
    if (output.kind == VALUE_ERROR) break;
    output = apply_strategy(e, caller, strategies->items[i], block, scope, instance, input, output, first_node,
                            last_node);
  }
  e->application_depth--;
  if (output.kind != VALUE_ERROR && !expect_tensor(e, output, block->output.loc, "the output of a block"))
    output = value_error();
  return output;
}

/* ---- the model ---- */

/* `loss mse(OUTPUT, INPUT)`: the teacher target for the training executable;
 * `loss cross_entropy(OUTPUT, INPUT)`: the logits and labels, for accuracy. */
static void find_teacher_target(Elaborator *e, Body *body, const AstExpr *loss) {
  if (loss->kind != EXPR_CALL || loss->lhs->kind != EXPR_NAME || loss->args.count != 2) return;
  int classify = strcmp(loss->lhs->name, "cross_entropy") == 0;
  if (!classify && strcmp(loss->lhs->name, "mse") != 0) return;
  const AstExpr *output = ((const AstArg *)loss->args.items[0])->value;
  const AstExpr *target = ((const AstArg *)loss->args.items[1])->value;
  if (output->kind != EXPR_NAME || target->kind != EXPR_NAME) return;
  const Binding *target_binding = scope_lookup(body->scope, target->name);
  if (!target_binding || target_binding->value.kind != VALUE_TENSOR) return;
  int target_node = target_binding->value.ref.node;
  if (graph_node(e->graph, target_node)->kind != NODE_INPUT) return;
  Graph *graph = &e->graph->graph;
  for (int i = 0; i < graph->num_outputs; i++) {
    if (strcmp(graph->outputs[i].name, output->name) != 0) continue;
    if (classify) {
      graph->classify_label_node = target_node;
      graph->classify_output_index = i;
    } else {
      graph->target_input_node = target_node;
      graph->target_output_index = i;
    }
  }
}

static void elaborate_model(Elaborator *e, const AstDecl *model) {
  Body body = {.scope = scope_create(e, &e->globals), .owner = NULL, .output_name = NULL};
  for (int i = 0; i < model->body.count; i++) {
    const AstStmt *stmt = model->body.items[i];
    if (stmt->kind != STMT_POOL) continue;
    if (strcmp(stmt->name, "load_balance") != 0)
      diag_error(e->diagnostics, stmt->name_loc, "pool takes load_balance (the only aux term pooled over layers), not '%s'",
                 stmt->name);
    e->pool_load_balance = 1;
  }
  elaborate_statements(e, &body, &model->body);
  pools_finish(e);
  if (body.unfreeze_all) unfreeze_nodes(e, 0, e->graph->graph.num_nodes);
  const AstStmt *loss_stmt = NULL;
  Value loss = value_error();
  for (int i = 0; i < model->body.count; i++) {
    const AstStmt *stmt = model->body.items[i];
    if (stmt->kind != STMT_LOSS) continue;
    if (loss_stmt) {
      diag_error(e->diagnostics, stmt->loc, "the model has more than one loss (the first is at line %d)",
                 loss_stmt->loc.line);
      continue;
    }
    loss_stmt = stmt;
  }
  if (!loss_stmt) {
    diag_error(e->diagnostics, model->loc, "the model has no loss");
    return;
  }
  /* The loss is evaluated after the body so that it sees every name, even one defined after it. */
  if (elaboration_stopped(e)) return;
  loss = elaborate_expr(e, &body, loss_stmt->value);
  check_after_statement(e, loss_stmt->loc);
  if (loss.kind == VALUE_ERROR) return;
  if (loss.kind != VALUE_TENSOR || loss.transposed || loss.type.rank != 0 || loss.type.dtype != DTYPE_F32) {
    diag_error(e->diagnostics, loss_stmt->value->loc, "the loss must be a scalar tensor, such as mse(y, target)");
    return;
  }
  ValueRef total = loss.ref;
  for (int i = 0; i < e->num_aux; i++) {
    int node = graph_add_node(e->graph, NODE_ADD, e->aux_locs[i]);
    graph_add_operand(e->graph, node, total);
    graph_add_operand(e->graph, node, e->aux_terms[i]);
    graph_add_result(e->graph, node, tensor_type(DTYPE_F32, 0, NULL));
    total = (ValueRef){node, 0};
  }
  e->graph->graph.loss = total;
  find_teacher_target(e, &body, loss_stmt->value);
}

/* ---- entry ---- */
/* The top-level dims in order: `dim NAME = EXPR` over numbers and the dims before it, unless
 * -DNAME=VALUE (or --config, which the driver passes the same way) gives the value. */
static void bind_dims(Elaborator *e, const DimOverride *overrides, int num_overrides) {
  const AstProgram *program = e->program;
  for (int i = 0; i < num_overrides; i++) {
    const AstDecl *dim = sema_find_decl(program, overrides[i].name);
    if (!dim || dim->kind != DECL_DIM)
      diag_error(e->diagnostics, (SourceLocation){0}, "-D%s: the program has no dim '%s'", overrides[i].name,
                 overrides[i].name);
    else if (overrides[i].value < 0 || overrides[i].value >= 2147483648LL)
      diag_error(e->diagnostics, (SourceLocation){0}, "-D%s=%lld: a dim must be an integer from 0 to 2^31-1",
                 overrides[i].name, overrides[i].value);
  }
  Body globals = {.scope = &e->globals};
  for (int i = 0; i < program->decls.count; i++) {
    const AstDecl *decl = program->decls.items[i];
    if (decl->kind != DECL_DIM) continue;
    int given = -1;
    for (int j = 0; j < num_overrides; j++)
      if (strcmp(overrides[j].name, decl->name) == 0) given = j;
    double value = 1;
    if (given >= 0) {
      value = (double)overrides[given].value;
    } else {
      int errors = e->diagnostics->error_count;
      Value v = elaborate_expr(e, &globals, decl->dim_expr);
      if (e->diagnostics->error_count > errors) {
        value = 1;
      } else if (v.kind != VALUE_NUMBER) {
        diag_error(e->diagnostics, decl->dim_expr->loc, "dim '%s' must be a compile-time integer", decl->name);
      } else if (!(v.number >= 0 && v.number < 2147483648.0) || floor(v.number) != v.number) {
        diag_error(e->diagnostics, decl->dim_expr->loc, "dim '%s' must be an integer from 0 to 2^31-1, but this is %g",
                   decl->name, v.number);
      } else {
        value = v.number;
      }
    }
    scope_bind(e, &e->globals, decl->name, value_number(value), decl->name_loc);
  }
}

Graph *dsl_elaborate(const AstProgram *program, const DimOverride *overrides, int num_overrides,
                     FILE *diagnostics_out) {
  Diagnostics diagnostics = {diagnostics_out, program->source, 0, &program->files};
  if (sema_check_declarations(program, &diagnostics) > 0) return NULL;
  Elaborator e = {0};
  e.program = program;
  e.diagnostics = &diagnostics;
  e.graph = graph_create();
  e.dropout_seed = -1;
  bind_dims(&e, overrides, num_overrides);
  const Binding *tokens = scope_lookup(&e.globals, "tokens");
  if (!tokens)
    diag_error(&diagnostics, (SourceLocation){program->path, 1, 1},
               "the program has no 'dim tokens' (the number of tokens per step)");
  else
    e.graph->graph.tokens = (int64_t)tokens->value.number;
  const AstDecl *model = NULL;
  for (int i = 0; i < program->decls.count; i++) {
    const AstDecl *decl = program->decls.items[i];
    if (decl->kind == DECL_MODEL) model = decl;
  }
  if (diagnostics.error_count == 0) elaborate_model(&e, model);
  if (diagnostics.error_count == 0) elaborate_names(&e);
  check_after_statement(&e, model ? model->loc : (SourceLocation){0}); /* a limit passed and not yet reported */
  if (diagnostics.error_count == 0) {
    int trainable = 0;
    for (int i = 0; i < e.graph->graph.num_nodes; i++)
      if (e.graph->graph.nodes[i].kind == NODE_PARAM && e.graph->graph.nodes[i].trainable) trainable = 1;
    if (!trainable)
      diag_error(&diagnostics, model->loc, "the program has no trainable parameter (mark a param 'train')");
  }
  arena_free(&e.scratch);
  if (diagnostics.error_count > 0) {
    dsl_free_graph(&e.graph->graph);
    return NULL;
  }
  return &e.graph->graph;
}
