/* parser.y — the .perft grammar (bison, pure, with locations).
 *
 * Builds syntax only (ast.h); sema.c and elaborate.c check meaning.
 * Statements are separated by TERMINATOR: ';' or a newline (see lexer.l).
 * Errors recover at the next statement end or at the closing '}'.
 * Added for token models: `use NAME`, `unfreeze NAME`, layer stacks `NAME VAR in COUNT { }`,
 * `with S(args) when COND`, comparisons, bank members `b[e].P`, local names in route bodies.
 */
%define api.pure full
%define api.prefix {perft_yy}
%define parse.error detailed
%locations
%expect 0

%param {yyscan_t scanner}
%parse-param {AstProgram *program} {Diagnostics *diagnostics}

%code requires {
#include <string.h>

#include "ast.h"
#include "diagnostics.h"
#include "dsl_limits.h"
#ifndef YY_TYPEDEF_YY_SCANNER_T
#define YY_TYPEDEF_YY_SCANNER_T
typedef void *yyscan_t;
#endif
}

%code provides {
int perft_yylex(PERFT_YYSTYPE *value, PERFT_YYLTYPE *location, yyscan_t scanner);
}

%code {
static SourceLocation at(AstProgram *program, PERFT_YYLTYPE location) {
  SourceLocation loc = {program->current_path, location.first_line, location.first_column};
  return loc;
}
#define LOC(l) at(program, (l))
#define ARENA (&program->arena)

/* The parser's stack: LIMIT_PARSER_DEPTH open constructs ('(', '[', unary '-', ...). */
#define YYMAXDEPTH LIMIT_PARSER_DEPTH

static void perft_yyerror(PERFT_YYLTYPE *location, yyscan_t scanner, AstProgram *program,
                          Diagnostics *diagnostics, const char *message) {
  (void)scanner;
  if (strcmp(message, "memory exhausted") == 0) /* the stack of YYMAXDEPTH is full */
    diag_error(diagnostics, at(program, *location),
               "this is nested too deeply to parse: more than %d parentheses, brackets and operators are open "
               "here; split it with local names", LIMIT_PARSER_DEPTH);
  else
    diag_error(diagnostics, at(program, *location), "%s", message);
}

/* Sets expr->depth from its children. An expression deeper than LIMIT_EXPRESSION_DEPTH is an
 * error, reported once: at the node where it first passes the limit. */
static AstExpr *with_depth(Diagnostics *diagnostics, AstExpr *expr) {
  expr->depth = 1 + ast_expr_child_depth(expr);
  if (expr->depth == LIMIT_EXPRESSION_DEPTH + 1)
    diag_error(diagnostics, expr->loc,
               "this expression is more than %d levels deep (operators in one chain, calls in calls); split it "
               "with local names", LIMIT_EXPRESSION_DEPTH);
  return expr;
}
#define DEPTH(expr) with_depth(diagnostics, (expr))

static AstExpr *binary(AstProgram *program, Diagnostics *diagnostics, PERFT_YYLTYPE location, char op,
                       AstExpr *lhs, AstExpr *rhs) {
  AstExpr *expr = ast_expr(program, EXPR_BINARY, at(program, location));
  expr->op = op;
  expr->lhs = lhs;
  expr->rhs = rhs;
  return DEPTH(expr);
}
}

%union {
  double number;
  const char *text;
  AstExpr *expr;
  AstArg *arg;
  AstStmt *stmt;
  AstDecl *decl;
  AstList list;
  AstStrategyUse *strategy;
  AstNameRule *name_rule;
  int flag;
}

%token TERMINATOR "end of statement"
%token DIM "'dim'" EXPERT "'expert'" BLOCK "'block'" STRATEGY "'strategy'" MODEL "'model'"
%token AT "'at'" PARAM "'param'" BANK "'bank'" FN "'fn'" TRAIN "'train'" FROZEN "'frozen'"
%token INIT "'init'" INPUT "'input'" OUTPUT "'output'" LOSS "'loss'" AUX "'aux'"
%token ROUTE "'route'" WITH "'with'" USE "'use'" UNFREEZE "'unfreeze'" IN "'in'" WHEN "'when'"
%token CONFIG "'config'" NAMES "'names'" POOL "'pool'" BLOCKS "'blocks'" ALONG "'along'"
%token LE "'<='" GE "'>='" EQ "'=='" NE "'!='"
%token ARROW "'->'" TRANSPOSE "'^T'"
%token <text> IDENTIFIER "name"
%token <number> INTEGER "integer" REAL "number"
%token <text> STRING "string"

