/* sema.c — the checks that need no sizes, done before elaboration:
 *   - top-level names are unique and are not builtins; there is one model
 *   - size parameter lists have no repeats; a strategy's `at` names a block
 *     and its sizes do not repeat the block's
 *   - each statement is one its body allows (an expert holds params and one
 *     fn; input/output/loss only in the model; fn only in an expert)
 *   - a bank names an expert; unfreeze only in a strategy or the model; a layer
 *     stack only in the model, without input/output/loss or another stack inside
 * Shapes, arity of calls and names inside bodies are checked by elaborate.c,
 * which sees concrete sizes. */
#include "sema.h"
#include "graph.h"

#include <stdio.h>
#include <string.h>

static const char *const builtins[] = {"silu",    "softmax",   "top_k",   "load_balance", "mse",     "sqrt",  "rmsnorm",
                                       "embedding", "cross_entropy", "dropout", "sigmoid", "tanh", "relu", "gelu",
                                       "exp",     "log",       "abs",     "maximum",      "minimum", "log_softmax",
                                       "sum",     "mean",      "max",     "where",        "expert_choice", "gather",
                                       "rope",    "causal_attention", NULL};

const char *const dsl_unary_names[NUM_UNARY_FUNCTIONS] = {
    [UNARY_SIGMOID] = "sigmoid", [UNARY_TANH] = "tanh", [UNARY_RELU] = "relu", [UNARY_GELU] = "gelu",
    [UNARY_EXP] = "exp",         [UNARY_LOG] = "log",   [UNARY_SQRT] = "sqrt", [UNARY_ABS] = "abs"};
const char *const dsl_reduce_names[NUM_REDUCE_FUNCTIONS] = {[REDUCE_SUM] = "sum", [REDUCE_MEAN] = "mean",
                                                            [REDUCE_MAX] = "max"};

int sema_is_builtin(const char *name) {
  for (int i = 0; builtins[i]; i++)
    if (strcmp(builtins[i], name) == 0) return 1;
  return 0;
}

static int edit_distance(const char *a, const char *b) {
  size_t n = strlen(b);
  if (n > 63) return 99;
  int row[64];
  for (size_t j = 0; j <= n; j++) row[j] = (int)j;
  for (size_t i = 1; a[i - 1]; i++) {
    int diagonal = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= n; j++) {
      int above = row[j];
      int cost = diagonal + (a[i - 1] != b[j - 1]);
      int best = above + 1 < row[j - 1] + 1 ? above + 1 : row[j - 1] + 1;
      row[j] = cost < best ? cost : best;
      diagonal = above;
    }
  }
  return row[n];
}

const char *sema_closest_builtin(const char *name) {
  const char *best = NULL;
  int best_distance = 3;
  for (int i = 0; builtins[i]; i++) {
    int d = edit_distance(name, builtins[i]);
    if (d < best_distance) best = builtins[i], best_distance = d;
  }
  return best;
}

const char *sema_builtin_list(void) {
  static char list[512];
  if (!list[0])
    for (int i = 0; builtins[i]; i++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? " " : "", builtins[i]);
  return list;
}

const AstDecl *sema_find_decl(const AstProgram *program, const char *name) {
  int index = name_table_find(&program->decl_index, name);
  return index < 0 ? NULL : program->decls.items[index];
}

/* "a block", "an expert" */
static const char *decl_kind_article(DeclKind kind) { return kind == DECL_EXPERT ? "an expert" : kind == DECL_DIM ? "a dim" : kind == DECL_BLOCK ? "a block" : kind == DECL_STRATEGY ? "a strategy" : "a model"; }

static const char *decl_kind_name(DeclKind kind) {
  switch (kind) {
  case DECL_DIM: return "dim";
  case DECL_EXPERT: return "expert";
  case DECL_BLOCK: return "block";
  case DECL_STRATEGY: return "strategy";
  case DECL_MODEL: return "model";
  case DECL_USE: return "use";
  case DECL_NAMES: return "names";
  }
  return "?";
}

