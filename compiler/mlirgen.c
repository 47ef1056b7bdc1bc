/* mlirgen.c — Graph -> MLIR: one func.func @forward in perft + linalg ops.
 *
 *   matmul x @ w^T        linalg.matmul_transpose_b ins(x, w) outs(fill 0)
 *   a + b, a - b, ...     linalg.add / sub / mul / div ins(a, b) outs(tensor.empty)
 *   routing, activations  perft.* (op_table.c)
 *
 * Every operation gets the FileLineColLoc of the source expression it came from.
 */
#include "mlirgen.h"

#include "diagnostics.h"
#include "ir_builder.h"
#include "op_table.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  MlirContext context;
  MlirType float_type, index_type_i32;
  Builder builder;
  MlirValue *values; /* values[node * GRAPH_MAX_RESULTS + result] */
} Gen;

static MlirType tensor_of(Gen *g, const TensorType *t) {
  return ranked_tensor(t->rank, t->dims, t->dtype == DTYPE_I32 ? g->index_type_i32 : g->float_type);
}

static MlirValue value_of(Gen *g, ValueRef ref) {
  return g->values[ref.node * GRAPH_MAX_RESULTS + ref.result];
}

static MlirAttribute string_attr(Gen *g, const char *s) {
  return mlirStringAttrGet(g->context, str(s));
}

static void error_at(const Node *node, const char *message) {
  fprintf(stderr, "%s:%d:%d: error: %s\n", node->loc.file ? node->loc.file : "<input>",
          node->loc.line, node->loc.column, message);
  if (node->loc.file) diag_quote_source_line(stderr, node->loc.file, node->loc.line, node->loc.column);
}

/* A number an f32 program computes with (a constant, a scale, an epsilon): 0 after an error
 * where f32 cannot hold it, so that it would silently become infinite, or 0 or a denormal. */
static int fits_float_type(Gen *g, const Node *node, double value) {
  double magnitude = fabs(value);
  if (!mlirTypeIsAF32(g->float_type) || value == 0 || (magnitude >= FLT_MIN && magnitude <= FLT_MAX)) return 1;
  char message[200];
  snprintf(message, sizeof message,
           "the number %g does not fit f32 (0, or a magnitude from %g to %g): it would become %s", value,
           (double)FLT_MIN, (double)FLT_MAX, magnitude > FLT_MAX ? "infinite" : "0");
  error_at(node, message);
  return 0;
}