%type <expr> expr postfix primary
%type <arg> arg
%type <list> args args_opt dims strategies size_params size_params_opt body statements lets ranges name_rules
%type <expr> range
%type <stmt> statement
%type <decl> declaration
%type <strategy> strategy_use
%type <flag> trainability
%type <name_rule> name_rule

%nonassoc '<' '>' LE GE EQ NE
%left '+' '-'
%left '*' '/' '@'
%precedence NEGATE

%%

/* program: declarations separated by TERMINATOR */
program
  : declarations
  ;

declarations
  : optional_declaration
  | declarations TERMINATOR optional_declaration
  ;

optional_declaration
  : %empty
  | declaration  { ast_add_decl(program, $1); }
  | error
  ;

/* dim NAME = INT
 * expert NAME(sizes) { ... }
 * block NAME(sizes) (input) -> output { ... }
 * strategy NAME(sizes) at BLOCK(input) -> output { ... }
 * model { ... } */
declaration
  : DIM IDENTIFIER '=' expr
      { $$ = ast_decl(program, DECL_DIM, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2); $$->dim_expr = $4;
        $$->dim_value = $4->kind == EXPR_NUMBER && $4->number <= 1e15 ? (long long)$4->number : 0; }
  | DIM IDENTIFIER '=' expr CONFIG IDENTIFIER
      { $$ = ast_decl(program, DECL_DIM, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2); $$->dim_expr = $4;
        $$->dim_value = $4->kind == EXPR_NUMBER && $4->number <= 1e15 ? (long long)$4->number : 0;
        $$->config_key = $6; $$->config_loc = LOC(@6); }
  | NAMES IDENTIFIER '{' name_rules '}'
      { $$ = ast_decl(program, DECL_NAMES, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2); $$->name_rules = $4; }
  | EXPERT IDENTIFIER '(' size_params_opt ')' body
      { $$ = ast_decl(program, DECL_EXPERT, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2);
        $$->size_params = $4; $$->body = $6; }
  | BLOCK IDENTIFIER '(' size_params_opt ')' '(' IDENTIFIER ')' ARROW IDENTIFIER body
      { $$ = ast_decl(program, DECL_BLOCK, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2);
        $$->size_params = $4;
        $$->input = (AstIdent){LOC(@7), $7}; $$->output = (AstIdent){LOC(@10), $10};
        $$->body = $11; }
  | STRATEGY IDENTIFIER '(' size_params_opt ')' AT IDENTIFIER '(' IDENTIFIER ')' ARROW IDENTIFIER body
      { $$ = ast_decl(program, DECL_STRATEGY, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2);
        $$->size_params = $4; $$->at_block = (AstIdent){LOC(@7), $7};
        $$->input = (AstIdent){LOC(@9), $9}; $$->output = (AstIdent){LOC(@12), $12};
        $$->body = $13; }
  | MODEL body
      { $$ = ast_decl(program, DECL_MODEL, LOC(@1)); $$->body = $2; }
  /* use NAME: imports dsl/lib/NAME.perft (see parse.c for the search) */
  | USE IDENTIFIER
      { $$ = ast_decl(program, DECL_USE, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2); }
  ;

size_params_opt
  : %empty       { $$ = (AstList){0}; }
  | size_params
  ;

size_params
  : IDENTIFIER                  { $$ = (AstList){0}; ast_list_push(ARENA, &$$, ast_ident(program, LOC(@1), $1)); }
  | size_params ',' IDENTIFIER  { $$ = $1; ast_list_push(ARENA, &$$, ast_ident(program, LOC(@3), $3)); }
  ;

body
  : '{' statements '}'  { $$ = $2; }
  ;

/* "checkpoint pattern" = "program pattern", one per line */
name_rules
  : %empty                          { $$ = (AstList){0}; }
  | name_rule                       { $$ = (AstList){0}; ast_list_push(ARENA, &$$, $1); }
  | name_rules TERMINATOR           { $$ = $1; }
  | name_rules TERMINATOR name_rule { $$ = $1; ast_list_push(ARENA, &$$, $3); }
  ;