/* The size parameters of decls[index] by name, made on first use (tables[index], one per decl). */
static const NameTable *size_param_table(const AstProgram *program, NameTable *tables, int index, Arena *scratch) {
  const AstList *params = &((const AstDecl *)program->decls.items[index])->size_params;
  if (tables[index].count == 0)
    for (int i = 0; i < params->count; i++)
      name_table_put(&tables[index], scratch, ((const AstIdent *)params->items[i])->name, i);
  return &tables[index];
}

static void check_size_params(const AstList *params, Diagnostics *diagnostics, Arena *scratch) {
  NameTable seen = {0};
  for (int i = 0; i < params->count; i++) {
    const AstIdent *param = params->items[i];
    if (name_table_find(&seen, param->name) >= 0)
      diag_error(diagnostics, param->loc, "size parameter '%s' is listed twice", param->name);
    else
      name_table_put(&seen, scratch, param->name, i);
  }
}

static const char *stmt_keyword(StmtKind kind) {
  switch (kind) {
  case STMT_PARAM: return "param";
  case STMT_BANK: return "bank";
  case STMT_ASSIGN: return "an assignment";
  case STMT_PAIR_ASSIGN: return "an assignment";
  case STMT_AUX: return "aux";
  case STMT_INPUT: return "input";
  case STMT_OUTPUT: return "output";
  case STMT_LOSS: return "loss";
  case STMT_FN: return "fn";
  case STMT_UNFREEZE: return "unfreeze";
  case STMT_STACK: return "a layer stack";
  case STMT_POOL: return "pool";
  case STMT_BLOCKS: return "blocks";
  }
  return "?";
}

/* The body of a layer stack (in the model): no input, output, loss, fn or nested stack. */
static void check_stack_body(const AstStmt *stack, Diagnostics *diagnostics) {
  for (int i = 0; i < stack->body.count; i++) {
    const AstStmt *stmt = stack->body.items[i];
    if (stmt->kind == STMT_INPUT || stmt->kind == STMT_OUTPUT || stmt->kind == STMT_LOSS || stmt->kind == STMT_FN ||
        stmt->kind == STMT_STACK || stmt->kind == STMT_POOL)
      diag_error(diagnostics, stmt->loc, "%s is not allowed in a layer stack", stmt_keyword(stmt->kind));
  }
}

static void check_statement_placement(const AstDecl *decl, Diagnostics *diagnostics) {
  int fn_count = 0;
  for (int i = 0; i < decl->body.count; i++) {
    const AstStmt *stmt = decl->body.items[i];
    int allowed = 1;
    if (stmt->kind == STMT_STACK && decl->kind == DECL_MODEL) check_stack_body(stmt, diagnostics);
    switch (decl->kind) {
    case DECL_EXPERT:
      allowed = stmt->kind == STMT_PARAM || stmt->kind == STMT_FN;
      if (stmt->kind == STMT_FN && ++fn_count > 1) {
        diag_error(diagnostics, stmt->loc, "expert '%s' has more than one fn", decl->name);
        continue;
      }
      break;
    case DECL_BLOCK:
    case DECL_STRATEGY:
      allowed = stmt->kind != STMT_INPUT && stmt->kind != STMT_OUTPUT && stmt->kind != STMT_LOSS &&
                stmt->kind != STMT_FN && stmt->kind != STMT_STACK && stmt->kind != STMT_POOL &&
                (stmt->kind != STMT_UNFREEZE || decl->kind == DECL_STRATEGY);
      break;
    case DECL_MODEL:
      allowed = stmt->kind != STMT_FN;
      break;
    case DECL_DIM:
    case DECL_USE:
    case DECL_NAMES:
      break;
    }
    if (!allowed)
      diag_error(diagnostics, stmt->loc, "%s is not allowed in %s %s", stmt_keyword(stmt->kind),
                 decl->kind == DECL_EXPERT ? "an" : "a", decl_kind_name(decl->kind));
  }
  if (decl->kind == DECL_EXPERT && fn_count == 0)
    diag_error(diagnostics, decl->name_loc, "expert '%s' has no fn", decl->name);
}

