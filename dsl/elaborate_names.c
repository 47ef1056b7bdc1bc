/* elaborate_names.c — `names MAP { "checkpoint pattern" = "program pattern" ... }`: the names a
 * parameter has in a checkpoint written by someone else (a Hugging Face model folder, the official
 * PERFT code), resolved here, once, for every parameter of the elaborated program.
 *
 *   names hf {
 *     "model.layers.{l}.mlp.gate.weight" = "layers.{l}.moe.router"
 *     "model.layers.{l}.mlp.experts.{e}.gate_proj.weight" = "layers.{l}.moe.experts.{e}.w1"
 *   }
 *
 * A parameter of a bank (stacked [E, ...], e.g. layers.0.moe.experts.w1) is matched one expert at
 * a time, under the name with the expert's number after the bank's (layers.0.moe.experts.3.w1):
 * checkpoints store experts one by one. {x} matches a nonempty run of characters; the first rule
 * that matches wins; a name no rule matches stays as it is. A rule of the program's own file that
 * matches no parameter (a library's map serves many programs), a checkpoint name given to two
 * parameters, or a {x} the program pattern lacks is an error.
 *
 * A parameter split by `blocks NAME[COUNT] along AXIS` is matched block by block, as NAME.j.
 *
 * The result is Graph.checkpoint_names, one line per parameter (or expert of a bank parameter):
 *   MAP PARAM SLICE CHECKPOINT_NAME          (SLICE: the expert's index, -1 for the whole tensor)
 *   MAP PARAM BLOCK CHECKPOINT_NAME COUNT AXIS   (a block of a `blocks` parameter)
 * which the manifest carries to the runtime (`--base DIR` reads with the map named hf).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elaborate.h"
#include "name_table.h"

enum { MAX_WILDCARDS = 8, MAX_NAME = 1024 };

typedef struct {
  int count;
  const char *names[MAX_WILDCARDS]; int name_lengths[MAX_WILDCARDS];
  const char *values[MAX_WILDCARDS]; int value_lengths[MAX_WILDCARDS];
} Bindings;

/* The wildcard {name} at pattern (pattern[0] == '{'): its length including braces, or 0 if malformed. */
static int wildcard_length(const char *pattern) {
  int n = 1;
  while (pattern[n] && pattern[n] != '}' && pattern[n] != '{') n++;
  return pattern[n] == '}' && n > 1 ? n + 1 : 0;
}

static int find_binding(const Bindings *b, const char *name, int length) {
  for (int i = 0; i < b->count; i++)
    if (b->name_lengths[i] == length && strncmp(b->names[i], name, (size_t)length) == 0) return i;
  return -1;
}

/* Does text match pattern, with b's bindings (extended on success)? Wildcards try the shortest
 * runs first. */
static int match(const char *pattern, const char *text, Bindings *b) {
  while (*pattern && *pattern != '{') {
    if (*pattern != *text) return 0;
    pattern++, text++;
  }
  if (!*pattern) return !*text;
  int length = wildcard_length(pattern);
  const char *name = pattern + 1;
  int bound = find_binding(b, name, length - 2);
  if (bound >= 0) {
    size_t n = (size_t)b->value_lengths[bound];
    return strncmp(text, b->values[bound], n) == 0 && match(pattern + length, text + n, b);
  }
  if (b->count == MAX_WILDCARDS) return 0;
  int slot = b->count++;
  b->names[slot] = name, b->name_lengths[slot] = length - 2, b->values[slot] = text;
  for (int n = 1; text[n - 1]; n++) {
    b->value_lengths[slot] = n;
    if (match(pattern + length, text + n, b)) return 1;
  }
  b->count--;
  return 0;
}

/* pattern with its wildcards replaced by their values, into out. 0 when it does not fit. */
static int substitute(const char *pattern, const Bindings *b, char *out, size_t size) {
  size_t used = 0;
  while (*pattern) {
    const char *piece = pattern;
    size_t n = 1;
    if (*pattern == '{') {
      int length = wildcard_length(pattern);
      int i = find_binding(b, pattern + 1, length - 2);
      piece = b->values[i], n = (size_t)b->value_lengths[i];
      pattern += length;
    } else {
      pattern++;
    }
    if (used + n + 1 > size) return 0;
    memcpy(out + used, piece, n);
    used += n;
  }
  out[used] = 0;
  return 1;
}

/* A pattern: printable, no spaces, braces only around a nonempty {name}; at most MAX_WILDCARDS. */
static int check_pattern(Elaborator *e, const char *pattern, SourceLocation loc) {
  int wildcards = 0;
  for (const char *c = pattern; *c; c++) {
    if (*c <= ' ' || *c == 127) {
      diag_error(e->diagnostics, loc, "a name pattern may not hold spaces or control characters");
      return 0;
    }
    if (*c == '}') {
      diag_error(e->diagnostics, loc, "'}' without '{' in name pattern \"%s\"", pattern);
      return 0;
    }
    if (*c == '{') {
      int length = wildcard_length(c);
      if (!length) {
        diag_error(e->diagnostics, loc, "malformed wildcard in name pattern \"%s\" (write {name})", pattern);
        return 0;
      }
      if (++wildcards > MAX_WILDCARDS) {
        diag_error(e->diagnostics, loc, "a name pattern has at most %d wildcards", MAX_WILDCARDS);
        return 0;
      }
      c += length - 1;
    }
  }
  if (!*pattern) diag_error(e->diagnostics, loc, "an empty name pattern");
  return *pattern != 0;
}

