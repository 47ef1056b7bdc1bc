/* ast.h — the syntax tree of a .perft program, as the parser builds it.
 *
 * The grammar (parser.y) builds syntax only; meaning is checked later by
 * sema.c (declarations) and elaborate.c (sizes, shapes, the Graph).
 * Every node carries the file:line:col of its first token.
 * All nodes and strings live in the program's arena and are freed together.
 */
#ifndef PERFT_DSL_AST_H
#define PERFT_DSL_AST_H

#include <stddef.h>

#include "graph.h" /* SourceLocation */
#include "name_table.h"

/* ---- memory: one bump allocator per program ---- */
typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
  ArenaChunk *chunks;
} Arena;

void *arena_alloc(Arena *arena, size_t size); /* zeroed; aborts on out-of-memory */
char *arena_strndup(Arena *arena, const char *text, size_t length);
char *arena_strdup(Arena *arena, const char *text);
void arena_free(Arena *arena);

/* ---- a growable list of pointers ---- */
typedef struct {
  void **items;
  int count, capacity;
} AstList;

void ast_list_push(Arena *arena, AstList *list, void *item);

/* ---- expressions ---- */
typedef enum {
  EXPR_NUMBER,    /* 2, 0.02, 1e-6 */
  EXPR_NAME,      /* x */
  EXPR_BINARY,    /* lhs op rhs, op one of @ + - * / */
  EXPR_NEGATE,    /* -operand */
  EXPR_TRANSPOSE, /* operand^T */
  EXPR_CALL,      /* callee(args) — builtins, block(sizes)(input), bank[e](rows) */
  EXPR_INDEX,     /* base[index] — only bank[e] */
  EXPR_SLICE,     /* base[a:b, :] — args: one EXPR_RANGE per axis (in init copy(...)) */
  EXPR_RANGE,     /* a:b (lhs, rhs), or ':' (both NULL): the whole axis */
  EXPR_ROUTE,     /* route(rows, indices, weights) { [NAME = expr;]... body } */
  EXPR_MEMBER,    /* base.name — only bank[e].PARAM inside a route body */
  EXPR_COMPARE,   /* lhs op rhs, op one of < > <= >= == != (compile-time numbers only) */
} ExprKind;

typedef struct AstExpr AstExpr;

typedef struct {
  SourceLocation loc;
  const char *name; /* NULL for a positional argument; `name: value` otherwise */
  AstExpr *value;
} AstArg;

struct AstExpr {
  ExprKind kind;
  SourceLocation loc;
  double number;      /* NUMBER */
  int is_integer;     /* NUMBER: written without '.' or exponent */
  const char *name;   /* NAME */
  char op;            /* BINARY: '@' '+' '-' '*' '/'; COMPARE: '<' '>' 'l' (<=) 'g' (>=) 'e' (==) 'n' (!=) */
  AstExpr *lhs, *rhs; /* BINARY, COMPARE; lhs is the operand of NEGATE/TRANSPOSE, the callee of CALL,
                         the base of INDEX and MEMBER; rhs is the index of INDEX, the body of ROUTE */
  AstList args;       /* CALL, ROUTE: AstArg* */
  AstList lets;       /* ROUTE: AstStmt* (STMT_ASSIGN), local names bound before the body's value */
  int depth;          /* 1 + the deepest child (operands, arguments, lets): at most LIMIT_EXPRESSION_DEPTH */
};

/* The depth of the deepest child of `expr` (0 for a name or a number). */
int ast_expr_child_depth(const AstExpr *expr);

/* "<=" for 'l' and so on: how a COMPARE operator is written. */
const char *ast_compare_text(char op);

/* ---- statements (one kind for every body; sema says which are allowed where) ---- */
typedef enum {
  STMT_PARAM,       /* param NAME : f32[dims] train|frozen [init INIT(args)] */
  STMT_BANK,        /* bank NAME[count] = expert(args) */
  STMT_ASSIGN,      /* NAME = expr [with strategy(args), ...] */
  STMT_PAIR_ASSIGN, /* (NAME, NAME) = expr */
  STMT_AUX,         /* aux expr */
  STMT_INPUT,       /* input NAME : f32[dims] */
  STMT_OUTPUT,      /* output NAME */
  STMT_LOSS,        /* loss expr */
  STMT_FN,          /* fn (NAME) = expr */
  STMT_UNFREEZE,    /* unfreeze NAME | unfreeze all */
  STMT_STACK,       /* NAME VAR in COUNT { statements } — L layers, params NAME.<i>.<param> */
  STMT_POOL,        /* pool load_balance (model only): aux load-balance terms pooled over layers */
  STMT_BLOCKS,      /* blocks NAME[COUNT] [along AXIS]: param NAME is COUNT equal blocks (checkpoint names) */
} StmtKind;

