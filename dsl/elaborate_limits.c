/* elaborate_limits.c — the limits of dsl_limits.h that elaboration enforces, checked after each
 * statement over the nodes it made, and on the work done so far:
 *
 *   input x : f32[2147483647, 2147483647]   ->  error: this tensor, f32[2147483647,2147483647], has
 *                                              4,611,686,014,132,420,609 elements; ...at most 2^40
 *   y = x @ w                                ->  (no second error: y is computed from x)
 *   layers l in L { ... } (L = 1000)         ->  error: the program has more than 20000 graph nodes
 *   layers l in L { 5000 assignments }       ->  error: ... more than 2000000 steps
 *
 * Element counts are computed with overflow checks: one past 2^63 is "more than 2^63".
 */
#include <stdio.h>

#include "dsl_limits.h"
#include "elaborate.h"

/* "1,099,511,627,776" */
static void with_commas(int64_t value, char *buffer, size_t size) {
  char digits[32];
  int length = snprintf(digits, sizeof digits, "%lld", (long long)value);
  size_t used = 0;
  for (int i = 0; i < length && used + 2 < size; i++) {
    buffer[used++] = digits[i];
    if (i + 1 < length && (length - i - 1) % 3 == 0) buffer[used++] = ',';
  }
  buffer[used] = '\0';
}

/* The elements of `type` in *elements; 0 when the count passes 2^63 - 1. */
static int count_elements(const TensorType *type, int64_t *elements) {
  int64_t count = 1;
  for (int d = 0; d < type->rank; d++)
    if (__builtin_mul_overflow(count, type->dims[d], &count)) return 0;
  *elements = count;
  return 1;
}

static int fits_limits(const TensorType *type) {
  int64_t elements;
  for (int d = 0; d < type->rank; d++)
    if (type->dims[d] > LIMIT_DIM) return 0;
  return count_elements(type, &elements) && elements <= LIMIT_TENSOR_ELEMENTS;
}

/* A node whose result passes a limit while every operand fits: where the oversized tensor starts. */
static const TensorType *oversized_origin(OwnedGraph *graph, const Node *node) {
  for (int i = 0; i < node->num_operands; i++) {
    const Node *operand = graph_node(graph, node->operands[i].node);
    if (!fits_limits(&operand->results[node->operands[i].result])) return NULL;
  }
  for (int i = 0; i < node->num_results; i++)
    if (!fits_limits(&node->results[i])) return &node->results[i];
  return NULL;
}

static void report_oversized(Elaborator *e, const Node *node, const TensorType *type) {
  char shape[160], count[32], limit[32];
  format_type(type, shape, sizeof shape);
  with_commas(LIMIT_TENSOR_ELEMENTS, limit, sizeof limit);
  for (int d = 0; d < type->rank; d++)
    if (type->dims[d] > LIMIT_DIM) {
      diag_error(e->diagnostics, node->loc, "this tensor, %s, has %lld along axis %d; an axis has at most 2^31-1",
                 shape, (long long)type->dims[d], d);
      return;
    }
  int64_t elements;
  if (count_elements(type, &elements))
    with_commas(elements, count, sizeof count);
  else
    snprintf(count, sizeof count, "more than 2^63");
  diag_error(e->diagnostics, node->loc, "this tensor, %s, has %s elements; a tensor has at most 2^40 (%s)", shape,
             count, limit);
}

/* Passing the node or the step limit, reported once: at a statement of the model or a layer, not
 * inside a block the user did not write. */
static void report_too_much(Elaborator *e, SourceLocation statement) {
  if (e->reported_too_much || e->application_depth > 0) return;
  e->reported_too_much = 1;
  if (e->graph->graph.num_nodes > LIMIT_GRAPH_NODES)
    diag_error(e->diagnostics, statement,
               "the program has more than %d graph nodes (params, inputs and operations) once its blocks and "
               "layers are expanded; this statement passes the limit (use fewer layers or smaller blocks)",
               LIMIT_GRAPH_NODES);
  else
    diag_error(e->diagnostics, statement,
               "expanding the program takes more than %d steps (statements, expressions and names, counted in "
               "every block and layer); this statement passes the limit (use fewer layers or smaller blocks)",
               LIMIT_ELABORATION_STEPS);
}

void check_after_statement(Elaborator *e, SourceLocation statement) {
  OwnedGraph *graph = e->graph;
  for (; e->checked_nodes < graph->graph.num_nodes; e->checked_nodes++) {
    const Node *node = graph_node(graph, e->checked_nodes);
    const TensorType *oversized = oversized_origin(graph, node);
    if (oversized) report_oversized(e, node, oversized);
  }
  if (graph->graph.num_nodes > LIMIT_GRAPH_NODES || e->steps > LIMIT_ELABORATION_STEPS) report_too_much(e, statement);
}

int elaboration_stopped(const Elaborator *e) {
  return e->graph->graph.num_nodes > LIMIT_GRAPH_NODES || e->steps > LIMIT_ELABORATION_STEPS ||
         diag_stopped(e->diagnostics);
}
