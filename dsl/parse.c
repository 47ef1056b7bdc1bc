/* parse.c — dsl_parse_file / dsl_parse_buffer: run the scanner and parser
 * over a source text and hand back the syntax tree; then `use NAME`:
 *
 *   use peft      ->  the declarations of peft.perft are appended to the program
 *
 * NAME.perft is looked for in the importing file's directory, then in each
 * directory of $PERFT_LIB (':'-separated), then in the directory given to
 * dsl_set_library_path, then in the source tree's dsl/lib (built in). Each file
 * is imported once (by real path); a file that imports itself, directly or
 * through others, is an import cycle. A library holds only `use`, `expert`,
 * `block` and `strategy`; locations inside it name the library's own path. */
#define _DEFAULT_SOURCE /* realpath, PATH_MAX */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsl.h"
#include "lexer_state.h"
#include "parser.h"
#define YYSTYPE PERFT_YYSTYPE
#define YYLTYPE PERFT_YYLTYPE
#include "lexer.h"

#ifndef PERFT_DSL_DEFAULT_LIB
#define PERFT_DSL_DEFAULT_LIB ""
#endif

int perft_yyparse(yyscan_t scanner, AstProgram *program, Diagnostics *diagnostics);

static char *library_directory;

void dsl_set_library_path(const char *dir) {
  free(library_directory);
  library_directory = dir ? strdup(dir) : NULL;
}

/* Parses `text` as file `path` of `program`, appending its declarations. */
static int parse_text(AstProgram *program, const char *path, const char *text, size_t length,
                      Diagnostics *diagnostics) {
  AstSourceFile *file = arena_alloc(&program->arena, sizeof *file);
  file->path = path == program->path ? path : arena_strdup(&program->arena, path);
  file->source = arena_strndup(&program->arena, text, length);
  char resolved[PATH_MAX];
  file->key = arena_strdup(&program->arena, realpath(path, resolved) ? resolved : path);
  ast_list_push(&program->arena, &program->files, file);
  program->current_path = file->path;

  LexerState state = {program, diagnostics, 1, 1, 0, 0, 0};
  yyscan_t scanner;
  if (perft_yylex_init_extra(&state, &scanner) != 0) return 0;
  YY_BUFFER_STATE buffer = perft_yy_scan_bytes(text, (int)length, scanner);
  int status = perft_yyparse(scanner, program, diagnostics);
  perft_yy_delete_buffer(buffer, scanner);
  perft_yylex_destroy(scanner);
  return status == 0;
}

/* The whole content of `path` (malloc'd), or NULL. */
static char *read_file(const char *path, size_t *length_out) {
  FILE *file = fopen(path, "rb");
  if (!file) return NULL;
  size_t capacity = 1 << 16, length = 0;
  char *text = malloc(capacity);
  size_t got;
  while (text && (got = fread(text + length, 1, capacity - length, file)) > 0) {
    length += got;
    if (length == capacity) {
      char *bigger = realloc(text, capacity * 2);
      if (!bigger) {
        free(text);
        text = NULL;
        break;
      }
      text = bigger;
      capacity *= 2;
    }
  }
  int read_failed = ferror(file);
  fclose(file);
  if (!text || read_failed) {
    free(text);
    return NULL;
  }
  *length_out = length;
  return text;
}

/* `dir/name.perft` into `out` when that file exists. */
static int try_directory(const char *dir, size_t dir_length, const char *name, char *out, size_t size) {
  if (dir_length == 0) return 0;
  int written = snprintf(out, size, "%.*s/%s.perft", (int)dir_length, dir, name);
  return written > 0 && (size_t)written < size && access(out, R_OK) == 0;
}