name_rule
  : STRING '=' STRING
      { $$ = arena_alloc(ARENA, sizeof *$$); $$->loc = LOC(@1); $$->checkpoint = $1; $$->param = $3;
        $$->param_loc = LOC(@3); }
  ;

statements
  : %empty                          { $$ = (AstList){0}; }
  | statement                       { $$ = (AstList){0}; ast_list_push(ARENA, &$$, $1); }
  | error                           { $$ = (AstList){0}; }
  | statements TERMINATOR           { $$ = $1; }
  | statements TERMINATOR statement { $$ = $1; ast_list_push(ARENA, &$$, $3); }
  | statements TERMINATOR error     { $$ = $1; }
  ;

statement
  /* param NAME : f32[dims] train|frozen [init INIT(args)] */
  : PARAM IDENTIFIER ':' IDENTIFIER '[' dims ']' trainability
      { $$ = ast_stmt(program, STMT_PARAM, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2);
        $$->type = (AstType){LOC(@4), $4, $6}; $$->trainable = $8; }
  | PARAM IDENTIFIER ':' IDENTIFIER '[' dims ']' trainability INIT IDENTIFIER '(' args_opt ')'
      { $$ = ast_stmt(program, STMT_PARAM, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2);
        $$->type = (AstType){LOC(@4), $4, $6}; $$->trainable = $8;
        $$->init_name = $10; $$->init_loc = LOC(@10); $$->init_args = $12; }
  /* param NAME : f32 train|frozen [init INIT(args)]: a scalar */
  | PARAM IDENTIFIER ':' IDENTIFIER trainability
      { $$ = ast_stmt(program, STMT_PARAM, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2);
        $$->type = (AstType){LOC(@4), $4, (AstList){0}}; $$->trainable = $5; }
  | PARAM IDENTIFIER ':' IDENTIFIER trainability INIT IDENTIFIER '(' args_opt ')'
      { $$ = ast_stmt(program, STMT_PARAM, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2);
        $$->type = (AstType){LOC(@4), $4, (AstList){0}}; $$->trainable = $5;
        $$->init_name = $7; $$->init_loc = LOC(@7); $$->init_args = $9; }
  /* bank NAME[count] = expert(args) */
  | BANK IDENTIFIER '[' expr ']' '=' IDENTIFIER '(' args_opt ')'
      { $$ = ast_stmt(program, STMT_BANK, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2);
        $$->value = $4; $$->expert_name = $7; $$->expert_loc = LOC(@7); $$->expert_args = $9; }
  /* NAME = expr [with strategy(args), ...] */
  | IDENTIFIER '=' expr
      { $$ = ast_stmt(program, STMT_ASSIGN, LOC(@1)); $$->name = $1; $$->name_loc = LOC(@1); $$->value = $3; }
  | IDENTIFIER '=' expr WITH strategies
      { $$ = ast_stmt(program, STMT_ASSIGN, LOC(@1)); $$->name = $1; $$->name_loc = LOC(@1); $$->value = $3;
        $$->strategies = $5; }
  /* (NAME, NAME) = expr */
  | '(' IDENTIFIER ',' IDENTIFIER ')' '=' expr
      { $$ = ast_stmt(program, STMT_PAIR_ASSIGN, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2);
        $$->second_name = $4; $$->second_loc = LOC(@4); $$->value = $7; }
  | AUX expr
      { $$ = ast_stmt(program, STMT_AUX, LOC(@1)); $$->value = $2; }
  /* blocks NAME[COUNT] [along AXIS]: for checkpoint names, param NAME is COUNT equal blocks */
  | BLOCKS IDENTIFIER '[' expr ']'
      { $$ = ast_stmt(program, STMT_BLOCKS, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2); $$->value = $4; }
  | BLOCKS IDENTIFIER '[' expr ']' ALONG INTEGER
      { $$ = ast_stmt(program, STMT_BLOCKS, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2); $$->value = $4;
        $$->trainable = (int)$7; /* the axis */ }
  /* pool load_balance (model): aux terms `c * load_balance(p, S)` pooled over the layers */
  | POOL IDENTIFIER
      { $$ = ast_stmt(program, STMT_POOL, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2); }

  /* input NAME : f32[dims] */
  | INPUT IDENTIFIER ':' IDENTIFIER '[' dims ']'
      { $$ = ast_stmt(program, STMT_INPUT, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2);
        $$->type = (AstType){LOC(@4), $4, $6}; }
  | OUTPUT IDENTIFIER
      { $$ = ast_stmt(program, STMT_OUTPUT, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2); }
  | LOSS expr
      { $$ = ast_stmt(program, STMT_LOSS, LOC(@1)); $$->value = $2; }
  /* fn (NAME) = expr */
  | FN '(' IDENTIFIER ')' '=' expr
      { $$ = ast_stmt(program, STMT_FN, LOC(@1)); $$->name = $3; $$->name_loc = LOC(@3); $$->value = $6; }
  /* unfreeze NAME | unfreeze all */
  | UNFREEZE IDENTIFIER
      { $$ = ast_stmt(program, STMT_UNFREEZE, LOC(@1)); $$->name = $2; $$->name_loc = LOC(@2); }
  /* NAME VAR in COUNT { statements } */
  | IDENTIFIER IDENTIFIER IN expr body
      { $$ = ast_stmt(program, STMT_STACK, LOC(@1)); $$->name = $1; $$->name_loc = LOC(@1);
        $$->second_name = $2; $$->second_loc = LOC(@2); $$->value = $4; $$->body = $5; }
  ;