static void check_banks(const AstProgram *program, const AstList *body, Diagnostics *diagnostics) {
  for (int i = 0; i < body->count; i++) {
    const AstStmt *stmt = body->items[i];
    if (stmt->kind == STMT_STACK) check_banks(program, &stmt->body, diagnostics);
    if (stmt->kind != STMT_BANK) continue;
    const AstDecl *expert = sema_find_decl(program, stmt->expert_name);
    if (!expert)
      diag_error(diagnostics, stmt->expert_loc, "undefined expert '%s'", stmt->expert_name);
    else if (expert->kind != DECL_EXPERT)
      diag_error(diagnostics, stmt->expert_loc, "'%s' is %s, not an expert", stmt->expert_name,
                 decl_kind_article(expert->kind));
  }
}

/* `at BLOCK`: a block, whose size parameters the strategy's do not repeat (`tables`: see
 * size_param_table). */
static void check_strategy_site(const AstProgram *program, const AstDecl *decl, Diagnostics *diagnostics,
                                NameTable *tables, Arena *scratch) {
  const AstDecl *block = sema_find_decl(program, decl->at_block.name);
  if (!block) {
    diag_error(diagnostics, decl->at_block.loc, "undefined block '%s'", decl->at_block.name);
    return;
  }
  if (block->kind != DECL_BLOCK) {
    diag_error(diagnostics, decl->at_block.loc, "'%s' is %s, not a block", decl->at_block.name,
               decl_kind_article(block->kind));
    return;
  }
  const NameTable *block_params =
      size_param_table(program, tables, name_table_find(&program->decl_index, block->name), scratch);
  for (int i = 0; i < decl->size_params.count; i++) {
    const AstIdent *param = decl->size_params.items[i];
    if (name_table_find(block_params, param->name) >= 0)
      diag_error(diagnostics, param->loc, "size parameter '%s' repeats one of block '%s'", param->name, block->name);
  }
}

int sema_check_declarations(const AstProgram *program, Diagnostics *diagnostics) {
  int errors_before = diagnostics->error_count;
  const AstDecl *model = NULL;
  Arena scratch = {0};
  NameTable *size_param_tables = arena_alloc(&scratch, sizeof(NameTable) * (size_t)(program->decls.count + 1));
  for (int i = 0; i < program->decls.count && !diag_stopped(diagnostics); i++) {
    const AstDecl *decl = program->decls.items[i];
    if (decl->kind == DECL_USE) continue; /* resolved by the parser (parse.c) */
    if (decl->kind == DECL_NAMES) { /* checked when the names are resolved (elaborate_names.c) */
      for (int j = 0; j < i; j++) {
        const AstDecl *other = program->decls.items[j];
        if (other->kind == DECL_NAMES && strcmp(other->name, decl->name) == 0)
          diag_error(diagnostics, decl->name_loc, "names '%s' is already defined (at %s:%d)", decl->name,
                     other->loc.file, other->loc.line);
      }
      continue;
    }
    if (decl->kind == DECL_MODEL) {
      if (model) diag_error(diagnostics, decl->loc, "the program has more than one model");
      model = decl;
    } else {
      if (sema_is_builtin(decl->name))
        diag_error(diagnostics, decl->name_loc, "'%s' is the name of a builtin function", decl->name);
      const AstDecl *first = sema_find_decl(program, decl->name);
      if (first != decl)
        diag_error(diagnostics, decl->name_loc, "'%s' is already defined (at line %d as %s)", decl->name,
                   first->loc.line, decl_kind_article(first->kind));
    }
    check_size_params(&decl->size_params, diagnostics, &scratch);
    if (decl->kind == DECL_BLOCK || decl->kind == DECL_STRATEGY) {
      if (strcmp(decl->input.name, decl->output.name) == 0)
        diag_error(diagnostics, decl->output.loc, "the output '%s' has the same name as the input",
                   decl->output.name);
    }
    if (decl->kind == DECL_STRATEGY) check_strategy_site(program, decl, diagnostics, size_param_tables, &scratch);
    if (decl->kind != DECL_DIM) {
      check_statement_placement(decl, diagnostics);
      check_banks(program, &decl->body, diagnostics);
    }
  }
  arena_free(&scratch);
  if (!model) {
    SourceLocation start = {program->path, 1, 1};
    diag_error(diagnostics, start, "the program has no model");
  }
  return diagnostics->error_count - errors_before;
}