typedef struct {
  SourceLocation loc;
  const char *dtype; /* "f32" */
  AstList dims;      /* AstExpr* */
} AstType;

typedef struct {
  SourceLocation loc;
  const char *name; /* strategy name */
  AstList args;     /* AstArg* */
  AstExpr *when;    /* `when COND`, or NULL: apply only where COND is nonzero */
} AstStrategyUse;

typedef struct {
  StmtKind kind;
  SourceLocation loc;
  const char *name;        /* PARAM, BANK, ASSIGN, PAIR_ASSIGN (first), INPUT, OUTPUT, FN (argument),
                              UNFREEZE (the name or "all"), STACK (the stack's name, e.g. "layers") */
  SourceLocation name_loc; /* where `name` is written */
  const char *second_name; /* PAIR_ASSIGN; STACK: the layer variable */
  SourceLocation second_loc;
  AstType type;            /* PARAM, INPUT */
  int trainable;           /* PARAM: 1 for `train`, 0 for `frozen`, 2 for `const` */
  const char *init_name;   /* PARAM: normal, zeros, ones; NULL when no `init` is written */
  SourceLocation init_loc;
  AstList init_args;       /* PARAM: AstArg* */
  AstExpr *value;          /* ASSIGN, PAIR_ASSIGN, AUX, LOSS, FN; BANK, STACK: the count */
  const char *expert_name; /* BANK */
  SourceLocation expert_loc;
  AstList expert_args;     /* BANK: AstArg* */
  AstList strategies;      /* ASSIGN: AstStrategyUse* */
  AstList body;            /* STACK: AstStmt* */
} AstStmt;

/* ---- top-level declarations ---- */
typedef enum { DECL_DIM, DECL_EXPERT, DECL_BLOCK, DECL_STRATEGY, DECL_MODEL, DECL_USE, DECL_NAMES } DeclKind;

/* One rule of `names MAP { "checkpoint pattern" = "program pattern" ... }`: {x} matches a nonempty
 * run of characters in the program pattern and stands for it in the checkpoint pattern. */
typedef struct {
  SourceLocation loc;           /* of the checkpoint pattern */
  const char *checkpoint;       /* e.g. "model.layers.{l}.mlp.gate.weight" */
  const char *param;            /* e.g. "layers.{l}.moe.router" */
  SourceLocation param_loc;
} AstNameRule;

typedef struct {
  SourceLocation loc;
  const char *name;
} AstIdent;

typedef struct {
  DeclKind kind;
  SourceLocation loc;
  const char *name;       /* all but MODEL; USE: the library name (`use peft` -> "peft") */
  SourceLocation name_loc;
  long long dim_value;    /* DIM written as an integer literal (dim_expr is that literal) */
  AstExpr *dim_expr;      /* DIM: `dim NAME = EXPR`, over numbers and earlier dims */
  const char *config_key; /* DIM: `... config KEY`: perftc --config FILE.json sets it from KEY */
  SourceLocation config_loc;
  AstList name_rules;     /* NAMES: AstNameRule*, in order (the first that matches a name wins) */
  AstList size_params;    /* EXPERT, BLOCK, STRATEGY: AstIdent* */
  AstIdent input, output; /* BLOCK, STRATEGY: (input) -> output */
  AstIdent at_block;      /* STRATEGY: at BLOCK(...) */
  AstList body;           /* AstStmt* */
} AstDecl;

/* One source file of a program: the main file, then each library it imports (`use`). */
typedef struct {
  const char *path;   /* as opened; what locations in it carry */
  const char *source; /* the whole text, for quoting in diagnostics */
  const char *key;    /* the resolved real path, to import each file once */
} AstSourceFile;

struct AstProgram {
  Arena arena;
  const char *path;   /* as given */
  const char *source; /* the whole text, for diagnostics */
  AstList decls;      /* AstDecl*: the main file's, then each imported file's, in import order */
  NameTable decl_index; /* a top-level name -> its first declaration in `decls` (ast_add_decl) */
  AstList files;      /* AstSourceFile*: files[0] is the main file */
  const char *current_path; /* the file being parsed: locations name it */
};
typedef struct AstProgram AstProgram;

/* constructors used by the parser */
AstExpr *ast_expr(AstProgram *program, ExprKind kind, SourceLocation loc);
AstArg *ast_arg(AstProgram *program, SourceLocation loc, const char *name, AstExpr *value);
AstStmt *ast_stmt(AstProgram *program, StmtKind kind, SourceLocation loc);
AstDecl *ast_decl(AstProgram *program, DeclKind kind, SourceLocation loc);
AstIdent *ast_ident(AstProgram *program, SourceLocation loc, const char *name);
/* Appends `decl` to program->decls; a named one (not model or use) is indexed unless the name
 * was declared before. */
void ast_add_decl(AstProgram *program, AstDecl *decl);

#endif