/* 1 train, 0 frozen, 2 const (a constant: initialised by its rule, never loaded, saved or trained) */
trainability
  : TRAIN       { $$ = 1; }
  | FROZEN      { $$ = 0; }
  | IDENTIFIER  { $$ = 2;
                  if (strcmp($1, "const") != 0)
                    diag_error(diagnostics, LOC(@1), "expected train, frozen or const, found '%s'", $1); }
  ;

dims
  : expr           { $$ = (AstList){0}; ast_list_push(ARENA, &$$, $1); }
  | dims ',' expr  { $$ = $1; ast_list_push(ARENA, &$$, $3); }
  ;

strategies
  : strategy_use                 { $$ = (AstList){0}; ast_list_push(ARENA, &$$, $1); }
  | strategies ',' strategy_use  { $$ = $1; ast_list_push(ARENA, &$$, $3); }
  ;

/* NAME(args) [when COND] | NAME [when COND] */
strategy_use
  : IDENTIFIER '(' args_opt ')'
      { $$ = arena_alloc(ARENA, sizeof *$$); $$->loc = LOC(@1); $$->name = $1; $$->args = $3; }
  | IDENTIFIER
      { $$ = arena_alloc(ARENA, sizeof *$$); $$->loc = LOC(@1); $$->name = $1; }
  | IDENTIFIER '(' args_opt ')' WHEN expr
      { $$ = arena_alloc(ARENA, sizeof *$$); $$->loc = LOC(@1); $$->name = $1; $$->args = $3; $$->when = $6; }
  | IDENTIFIER WHEN expr
      { $$ = arena_alloc(ARENA, sizeof *$$); $$->loc = LOC(@1); $$->name = $1; $$->when = $3; }
  ;

args_opt
  : %empty  { $$ = (AstList){0}; }
  | args
  ;

args
  : arg           { $$ = (AstList){0}; ast_list_push(ARENA, &$$, $1); }
  | args ',' arg  { $$ = $1; ast_list_push(ARENA, &$$, $3); }
  ;

/* expr | NAME: expr */
arg
  : expr                 { $$ = ast_arg(program, $1->loc, NULL, $1); }
  | IDENTIFIER ':' expr  { $$ = ast_arg(program, LOC(@1), $1, $3); }
  ;

expr
  : expr '+' expr  { $$ = binary(program, diagnostics, @2, '+', $1, $3); }
  | expr '-' expr  { $$ = binary(program, diagnostics, @2, '-', $1, $3); }
  | expr '*' expr  { $$ = binary(program, diagnostics, @2, '*', $1, $3); }
  | expr '/' expr  { $$ = binary(program, diagnostics, @2, '/', $1, $3); }
  | expr '@' expr  { $$ = binary(program, diagnostics, @2, '@', $1, $3); }
  | expr '<' expr  { $$ = binary(program, diagnostics, @2, '<', $1, $3); $$->kind = EXPR_COMPARE; }
  | expr '>' expr  { $$ = binary(program, diagnostics, @2, '>', $1, $3); $$->kind = EXPR_COMPARE; }
  | expr LE expr   { $$ = binary(program, diagnostics, @2, 'l', $1, $3); $$->kind = EXPR_COMPARE; }
  | expr GE expr   { $$ = binary(program, diagnostics, @2, 'g', $1, $3); $$->kind = EXPR_COMPARE; }
  | expr EQ expr   { $$ = binary(program, diagnostics, @2, 'e', $1, $3); $$->kind = EXPR_COMPARE; }
  | expr NE expr   { $$ = binary(program, diagnostics, @2, 'n', $1, $3); $$->kind = EXPR_COMPARE; }
  | '-' expr %prec NEGATE
      { $$ = ast_expr(program, EXPR_NEGATE, LOC(@1)); $$->lhs = $2; DEPTH($$); }
  | postfix
  ;

