/* perft-dsl-check — parse and elaborate a .perft file, print the AST or the graph.
 *
 *   perft-dsl-check [--ast] [--graph] [-DNAME=VALUE ...] FILE
 *
 * Exit status 0 when the program is valid, 1 when it has errors (printed to
 * stderr), 2 on bad usage. Used by tests/dsl. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl.h"

enum { MAX_OVERRIDES = 64 };

static int usage(void) {
  fprintf(stderr, "usage: perft-dsl-check [--ast] [--graph] [-DNAME=VALUE ...] FILE\n");
  return 2;
}

int main(int argc, char **argv) {
  int print_ast = 0, print_graph = 0;
  const char *path = NULL;
  DimOverride overrides[MAX_OVERRIDES];
  int num_overrides = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--ast") == 0) {
      print_ast = 1;
    } else if (strcmp(arg, "--graph") == 0) {
      print_graph = 1;
    } else if (strncmp(arg, "-D", 2) == 0) {
      const char *equals = strchr(arg, '=');
      if (!equals || equals == arg + 2 || num_overrides == MAX_OVERRIDES) return usage();
      char *end;
      errno = 0;
      long long value = strtoll(equals + 1, &end, 10);
      if (*end || end == equals + 1 || errno) {
        fprintf(stderr, "perft-dsl-check: '%s': the value is not an integer\n", arg);
        return 2;
      }
      char *name = strndup(arg + 2, (size_t)(equals - arg - 2));
      overrides[num_overrides++] = (DimOverride){name, value};
    } else if (arg[0] == '-' || path) {
      return usage();
    } else {
      path = arg;
    }
  }
  if (!path) return usage();
  int status = 1;
  AstProgram *program = dsl_parse_file(path, stderr);
  if (program) {
    if (print_ast) dsl_print_ast(program, stdout);
    Graph *graph = dsl_elaborate(program, overrides, num_overrides, stderr);
    if (graph) {
      if (print_graph) dsl_print_graph(graph, stdout);
      status = 0;
    }
    dsl_free_graph(graph);
    dsl_free_program(program);
  }
  for (int i = 0; i < num_overrides; i++) free((char *)overrides[i].name);
  return status;
}
