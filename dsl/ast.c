/* ast.c — arena allocation and constructors for the syntax tree. */
#include "ast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ArenaChunk {
  ArenaChunk *next;
  size_t used, size;
  /* followed by `size` bytes, max-aligned */
};

enum { ARENA_CHUNK_SIZE = 64 * 1024, ARENA_ALIGN = 16 };

static size_t chunk_header_size(void) {
  return (sizeof(ArenaChunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

void *arena_alloc(Arena *arena, size_t size) {
  size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  ArenaChunk *chunk = arena->chunks;
  if (!chunk || chunk->used + size > chunk->size) {
    size_t capacity = size > ARENA_CHUNK_SIZE ? size : ARENA_CHUNK_SIZE;
    chunk = malloc(chunk_header_size() + capacity);
    if (!chunk) {
      fprintf(stderr, "perft: out of memory\n");
      abort();
    }
    chunk->next = arena->chunks;
    chunk->used = 0;
    chunk->size = capacity;
    arena->chunks = chunk;
  }
  char *memory = (char *)chunk + chunk_header_size() + chunk->used;
  chunk->used += size;
  memset(memory, 0, size);
  return memory;
}

char *arena_strndup(Arena *arena, const char *text, size_t length) {
  char *copy = arena_alloc(arena, length + 1);
  memcpy(copy, text, length);
  copy[length] = '\0';
  return copy;
}

char *arena_strdup(Arena *arena, const char *text) {
  return arena_strndup(arena, text, strlen(text));
}

void arena_free(Arena *arena) {
  ArenaChunk *chunk = arena->chunks;
  while (chunk) {
    ArenaChunk *next = chunk->next;
    free(chunk);
    chunk = next;
  }
  arena->chunks = NULL;
}

void ast_list_push(Arena *arena, AstList *list, void *item) {
  if (list->count == list->capacity) {
    int capacity = list->capacity ? list->capacity * 2 : 4;
    void **items = arena_alloc(arena, sizeof(void *) * (size_t)capacity);
    if (list->count) memcpy(items, list->items, sizeof(void *) * (size_t)list->count);
    list->items = items;
    list->capacity = capacity;
  }
  list->items[list->count++] = item;
}

AstExpr *ast_expr(AstProgram *program, ExprKind kind, SourceLocation loc) {
  AstExpr *expr = arena_alloc(&program->arena, sizeof *expr);
  expr->kind = kind;
  expr->loc = loc;
  return expr;
}

AstArg *ast_arg(AstProgram *program, SourceLocation loc, const char *name, AstExpr *value) {
  AstArg *arg = arena_alloc(&program->arena, sizeof *arg);
  arg->loc = loc;
  arg->name = name;
  arg->value = value;
  return arg;
}

AstStmt *ast_stmt(AstProgram *program, StmtKind kind, SourceLocation loc) {
  AstStmt *stmt = arena_alloc(&program->arena, sizeof *stmt);
  stmt->kind = kind;
  stmt->loc = loc;
  return stmt;
}

AstDecl *ast_decl(AstProgram *program, DeclKind kind, SourceLocation loc) {
  AstDecl *decl = arena_alloc(&program->arena, sizeof *decl);
  decl->kind = kind;
  decl->loc = loc;
  return decl;
}

void ast_add_decl(AstProgram *program, AstDecl *decl) {
  ast_list_push(&program->arena, &program->decls, decl);
  if (decl->kind == DECL_MODEL || decl->kind == DECL_USE || decl->kind == DECL_NAMES) return;
  if (name_table_find(&program->decl_index, decl->name) < 0)
    name_table_put(&program->decl_index, &program->arena, decl->name, program->decls.count - 1);
}

static int deeper(int depth, const AstExpr *expr) { return expr && expr->depth > depth ? expr->depth : depth; }

int ast_expr_child_depth(const AstExpr *expr) {
  int depth = deeper(deeper(0, expr->lhs), expr->rhs);
  for (int i = 0; i < expr->args.count; i++) depth = deeper(depth, ((const AstArg *)expr->args.items[i])->value);
  for (int i = 0; i < expr->lets.count; i++) depth = deeper(depth, ((const AstStmt *)expr->lets.items[i])->value);
  return depth;
}

AstIdent *ast_ident(AstProgram *program, SourceLocation loc, const char *name) {
  AstIdent *ident = arena_alloc(&program->arena, sizeof *ident);
  ident->loc = loc;
  ident->name = name;
  return ident;
}

const char *ast_compare_text(char op) {
  switch (op) {
  case '<': return "<";
  case '>': return ">";
  case 'l': return "<=";
  case 'g': return ">=";
  case 'e': return "==";
  default: return "!=";
  }
}