postfix
  : primary
  | postfix '(' args_opt ')'
      { $$ = ast_expr(program, EXPR_CALL, $1->loc); $$->lhs = $1; $$->args = $3; DEPTH($$); }
  | postfix '[' expr ']'
      { $$ = ast_expr(program, EXPR_INDEX, $1->loc); $$->lhs = $1; $$->rhs = $3; DEPTH($$); }
  | postfix '[' ranges ']'
      { $$ = ast_expr(program, EXPR_SLICE, $1->loc); $$->lhs = $1; $$->args = $3; DEPTH($$); }
  | postfix TRANSPOSE
      { $$ = ast_expr(program, EXPR_TRANSPOSE, $1->loc); $$->lhs = $1; DEPTH($$); }
  | postfix '.' IDENTIFIER
      { $$ = ast_expr(program, EXPR_MEMBER, $1->loc); $$->lhs = $1; $$->name = $3; DEPTH($$); }
  ;

/* the axes of a slice: start:stop, or ':' for a whole axis */
ranges
  : range             { $$ = (AstList){0}; ast_list_push(ARENA, &$$, ast_arg(program, $1->loc, NULL, $1)); }
  | ranges ',' range  { $$ = $1; ast_list_push(ARENA, &$$, ast_arg(program, $3->loc, NULL, $3)); }
  ;
range
  : expr ':' expr  { $$ = ast_expr(program, EXPR_RANGE, LOC(@2)); $$->lhs = $1; $$->rhs = $3; DEPTH($$); }
  | ':'            { $$ = ast_expr(program, EXPR_RANGE, LOC(@1)); }
  ;

primary
  : IDENTIFIER
      { $$ = ast_expr(program, EXPR_NAME, LOC(@1)); $$->name = $1; }
  | INTEGER
      { $$ = ast_expr(program, EXPR_NUMBER, LOC(@1)); $$->number = $1; $$->is_integer = 1; }
  | REAL
      { $$ = ast_expr(program, EXPR_NUMBER, LOC(@1)); $$->number = $1; }
  | '(' expr ')'
      { $$ = $2; }
  /* route(rows, indices, weights) { [NAME = expr TERMINATOR]... body } */
  | ROUTE '(' args_opt ')' '{' terminators lets expr terminators '}'
      { $$ = ast_expr(program, EXPR_ROUTE, LOC(@1)); $$->args = $3; $$->lets = $7; $$->rhs = $8; DEPTH($$); }
  | ROUTE '(' args_opt ')' '{' error '}'  /* recover at the body's own '}' */
      { $$ = ast_expr(program, EXPR_ROUTE, LOC(@1)); $$->args = $3;
        $$->rhs = ast_expr(program, EXPR_NUMBER, LOC(@5)); DEPTH($$); }
  ;

/* local names of a route body: NAME = expr or (NAME, NAME) = top_k(...), each ended by ';' or a newline */
lets
  : %empty  { $$ = (AstList){0}; }
  | lets IDENTIFIER '=' expr TERMINATOR terminators
      { $$ = $1; AstStmt *let = ast_stmt(program, STMT_ASSIGN, LOC(@2)); let->name = $2; let->name_loc = LOC(@2);
        let->value = $4; ast_list_push(ARENA, &$$, let); }
  /* (w, i) = top_k(...): the pair, for a route nested in this body */
  | lets '(' IDENTIFIER ',' IDENTIFIER ')' '=' expr TERMINATOR terminators
      { $$ = $1; AstStmt *let = ast_stmt(program, STMT_PAIR_ASSIGN, LOC(@2)); let->name = $3; let->name_loc = LOC(@3);
        let->second_name = $5; let->second_loc = LOC(@5); let->value = $8; ast_list_push(ARENA, &$$, let); }
  ;

terminators
  : %empty
  | terminators TERMINATOR
  ;

%%