static int find_library(const char *importer, const char *name, char *out, size_t size) {
  const char *slash = strrchr(importer, '/');
  if (slash ? try_directory(importer, (size_t)(slash - importer), name, out, size)
            : try_directory(".", 1, name, out, size)) {
    if (!slash) memmove(out, out + 2, strlen(out + 2) + 1); /* "./x.perft" -> "x.perft" */
    return 1;
  }
  const char *env = getenv("PERFT_LIB");
  while (env && *env) {
    const char *colon = strchr(env, ':');
    size_t length = colon ? (size_t)(colon - env) : strlen(env);
    if (try_directory(env, length, name, out, size)) return 1;
    env = colon ? colon + 1 : NULL;
  }
  if (library_directory && try_directory(library_directory, strlen(library_directory), name, out, size)) return 1;
  return try_directory(PERFT_DSL_DEFAULT_LIB, strlen(PERFT_DSL_DEFAULT_LIB), name, out, size);
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

enum { MAX_IMPORT_DEPTH = 64 };

/* Imports what file `files[file_index]` uses; its declarations are decls[first, last). */
static void load_imports(AstProgram *program, int file_index, int first, int last, int *stack, int depth,
                         Diagnostics *diagnostics) {
  const AstSourceFile *importer = program->files.items[file_index];
  for (int i = first; i < last; i++) {
    const AstDecl *decl = program->decls.items[i];
    if (file_index > 0 && decl->kind != DECL_USE && decl->kind != DECL_EXPERT && decl->kind != DECL_BLOCK &&
        decl->kind != DECL_STRATEGY && decl->kind != DECL_NAMES) {
      diag_error(diagnostics, decl->loc, "a library holds only use, expert, block, strategy and names declarations");
      continue;
    }
    if (decl->kind != DECL_USE) continue;
    char path[PATH_MAX + 64];
    if (!find_library(importer->path, decl->name, path, sizeof path)) {
      diag_error(diagnostics, decl->name_loc,
                 "cannot find library '%s' (%s.perft in the importing file's directory, $PERFT_LIB or dsl/lib)",
                 decl->name, decl->name);
      continue;
    }
    char resolved[PATH_MAX];
    const char *key = realpath(path, resolved) ? resolved : path;
    int on_stack = -1, loaded = 0;
    for (int j = 0; j < depth; j++) {
      const AstSourceFile *open = program->files.items[stack[j]];
      if (strcmp(open->key, key) == 0) on_stack = j;
    }
    if (on_stack >= 0) {
      char chain[1024] = "";
      size_t used = 0;
      for (int j = on_stack; j < depth && used < sizeof chain; j++) {
        const AstSourceFile *open = program->files.items[stack[j]];
        used += (size_t)snprintf(chain + used, sizeof chain - used, "%s -> ", base_name(open->path));
      }
      diag_error(diagnostics, decl->loc, "import cycle: %s%s", used < sizeof chain ? chain : "", base_name(path));
      continue;
    }
    for (int j = 0; j < program->files.count; j++)
      if (strcmp(((const AstSourceFile *)program->files.items[j])->key, key) == 0) loaded = 1;
    if (loaded) continue;
    if (depth >= MAX_IMPORT_DEPTH) {
      diag_error(diagnostics, decl->loc, "libraries import each other too deeply");
      continue;
    }
    size_t length = 0;
    char *text = read_file(path, &length);
    if (!text) {
      diag_error(diagnostics, decl->name_loc, "cannot read library '%s'", path);
      continue;
    }
    int before = program->decls.count;
    int index = program->files.count;
    parse_text(program, path, text, length, diagnostics);
    free(text);
    stack[depth] = index;
    load_imports(program, index, before, program->decls.count, stack, depth + 1, diagnostics);
  }
}

AstProgram *dsl_parse_buffer(const char *path, const char *text, size_t length, FILE *diagnostics_out) {
  AstProgram *program = calloc(1, sizeof *program);
  if (!program) return NULL;
  program->path = arena_strdup(&program->arena, path);
  program->source = arena_strndup(&program->arena, text, length);

  Diagnostics diagnostics = {diagnostics_out, program->source, 0, &program->files};
  int ok = parse_text(program, program->path, text, length, &diagnostics);
  if (ok && diagnostics.error_count == 0) {
    int stack[MAX_IMPORT_DEPTH + 1] = {0};
    load_imports(program, 0, 0, program->decls.count, stack, 1, &diagnostics);
  }
  program->current_path = program->path;
  if (!ok || diagnostics.error_count > 0) {
    dsl_free_program(program);
    return NULL;
  }
  return program;
}

AstProgram *dsl_parse_file(const char *path, FILE *diagnostics) {
  size_t length = 0;
  char *text = read_file(path, &length);
  if (!text) {
    FILE *file = fopen(path, "rb");
    if (diagnostics) fprintf(diagnostics, "perft: error: cannot %s '%s'\n", file ? "read" : "open", path);
    if (file) fclose(file);
    return NULL;
  }
  AstProgram *program = dsl_parse_buffer(path, text, length, diagnostics);
  free(text);
  return program;
}

void dsl_free_program(AstProgram *program) {
  if (!program) return;
  arena_free(&program->arena);
  free(program);
}