/* Every {x} of the checkpoint pattern is one of the program pattern's. */
static int check_rule(Elaborator *e, const AstNameRule *rule) {
  if (!check_pattern(e, rule->checkpoint, rule->loc) || !check_pattern(e, rule->param, rule->param_loc)) return 0;
  for (const char *c = strchr(rule->checkpoint, '{'); c; c = strchr(c + 1, '{')) {
    int length = wildcard_length(c);
    int found = 0;
    for (const char *d = strchr(rule->param, '{'); d && !found; d = strchr(d + 1, '{'))
      found = wildcard_length(d) == length && strncmp(c, d, (size_t)length) == 0;
    if (!found) {
      diag_error(e->diagnostics, rule->loc, "%.*s is not in the program pattern \"%s\"", length, c, rule->param);
      return 0;
    }
  }
  return 1;
}

static void resolve_map(Elaborator *e, const AstDecl *decl, FILE *out) {
  int ok = 1;
  for (int r = 0; r < decl->name_rules.count; r++) ok &= check_rule(e, decl->name_rules.items[r]);
  if (!ok) return;
  int *used = calloc((size_t)decl->name_rules.count + 1, sizeof *used);
  NameTable given = {0};       /* checkpoint name -> index into owners */
  const char **owners = NULL;  /* the program name each checkpoint name was given to */
  int num_given = 0, capacity = 0;
  const Graph *graph = &e->graph->graph;
  for (int n = 0; n < graph->num_nodes && ok; n++) {
    const Node *node = &graph->nodes[n];
    if (node->kind != NODE_PARAM || node->constant) continue;
    int bank = node->bank_name_length > 0, blocked = node->blocks > 0;
    int64_t slices = bank ? node->results[0].dims[0] : blocked ? node->blocks : 1;
    for (int64_t s = 0; s < slices && ok; s++) {
      char program_name[MAX_NAME], checkpoint[MAX_NAME];
      if (bank)
        snprintf(program_name, sizeof program_name, "%.*s.%lld%s", node->bank_name_length, node->name, (long long)s,
                 node->name + node->bank_name_length);
      else if (blocked)
        snprintf(program_name, sizeof program_name, "%s.%lld", node->name, (long long)s);
      else
        snprintf(program_name, sizeof program_name, "%s", node->name);
      for (int r = 0; r < decl->name_rules.count; r++) {
        const AstNameRule *rule = decl->name_rules.items[r];
        Bindings b = {0};
        if (!match(rule->param, program_name, &b)) continue;
        used[r] = 1;
        if (!substitute(rule->checkpoint, &b, checkpoint, sizeof checkpoint)) {
          diag_error(e->diagnostics, rule->loc, "the checkpoint name for '%s' is longer than %d characters",
                     program_name, MAX_NAME - 1);
          ok = 0;
          break;
        }
        int earlier = name_table_find(&given, checkpoint);
        if (earlier >= 0) {
          diag_error(e->diagnostics, rule->loc, "names %s: '%s' and '%s' both get the checkpoint name '%s'",
                     decl->name, owners[earlier], program_name, checkpoint);
          ok = 0;
          break;
        }
        if (num_given == capacity) {
          capacity = capacity ? 2 * capacity : 64;
          owners = realloc(owners, sizeof *owners * (size_t)capacity);
        }
        owners[num_given] = arena_strdup(&e->scratch, program_name);
        name_table_put(&given, &e->scratch, arena_strdup(&e->scratch, checkpoint), num_given);
        num_given++;
        if (blocked)
          fprintf(out, "%s %s %lld %s %d %d\n", decl->name, node->name, (long long)s, checkpoint, node->blocks,
                  node->block_axis);
        else
          fprintf(out, "%s %s %lld %s\n", decl->name, node->name, bank ? (long long)s : -1LL, checkpoint);
        break;
      }
    }
  }
  /* a library's map serves many programs; a rule of the program's own map that matches nothing is a typo */
  int own = decl->loc.file && strcmp(decl->loc.file, e->program->path) == 0;
  for (int r = 0; r < decl->name_rules.count && ok && own; r++)
    if (!used[r]) {
      const AstNameRule *rule = decl->name_rules.items[r];
      diag_error(e->diagnostics, rule->param_loc, "names %s: \"%s\" matches no parameter of the program", decl->name,
                 rule->param);
    }
  free(used);
  free(owners);
}

void elaborate_names(Elaborator *e) {
  char *text = NULL;
  size_t length = 0;
  FILE *out = open_memstream(&text, &length);
  if (!out) return;
  for (int i = 0; i < e->program->decls.count; i++) {
    const AstDecl *decl = e->program->decls.items[i];
    if (decl->kind == DECL_NAMES) resolve_map(e, decl, out);
  }
  fclose(out);
  if (length) e->graph->graph.checkpoint_names = graph_string(e->graph, text);
  free(text);
}
