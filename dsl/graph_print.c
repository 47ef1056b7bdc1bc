/* graph_print.c — dsl_print_graph: one line per node, for golden tests.
 *
 *   %4 = matmul %3, %0 transpose_b=1 : f32[64,8] @33:22
 *   %6 = top_k %5 k=2 renormalize=0 : f32[64,2], i32[64,2] @34:12
 *   output y = %40
 *   loss = %45
 * A param made by a strategy (an adapter param, Node.value = 1) reads `train adapter`.
 */
#include <stdio.h>

#include "dsl.h"

static const char *kind_name(NodeKind kind) {
  switch (kind) {
  case NODE_PARAM: return "param";
  case NODE_INPUT: return "input";
  case NODE_CONST: return "const";
  case NODE_MATMUL: return "matmul";
  case NODE_ADD: return "add";
  case NODE_SUB: return "sub";
  case NODE_MUL: return "mul";
  case NODE_DIV: return "div";
  case NODE_SCALE: return "scale";
  case NODE_SILU: return "silu";
  case NODE_SOFTMAX: return "softmax";
  case NODE_TOP_K: return "top_k";
  case NODE_DISPATCH: return "dispatch";
  case NODE_GROUPED_MATMUL: return "grouped_matmul";
  case NODE_COMBINE: return "combine";
  case NODE_LOAD_BALANCE: return "load_balance";
  case NODE_EXPERT_FRACTION: return "expert_fraction";
  case NODE_MSE: return "mse";
  case NODE_RMSNORM: return "rmsnorm";
  case NODE_EMBEDDING: return "embedding";
  case NODE_CROSS_ENTROPY: return "cross_entropy";
  case NODE_DROPOUT: return "dropout";
  case NODE_UNARY: return "unary";
  case NODE_MAXIMUM: return "maximum";
  case NODE_MINIMUM: return "minimum";
  case NODE_LOG_SOFTMAX: return "log_softmax";
  case NODE_REDUCE: return "reduce";
  case NODE_BROADCAST: return "broadcast";
  case NODE_EXPERT_ROWS: return "expert_rows";
  case NODE_COMPARE: return "compare";
  case NODE_TRANSPOSE: return "transpose";
  case NODE_NEST_INDICES: return "nest_indices";
  case NODE_GATHER: return "gather";
  case NODE_EC_DISPATCH: return "ec_dispatch";
  case NODE_EC_COMBINE: return "ec_combine";
  case NODE_ROPE: return "rope";
  case NODE_CAUSAL_ATTENTION: return "causal_attention";
  case NODE_WHERE: return "where";
  }
  return "?";
}

static void print_ref(ValueRef ref, FILE *out) {
  if (ref.result) fprintf(out, "%%%d#%d", ref.node, ref.result);
  else fprintf(out, "%%%d", ref.node);
}

static void print_type(const TensorType *type, FILE *out) {
  fputs(type->dtype == DTYPE_I32 ? "i32[" : "f32[", out);
  for (int i = 0; i < type->rank; i++) fprintf(out, "%s%lld", i ? "," : "", (long long)type->dims[i]);
  fputc(']', out);
}

static void print_attributes(const Node *node, FILE *out) {
  switch (node->kind) {
  case NODE_PARAM:
    fprintf(out, " \"%s\" %s%s", node->name, node->trainable ? "train" : "frozen", node->value == 1.0 ? " adapter" : "");
    if (node->init.kind == INIT_NORMAL) fprintf(out, " normal(%g, %g)", node->init.mean, node->init.std);
    else if (node->init.kind == INIT_CONST) fprintf(out, " const(%g)", node->init.mean);
    else if (node->init.kind == INIT_COPY) fprintf(out, " copy(%%%d, %lld:%lld, ...)", node->init.source, (long long)node->init.starts[0], (long long)node->init.stops[0]);
    else fputs(node->init.kind == INIT_ZEROS ? " zeros" : node->init.kind == INIT_EYE ? " eye" : " ones", out);
    break;
  case NODE_INPUT: fprintf(out, " \"%s\"", node->name); break;
  case NODE_CONST: fprintf(out, " %g", node->value); break;
  case NODE_SCALE: fprintf(out, " factor=%g", node->value); break;
  case NODE_UNARY: fprintf(out, " %s", dsl_unary_names[node->function]); break;
  case NODE_REDUCE: fprintf(out, " %s axis=%d", dsl_reduce_names[node->function], node->axis); break;
  case NODE_RMSNORM: fprintf(out, " eps=%g", node->value); break;
  case NODE_ROPE: fprintf(out, " heads=%d seq=%d theta=%g", node->heads, node->seq, node->value); break;
  case NODE_CAUSAL_ATTENTION:
    fprintf(out, " heads=%d kv_heads=%d seq=%d", node->heads, node->kv_heads, node->seq);
    break;
  case NODE_DROPOUT: fprintf(out, " p=%g", node->value); break;
  case NODE_MATMUL:
    if (node->transpose_a) fputs(" transpose_a=1", out);
    if (node->transpose_b) fputs(" transpose_b=1", out);
    break;
  case NODE_GROUPED_MATMUL: fprintf(out, " transpose_w=%d", node->transpose_w); break;
  case NODE_TOP_K: fprintf(out, " k=%d renormalize=%d", node->k, node->renormalize); break;
  case NODE_DISPATCH:
  case NODE_LOAD_BALANCE:
  case NODE_EXPERT_FRACTION: fprintf(out, " num_experts=%d", node->num_experts); break;
  default: break;
  }
}

void dsl_print_graph(const Graph *graph, FILE *out) {
  fprintf(out, "tokens %lld\n", (long long)graph->tokens);
  for (int i = 0; i < graph->num_nodes; i++) {
    const Node *node = &graph->nodes[i];
    fprintf(out, "%%%d = %s", i, kind_name(node->kind));
    for (int j = 0; j < node->num_operands; j++) {
      fputs(j ? ", " : " ", out);
      print_ref(node->operands[j], out);
    }
    print_attributes(node, out);
    fputs(" : ", out);
    for (int j = 0; j < node->num_results; j++) {
      if (j) fputs(", ", out);
      print_type(&node->results[j], out);
    }
    fprintf(out, " @%d:%d\n", node->loc.line, node->loc.column);
  }
  for (int i = 0; i < graph->num_outputs; i++) {
    fprintf(out, "output %s = ", graph->outputs[i].name);
    print_ref(graph->outputs[i].value, out);
    fputc('\n', out);
  }
  fputs("loss = ", out);
  print_ref(graph->loss, out);
  fputc('\n', out);
  if (graph->target_input_node >= 0)
    fprintf(out, "teacher input=%%%d output=%d\n", graph->target_input_node, graph->target_output_index);
  if (graph->classify_label_node >= 0)
    fprintf(out, "classify labels=%%%d output=%d\n", graph->classify_label_node, graph->classify_output_index);
  if (graph->dropout_seed_node >= 0) fprintf(out, "dropout seed=%%%d\n", graph->dropout_seed_node);
}