/* Emits the operation(s) of one graph node; returns 0 on an unsupported form. */
static int gen_node(Gen *g, const Node *node, int index) {
  MlirValue operands[GRAPH_MAX_OPERANDS];
  for (int i = 0; i < node->num_operands; i++) operands[i] = value_of(g, node->operands[i]);
  MlirType types[GRAPH_MAX_RESULTS];
  for (int i = 0; i < node->num_results; i++) types[i] = tensor_of(g, &node->results[i]);
  MlirValue *out = &g->values[index * GRAPH_MAX_RESULTS];
  Builder *b = &g->builder;
  AttributeValue attrs[OP_MAX_ATTRIBUTES] = {{0}};
  OpId id = OP_COUNT;

  if ((node->kind == NODE_CONST || node->kind == NODE_SCALE || node->kind == NODE_RMSNORM) &&
      !fits_float_type(g, node, node->value))
    return 0;
  switch (node->kind) {
  case NODE_PARAM:
  case NODE_INPUT:
    return 1; /* block arguments, bound by the caller */
  case NODE_CONST: {
    MlirAttribute dense = mlirDenseElementsAttrDoubleSplatGet(types[0], node->value);
    if (mlirTypeIsAF32(g->float_type))
      dense = mlirDenseElementsAttrFloatSplatGet(types[0], (float)node->value);
    MlirNamedAttribute value = named_attribute(g->context, "value", dense);
    out[0] = build_value(b, "arith.constant", 0, NULL, types[0], 1, &value);
    return 1;
  }
  case NODE_MATMUL: {
    static const OpId ids[2][2] = {{OP_MATMUL, OP_MATMUL_TRANSPOSE_B}, {OP_MATMUL_TRANSPOSE_A, OP_COUNT}};
    OpId matmul = ids[node->transpose_a != 0][node->transpose_b != 0];
    if (matmul == OP_COUNT) {
      error_at(node, "a matmul with both operands transposed is not supported; declare one of them with its dims swapped");
      return 0;
    }
    out[0] = build_linalg(&g->builder, op_table[matmul].name, 2, operands, build_zeros(&g->builder, types[0]));
    return 1;
  }
  case NODE_ADD: case NODE_SUB: case NODE_MUL: case NODE_DIV: {
    static const OpId ids[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV};
    out[0] = build_linalg(&g->builder, op_table[ids[node->kind - NODE_ADD]].name, 2, operands,
                          build_empty(&g->builder, types[0]));
    return 1;
  }
  /* the perft ops: attributes in the order of their op_table.c entry */
  case NODE_SCALE: id = OP_SCALE; attrs[0].f = node->value; break;
  case NODE_SILU: id = OP_SILU; break;
  case NODE_SOFTMAX: id = OP_SOFTMAX; break;
  case NODE_TOP_K: id = OP_TOP_K; attrs[0].i = node->k; attrs[1].i = node->renormalize; break;
  case NODE_DISPATCH: id = OP_DISPATCH; attrs[0].i = node->num_experts; break;
  case NODE_GROUPED_MATMUL: id = OP_GROUPED_MATMUL; attrs[0].i = node->transpose_w; break;
  case NODE_COMBINE: id = OP_COMBINE; break;
  case NODE_LOAD_BALANCE: id = OP_LOAD_BALANCE; attrs[0].i = node->num_experts; break;
  case NODE_EXPERT_FRACTION: id = OP_EXPERT_FRACTION; attrs[0].i = node->num_experts; break;
  case NODE_MSE: id = OP_MSE; break;
  case NODE_RMSNORM: id = OP_RMSNORM; attrs[0].f = node->value; break;
  case NODE_EMBEDDING: id = OP_EMBEDDING; break;
  case NODE_CROSS_ENTROPY: id = OP_CROSS_ENTROPY; break;
  case NODE_DROPOUT: id = OP_DROPOUT; attrs[0].f = node->value; break;
  case NODE_UNARY: {
    static const OpId functions[] = {[UNARY_SIGMOID] = OP_SIGMOID, [UNARY_TANH] = OP_TANH, [UNARY_RELU] = OP_RELU,
                                     [UNARY_GELU] = OP_GELU,       [UNARY_EXP] = OP_EXP,   [UNARY_LOG] = OP_LOG,
                                     [UNARY_SQRT] = OP_SQRT,       [UNARY_ABS] = OP_ABS};
    id = functions[node->function];
    break;
  }
  case NODE_MAXIMUM: id = OP_MAXIMUM; break;
  case NODE_BROADCAST: id = OP_BROADCAST; break;
  case NODE_EXPERT_ROWS: id = OP_EXPERT_ROWS; break;
  case NODE_COMPARE: id = OP_COMPARE; attrs[0].i = node->function; break;
  case NODE_WHERE: id = OP_WHERE; break;
  case NODE_TRANSPOSE: id = OP_TRANSPOSE; break;
  case NODE_NEST_INDICES: id = OP_NEST_INDICES; attrs[0].i = node->num_experts; break;
  case NODE_GATHER: id = OP_GATHER; break;
  case NODE_EC_DISPATCH: id = OP_EC_DISPATCH; break;
  case NODE_EC_COMBINE: id = OP_EC_COMBINE; break;
  case NODE_ROPE: id = OP_ROPE; attrs[0].i = node->heads; attrs[1].i = node->seq; attrs[2].f = node->value; break;
  case NODE_CAUSAL_ATTENTION:
    id = OP_CAUSAL_ATTENTION;
    attrs[0].i = node->heads;
    attrs[1].i = node->kv_heads;
    attrs[2].i = node->seq;
    break;
  case NODE_MINIMUM: id = OP_MINIMUM; break;
  case NODE_LOG_SOFTMAX: id = OP_LOG_SOFTMAX; break;
  case NODE_REDUCE: {
    static const OpId functions[] = {[REDUCE_SUM] = OP_REDUCE_SUM, [REDUCE_MEAN] = OP_REDUCE_MEAN, [REDUCE_MAX] = OP_REDUCE_MAX};
    id = functions[node->function];
    attrs[0].i = node->axis;
    break;
  }
  }
  IR_CHECK(id < OP_COUNT && op_table[id].num_operands == node->num_operands &&
               op_table[id].num_results == node->num_results, "mlirgen: a node that does not fit its op");
  MlirOperation op = op_build(b, id, operands, types, attrs);
  for (int i = 0; i < node->num_results; i++) out[i] = mlirOperationGetResult(op, i);
  return 1;
}

