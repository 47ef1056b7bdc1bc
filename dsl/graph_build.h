/* graph_build.h — growing a Graph node by node (used by elaborate.c). */
#ifndef PERFT_DSL_GRAPH_BUILD_H
#define PERFT_DSL_GRAPH_BUILD_H

#include "ast.h"
#include "graph.h"

/* The Graph handed out by dsl_elaborate is the first member of this, so
 * dsl_free_graph can release the names with it. */
typedef struct {
  Graph graph;
  Arena strings;
  int node_capacity, output_capacity;
} OwnedGraph;

OwnedGraph *graph_create(void);
/* Appends a node of `kind` at `loc` with no operands and no results; returns its id. */
int graph_add_node(OwnedGraph *owned, NodeKind kind, SourceLocation loc);
void graph_add_operand(OwnedGraph *owned, int node, ValueRef operand);
void graph_add_result(OwnedGraph *owned, int node, TensorType type);
void graph_add_output(OwnedGraph *owned, const char *name, ValueRef value);
const char *graph_string(OwnedGraph *owned, const char *text);
static inline Node *graph_node(OwnedGraph *owned, int node) { return &owned->graph.nodes[node]; }

#endif
