/* ast_print.c — dsl_print_ast: the syntax tree as an indented outline,
 * every node ending in `@line:col` (perftc --emit=ast, golden tests).
 *
 *   block moe(D, E, K, F) (h) -> y @30:1
 *     assign p @33:3
 *       call @33:7
 *         name softmax @33:7
 */
#include <stdio.h>

#include "dsl.h"
#include "ast.h"

enum { MAX_INDENT = 32 }; /* deeper nodes say their depth: the output stays linear in the tree */

static void indent(FILE *out, int depth) {
  for (int i = 0; i < depth && i < MAX_INDENT; i++) fputs("  ", out);
  if (depth > MAX_INDENT) fprintf(out, "[depth %d] ", depth);
}

static void end(FILE *out, SourceLocation loc) { fprintf(out, " @%d:%d\n", loc.line, loc.column); }

static void print_expr(const AstExpr *expr, int depth, FILE *out);

static void print_args(const AstList *args, int depth, FILE *out) {
  for (int i = 0; i < args->count; i++) {
    const AstArg *arg = args->items[i];
    if (arg->name) {
      indent(out, depth);
      fprintf(out, "named %s", arg->name);
      end(out, arg->loc);
      print_expr(arg->value, depth + 1, out);
    } else {
      print_expr(arg->value, depth, out);
    }
  }
}

static void print_expr(const AstExpr *expr, int depth, FILE *out) {
  indent(out, depth);
  switch (expr->kind) {
  case EXPR_NUMBER:
    fprintf(out, "number %.15g", expr->number);
    end(out, expr->loc);
    return;
  case EXPR_NAME:
    fprintf(out, "name %s", expr->name);
    end(out, expr->loc);
    return;
  case EXPR_BINARY:
    fprintf(out, "binary %c", expr->op);
    end(out, expr->loc);
    print_expr(expr->lhs, depth + 1, out);
    print_expr(expr->rhs, depth + 1, out);
    return;
  case EXPR_NEGATE:
    fputs("negate", out);
    end(out, expr->loc);
    print_expr(expr->lhs, depth + 1, out);
    return;
  case EXPR_TRANSPOSE:
    fputs("transpose", out);
    end(out, expr->loc);
    print_expr(expr->lhs, depth + 1, out);
    return;
  case EXPR_CALL:
    fputs("call", out);
    end(out, expr->loc);
    print_expr(expr->lhs, depth + 1, out);
    print_args(&expr->args, depth + 1, out);
    return;
  case EXPR_INDEX:
    fputs("index", out);
    end(out, expr->loc);
    print_expr(expr->lhs, depth + 1, out);
    print_expr(expr->rhs, depth + 1, out);
    return;
  case EXPR_SLICE:
    fputs("slice", out);
    end(out, expr->loc);
    print_expr(expr->lhs, depth + 1, out);
    print_args(&expr->args, depth + 1, out);
    return;
  case EXPR_RANGE:
    fputs(expr->lhs ? "range" : "range (whole axis)", out);
    end(out, expr->loc);
    if (expr->lhs) print_expr(expr->lhs, depth + 1, out);
    if (expr->rhs) print_expr(expr->rhs, depth + 1, out);
    return;
  case EXPR_MEMBER:
    fprintf(out, "member %s", expr->name);
    end(out, expr->loc);
    print_expr(expr->lhs, depth + 1, out);
    return;
  case EXPR_COMPARE:
    fprintf(out, "compare %s", ast_compare_text(expr->op));
    end(out, expr->loc);
    print_expr(expr->lhs, depth + 1, out);
    print_expr(expr->rhs, depth + 1, out);
    return;
  case EXPR_ROUTE:
    fputs("route", out);
    end(out, expr->loc);
    print_args(&expr->args, depth + 1, out);
    for (int i = 0; i < expr->lets.count; i++) {
      const AstStmt *let = expr->lets.items[i];
      indent(out, depth + 1);
      fprintf(out, "let %s", let->name);
      end(out, let->loc);
      print_expr(let->value, depth + 2, out);
    }
    indent(out, depth + 1);
    fputs("body", out);
    end(out, expr->rhs->loc);
    print_expr(expr->rhs, depth + 2, out);
    return;
  }
}

static void print_type(const AstType *type, int depth, FILE *out) {
  indent(out, depth);
  fprintf(out, "type %s", type->dtype);
  end(out, type->loc);
  for (int i = 0; i < type->dims.count; i++) print_expr(type->dims.items[i], depth + 1, out);
}

static void print_stmt(const AstStmt *stmt, int depth, FILE *out);

static void print_stmts(const AstList *stmts, int depth, FILE *out) {
  for (int i = 0; i < stmts->count; i++) print_stmt(stmts->items[i], depth, out);
}