static MlirLocation location_of(MlirContext context, const SourceLocation *loc) {
  if (!loc->file) return mlirLocationUnknownGet(context);
  return mlirLocationFileLineColGet(context, str(loc->file), loc->line, loc->column);
}

static char *init_text(const Graph *graph, const Initializer *init, char *buffer, size_t size) {
  if (init->kind == INIT_COPY) { /* copy SOURCE a:b,c:d,... (one range per axis) */
    const Node *source = &graph->nodes[init->source];
    int n = snprintf(buffer, size, "copy %s ", source->name);
    for (int d = 0; d < source->results[0].rank && n > 0 && (size_t)n < size; d++)
      n += snprintf(buffer + n, size - (size_t)n, "%s%lld:%lld", d ? "," : "", (long long)init->starts[d],
                    (long long)init->stops[d]);
  }
  else if (init->kind == INIT_ZEROS) snprintf(buffer, size, "zeros");
  else if (init->kind == INIT_ONES) snprintf(buffer, size, "ones");
  else if (init->kind == INIT_EYE) snprintf(buffer, size, "eye");
  else if (init->kind == INIT_CONST) snprintf(buffer, size, "const %.9g", init->mean);
  else snprintf(buffer, size, "normal %.9g %.9g", init->mean, init->std);
  return buffer;
}

/* The value range of each i32 input (ranges[node], 0 when unknown): the rows of the first
 * embedding it indexes, or the classes of the first cross-entropy it labels. One pass over the
 * graph, so a program with many inputs stays linear. */
static int64_t *input_ranges(const Graph *graph) {
  int64_t *ranges = calloc((size_t)graph->num_nodes + 1, sizeof(int64_t));
  IR_CHECK(ranges != NULL, "out of memory");
  for (int i = 0; i < graph->num_nodes; i++) {
    const Node *n = &graph->nodes[i];
    if (n->kind != NODE_EMBEDDING && n->kind != NODE_CROSS_ENTROPY) continue;
    const TensorType *first = &graph->nodes[n->operands[0].node].results[n->operands[0].result];
    int input = n->operands[1].node;
    if (ranges[input] == 0) ranges[input] = n->kind == NODE_EMBEDDING ? first->dims[0] : first->dims[first->rank - 1];
  }
  return ranges;
}

static MlirAttribute dictionary(Gen *g, int n, const MlirNamedAttribute *entries) {
  return mlirDictionaryAttrGet(g->context, n, entries);
}

/* "PARAM K\n" for each router param R whose scores pick K experts: top_k(softmax(x @ Rᵀ), K). The
 * executable's --export writes K where a format wants it (the official PERFT config's
 * num_experts_per_tok). NULL when there is none. */
static char *routing_facts(const Graph *graph) {
  char *text = NULL;
  size_t length = 0;
  FILE *out = open_memstream(&text, &length);
  IR_CHECK(out != NULL, "out of memory");
  for (int i = 0; i < graph->num_nodes; i++) {
    const Node *top_k = &graph->nodes[i];
    if (top_k->kind != NODE_TOP_K) continue;
    const Node *softmax = &graph->nodes[top_k->operands[0].node];
    if (softmax->kind != NODE_SOFTMAX) continue;
    const Node *scores = &graph->nodes[softmax->operands[0].node];
    if (scores->kind != NODE_MATMUL || !scores->transpose_b) continue;
    const Node *router = &graph->nodes[scores->operands[1].node];
    if (router->kind == NODE_PARAM) fprintf(out, "%s %d\n", router->name, top_k->k);
  }
  fclose(out);
  if (length == 0) {
    free(text);
    return NULL;
  }
  return text;
}

/* The params that are bf16 under --frozen-dtype=bf16 (1 in the result, per node): frozen, not
 * constant, rank >= 2, and every use the weight of a GEMM or an embedding table, whose kernels
 * widen bf16 to f32 as they load it. */
static char *bf16_weights(const Graph *graph) {
  char *bf16 = calloc((size_t)graph->num_nodes + 1, 1);
  IR_CHECK(bf16 != NULL, "out of memory");
  for (int i = 0; i < graph->num_nodes; i++) {
    const Node *n = &graph->nodes[i];
    bf16[i] = n->kind == NODE_PARAM && !n->trainable && !n->constant && n->results[0].rank >= 2;
  }
  for (int i = 0; i < graph->num_nodes; i++) {
    const Node *n = &graph->nodes[i];
    for (int j = 0; j < n->num_operands; j++) {
      int weight = (n->kind == NODE_MATMUL && j == 1 && !n->transpose_a) || (n->kind == NODE_GROUPED_MATMUL && j == 1) ||
                   (n->kind == NODE_EMBEDDING && j == 0);
      if (!weight) bf16[n->operands[j].node] = 0;
    }
  }
  for (int o = 0; o < graph->num_outputs; o++) bf16[graph->outputs[o].value.node] = 0;
  return bf16;
}

