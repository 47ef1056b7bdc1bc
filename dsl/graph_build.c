/* graph_build.c — appending nodes and outputs to a Graph; dsl_free_graph. */
#include "graph_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl.h"

static void *grow(void *items, int *capacity, size_t item_size) {
  int bigger = *capacity ? *capacity * 2 : 16;
  void *grown = realloc(items, item_size * (size_t)bigger);
  if (!grown) {
    fprintf(stderr, "perft: out of memory\n");
    abort();
  }
  *capacity = bigger;
  return grown;
}

OwnedGraph *graph_create(void) {
  OwnedGraph *owned = calloc(1, sizeof *owned);
  if (!owned) {
    fprintf(stderr, "perft: out of memory\n");
    abort();
  }
  owned->graph.loss = (ValueRef){-1, 0};
  owned->graph.target_input_node = -1;
  owned->graph.target_output_index = -1;
  owned->graph.dropout_seed_node = -1;
  owned->graph.classify_output_index = -1;
  owned->graph.classify_label_node = -1;
  return owned;
}

int graph_add_node(OwnedGraph *owned, NodeKind kind, SourceLocation loc) {
  Graph *graph = &owned->graph;
  if (graph->num_nodes == owned->node_capacity)
    graph->nodes = grow(graph->nodes, &owned->node_capacity, sizeof(Node));
  Node *node = &graph->nodes[graph->num_nodes];
  memset(node, 0, sizeof *node);
  node->kind = kind;
  node->loc = loc;
  return graph->num_nodes++;
}

void graph_add_operand(OwnedGraph *owned, int node, ValueRef operand) {
  Node *n = graph_node(owned, node);
  if (n->num_operands < GRAPH_MAX_OPERANDS) n->operands[n->num_operands++] = operand;
}

void graph_add_result(OwnedGraph *owned, int node, TensorType type) {
  Node *n = graph_node(owned, node);
  if (n->num_results < GRAPH_MAX_RESULTS) n->results[n->num_results++] = type;
}

void graph_add_output(OwnedGraph *owned, const char *name, ValueRef value) {
  Graph *graph = &owned->graph;
  if (graph->num_outputs == owned->output_capacity)
    graph->outputs = grow(graph->outputs, &owned->output_capacity, sizeof(GraphOutput));
  graph->outputs[graph->num_outputs].name = graph_string(owned, name);
  graph->outputs[graph->num_outputs].value = value;
  graph->num_outputs++;
}

const char *graph_string(OwnedGraph *owned, const char *text) {
  return arena_strdup(&owned->strings, text);
}

void dsl_free_graph(Graph *graph) {
  if (!graph) return;
  OwnedGraph *owned = (OwnedGraph *)graph;
  free(graph->nodes);
  free(graph->outputs);
  arena_free(&owned->strings);
  free(owned);
}