static void print_stmt(const AstStmt *stmt, int depth, FILE *out) {
  indent(out, depth);
  switch (stmt->kind) {
  case STMT_PARAM:
    fprintf(out, "param %s %s", stmt->name, stmt->trainable ? "train" : "frozen");
    if (stmt->init_name) fprintf(out, " init %s", stmt->init_name);
    end(out, stmt->loc);
    print_type(&stmt->type, depth + 1, out);
    print_args(&stmt->init_args, depth + 1, out);
    return;
  case STMT_BANK:
    fprintf(out, "bank %s = %s", stmt->name, stmt->expert_name);
    end(out, stmt->loc);
    print_expr(stmt->value, depth + 1, out);
    print_args(&stmt->expert_args, depth + 1, out);
    return;
  case STMT_ASSIGN:
    fprintf(out, "assign %s", stmt->name);
    end(out, stmt->loc);
    print_expr(stmt->value, depth + 1, out);
    for (int i = 0; i < stmt->strategies.count; i++) {
      const AstStrategyUse *use = stmt->strategies.items[i];
      indent(out, depth + 1);
      fprintf(out, "with %s", use->name);
      end(out, use->loc);
      print_args(&use->args, depth + 2, out);
      if (use->when) {
        indent(out, depth + 2);
        fputs("when", out);
        end(out, use->when->loc);
        print_expr(use->when, depth + 3, out);
      }
    }
    return;
  case STMT_PAIR_ASSIGN:
    fprintf(out, "assign (%s, %s)", stmt->name, stmt->second_name);
    end(out, stmt->loc);
    print_expr(stmt->value, depth + 1, out);
    return;
  case STMT_AUX:
    fputs("aux", out);
    end(out, stmt->loc);
    print_expr(stmt->value, depth + 1, out);
    return;
  case STMT_INPUT:
    fprintf(out, "input %s", stmt->name);
    end(out, stmt->loc);
    print_type(&stmt->type, depth + 1, out);
    return;
  case STMT_OUTPUT:
    fprintf(out, "output %s", stmt->name);
    end(out, stmt->loc);
    return;
  case STMT_LOSS:
    fputs("loss", out);
    end(out, stmt->loc);
    print_expr(stmt->value, depth + 1, out);
    return;
  case STMT_FN:
    fprintf(out, "fn (%s)", stmt->name);
    end(out, stmt->loc);
    print_expr(stmt->value, depth + 1, out);
    return;
  case STMT_UNFREEZE:
    fprintf(out, "unfreeze %s", stmt->name);
    end(out, stmt->loc);
    return;
  case STMT_BLOCKS:
    fprintf(out, "blocks %s along %d", stmt->name, stmt->trainable);
    end(out, stmt->loc);
    print_expr(stmt->value, depth + 1, out);
    return;
  case STMT_POOL:
    fprintf(out, "pool %s", stmt->name);
    end(out, stmt->loc);
    return;
  case STMT_STACK:
    fprintf(out, "stack %s %s in", stmt->name, stmt->second_name);
    end(out, stmt->loc);
    print_expr(stmt->value, depth + 1, out);
    print_stmts(&stmt->body, depth + 1, out);
    return;
  }
}

static void print_size_params(const AstList *params, FILE *out) {
  fputc('(', out);
  for (int i = 0; i < params->count; i++) {
    const AstIdent *param = params->items[i];
    fprintf(out, "%s%s", i ? ", " : "", param->name);
  }
  fputc(')', out);
}

void dsl_print_ast(const AstProgram *program, FILE *out) {
  fprintf(out, "program %s\n", program->path);
  for (int i = 0; i < program->decls.count; i++) {
    const AstDecl *decl = program->decls.items[i];
    if (decl->loc.file != program->path) continue; /* imported: printed with its own file */
    indent(out, 1);
    switch (decl->kind) {
    case DECL_DIM:
      if (decl->dim_expr->kind == EXPR_NUMBER && !decl->config_key) {
        fprintf(out, "dim %s = %lld", decl->name, decl->dim_value);
        break;
      }
      fprintf(out, "dim %s", decl->name);
      if (decl->config_key) fprintf(out, " config %s", decl->config_key);
      end(out, decl->loc);
      print_expr(decl->dim_expr, 2, out);
      continue;
    case DECL_NAMES:
      fprintf(out, "names %s", decl->name);
      end(out, decl->loc);
      for (int j = 0; j < decl->name_rules.count; j++) {
        const AstNameRule *rule = decl->name_rules.items[j];
        indent(out, 2);
        fprintf(out, "\"%s\" = \"%s\"", rule->checkpoint, rule->param);
        end(out, rule->loc);
      }
      continue;
    case DECL_EXPERT:
      fprintf(out, "expert %s", decl->name);
      print_size_params(&decl->size_params, out);
      break;
    case DECL_BLOCK:
      fprintf(out, "block %s", decl->name);
      print_size_params(&decl->size_params, out);
      fprintf(out, " (%s) -> %s", decl->input.name, decl->output.name);
      break;
    case DECL_STRATEGY:
      fprintf(out, "strategy %s", decl->name);
      print_size_params(&decl->size_params, out);
      fprintf(out, " at %s(%s) -> %s", decl->at_block.name, decl->input.name, decl->output.name);
      break;
    case DECL_MODEL:
      fputs("model", out);
      break;
    case DECL_USE:
      fprintf(out, "use %s", decl->name);
      break;
    }
    end(out, decl->loc);
    print_stmts(&decl->body, 2, out);
  }
}
