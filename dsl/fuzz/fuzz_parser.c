/* fuzz_parser.c — libFuzzer target: any bytes through the parser and, when
 * they parse, through elaboration. Must never crash, leak or hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dsl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *sink;
  if (!sink) sink = fopen("/dev/null", "w");
  AstProgram *program = dsl_parse_buffer("fuzz.perft", (const char *)data, size, sink);
  if (program) {
    Graph *graph = dsl_elaborate(program, NULL, 0, sink);
    if (graph) dsl_print_graph(graph, sink);
    dsl_free_graph(graph);
    dsl_print_ast(program, sink);
    dsl_free_program(program);
  }
  return 0;
}