MlirModule mlirgen_module(MlirContext context, const Graph *graph, int float_bits, int frozen_bf16) {
  Gen g = {.context = context};
  g.float_type = float_bits == 64 ? mlirF64TypeGet(context) : mlirF32TypeGet(context);
  g.index_type_i32 = mlirIntegerTypeGet(context, 32);
  g.values = calloc((size_t)graph->num_nodes * GRAPH_MAX_RESULTS, sizeof(MlirValue));
  IR_CHECK(g.values != NULL, "out of memory");

  MlirModule module = mlirModuleCreateEmpty(mlirLocationUnknownGet(context));
  MlirOperation module_op = mlirModuleGetOperation(module);

  /* Signature: parameters first, then inputs (graph order within each). */
  int num_args = 0;
  MlirType *arg_types = calloc((size_t)graph->num_nodes + 1, sizeof(MlirType));
  MlirLocation *arg_locs = calloc((size_t)graph->num_nodes + 1, sizeof(MlirLocation));
  MlirAttribute *arg_attrs = calloc((size_t)graph->num_nodes + 1, sizeof(MlirAttribute));
  int *arg_node = calloc((size_t)graph->num_nodes + 1, sizeof(int));
  int64_t *ranges = input_ranges(graph);
  char *bf16 = frozen_bf16 ? bf16_weights(graph) : NULL;
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < graph->num_nodes; i++) {
      const Node *node = &graph->nodes[i];
      if (node->kind != (pass == 0 ? NODE_PARAM : NODE_INPUT)) continue;
      arg_types[num_args] = tensor_of(&g, &node->results[0]);
      if (bf16 && bf16[i])
        arg_types[num_args] = ranked_tensor(node->results[0].rank, node->results[0].dims, mlirBF16TypeGet(context));
      arg_locs[num_args] = location_of(context, &node->loc);
      MlirNamedAttribute entries[5];
      char init[256];
      int n = 0;
      if (pass == 0) {
        entries[n++] = named_attribute(context, "perft.param", string_attr(&g, node->name));
        entries[n++] = named_attribute(context, "perft.trainable", mlirBoolAttrGet(context, node->trainable));
        entries[n++] = named_attribute(context, "perft.init", string_attr(&g, init_text(graph, &node->init, init, sizeof init)));
        if (node->value == 1.0) /* the front end marks parameters a strategy introduced */
          entries[n++] = named_attribute(context, "perft.adapter", mlirUnitAttrGet(context));
        if (node->constant) entries[n++] = named_attribute(context, "perft.constant", mlirUnitAttrGet(context));
      } else {
        entries[n++] = named_attribute(context, "perft.input", string_attr(&g, node->name));
        int64_t range = ranges[i];
        if (range > 0)
          entries[n++] = named_attribute(context, "perft.range", mlirIntegerAttrGet(mlirIntegerTypeGet(context, 64), range));
        if (i == graph->dropout_seed_node)
          entries[n++] = named_attribute(context, "perft.seed", mlirUnitAttrGet(context));
      }
      arg_attrs[num_args] = dictionary(&g, n, entries);
      arg_node[num_args++] = i;
    }
  }

  int num_results = 1 + graph->num_outputs;
  MlirType *result_types = calloc((size_t)num_results, sizeof(MlirType));
  MlirAttribute *result_attrs = calloc((size_t)num_results, sizeof(MlirAttribute));
  MlirValue *results = calloc((size_t)num_results, sizeof(MlirValue));
  const Node *loss_node = &graph->nodes[graph->loss.node];
  result_types[0] = tensor_of(&g, &loss_node->results[graph->loss.result]);
  MlirNamedAttribute loss_entry = named_attribute(context, "perft.loss", mlirUnitAttrGet(context));
  result_attrs[0] = dictionary(&g, 1, &loss_entry);
  for (int i = 0; i < graph->num_outputs; i++) {
    ValueRef ref = graph->outputs[i].value;
    result_types[1 + i] = tensor_of(&g, &graph->nodes[ref.node].results[ref.result]);
    MlirNamedAttribute entry = named_attribute(context, "perft.output", string_attr(&g, graph->outputs[i].name));
    result_attrs[1 + i] = dictionary(&g, 1, &entry);
  }

  MlirType function_type = mlirFunctionTypeGet(context, num_args, arg_types, num_results, result_types);
  MlirNamedAttribute func_attrs[4] = {
      named_attribute(context, "sym_name", string_attr(&g, "forward")),
      named_attribute(context, "function_type", mlirTypeAttrGet(function_type)),
      named_attribute(context, "arg_attrs", mlirArrayAttrGet(context, num_args, arg_attrs)),
      named_attribute(context, "res_attrs", mlirArrayAttrGet(context, num_results, result_attrs)),
  };
  /* The function sits where the loss is declared: errors about the whole program point there. */
  MlirLocation function_location = location_of(context, &graph->nodes[graph->loss.node].loc);
  MlirOperationState state = mlirOperationStateGet(str("func.func"), function_location);
  mlirOperationStateAddAttributes(&state, 4, func_attrs);
  MlirRegion body = mlirRegionCreate();
  MlirBlock entry = mlirBlockCreate(num_args, arg_types, arg_locs);
  mlirRegionAppendOwnedBlock(body, entry);
  mlirOperationStateAddOwnedRegions(&state, 1, &body);
  MlirOperation func = mlirOperationCreate(&state);
  IR_CHECK(!mlirOperationIsNull(func), "func.func");
  mlirBlockAppendOwnedOperation(mlirModuleGetBody(module), func);

  for (int a = 0; a < num_args; a++)
    g.values[arg_node[a] * GRAPH_MAX_RESULTS] = mlirBlockGetArgument(entry, a);

  g.builder = (Builder){.context = context, .block = entry, .anchor = null_operation()};
  int ok = 1;
  for (int i = 0; i < graph->num_nodes && ok; i++) {
    g.builder.location = location_of(context, &graph->nodes[i].loc);
    ok = gen_node(&g, &graph->nodes[i], i);
  }
  if (ok) {
    results[0] = value_of(&g, graph->loss);
    for (int i = 0; i < graph->num_outputs; i++) results[1 + i] = value_of(&g, graph->outputs[i].value);
    g.builder.location = mlirLocationUnknownGet(context);
    build_op(&g.builder, "func.return", num_results, results, 0, NULL, 0, NULL);

    MlirNamedAttribute tokens = named_attribute(
        context, "perft.tokens", mlirIntegerAttrGet(mlirIntegerTypeGet(context, 64), graph->tokens));
    mlirOperationSetAttributeByName(module_op, str("perft.tokens"), tokens.attribute);
    for (int i = 0; i < graph->num_nodes; i++) /* the sequence length of causal attention, for generation */
      if (graph->nodes[i].kind == NODE_CAUSAL_ATTENTION) {
        mlirOperationSetAttributeByName(module_op, str("perft.sequence"),
                                        mlirIntegerAttrGet(mlirIntegerTypeGet(context, 64), graph->nodes[i].seq));
        break;
      }
    char *routing = routing_facts(graph);
    if (routing) {
      mlirOperationSetAttributeByName(module_op, str("perft.routing"), mlirStringAttrGet(context, str(routing)));
      free(routing);
    }
    if (graph->checkpoint_names)
      mlirOperationSetAttributeByName(module_op, str("perft.checkpoint_names"),
                                      mlirStringAttrGet(context, str(graph->checkpoint_names)));
    if (graph->target_input_node >= 0 && graph->target_output_index >= 0) {
      MlirAttribute pair[2] = {
          string_attr(&g, graph->nodes[graph->target_input_node].name),
          string_attr(&g, graph->outputs[graph->target_output_index].name)};
      mlirOperationSetAttributeByName(module_op, str("perft.teacher"), mlirArrayAttrGet(context, 2, pair));
    }
    if (graph->classify_output_index >= 0 && graph->classify_label_node >= 0) {
      MlirAttribute pair[2] = {
          string_attr(&g, graph->outputs[graph->classify_output_index].name),
          string_attr(&g, graph->nodes[graph->classify_label_node].name)};
      mlirOperationSetAttributeByName(module_op, str("perft.classify"), mlirArrayAttrGet(context, 2, pair));
    }
  }
  free(g.values); free(arg_types); free(arg_locs); free(arg_attrs); free(arg_node); free(ranges); free(bf16);
  free(result_types); free(result_attrs); free(results);
  if (!ok) {
    mlirModuleDestroy(module);
    return (MlirModule){NULL};
  }
  return module;
}
