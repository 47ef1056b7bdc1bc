/* manifest.h: the program description that the generated object carries (docs/ABI.md).
 *
 * The manifest is parsed once at start-up into a Manifest; every later stage (arena layout, data,
 * optimizer, checkpoints) reads shapes and names from here.
 */
#ifndef PERFT_RUNTIME_MANIFEST_H
#define PERFT_RUNTIME_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define PERFT_MAX_DIMS 8

/* Element type of a tensor: outputs and grads are f32; an input may be i32; a frozen param may be
 * bf16 (perftc --frozen-dtype=bf16: the manifest's param record ends in `bf16`). */
typedef enum { ELEMENT_F32 = 0, ELEMENT_I32 = 1, ELEMENT_BF16 = 2 } ElementType;
static inline size_t element_bytes(ElementType type) { return type == ELEMENT_BF16 ? 2 : 4; }

typedef struct {
  char *name;                    /* e.g. "perft_r.ad.A" */
  char *dims_text;               /* the dims exactly as the manifest wrote them, e.g. "4x8x96" */
  int num_dims;                  /* 1..PERFT_MAX_DIMS; a scalar is written "1" and has 1 dim */
  int64_t dims[PERFT_MAX_DIMS];  /* row-major */
  int64_t num_elements;          /* product of dims */
  ElementType element_type;      /* ELEMENT_F32 unless an input says `i32` */
  int64_t range;                 /* i32 inputs: values lie in [0, range); 0 = no `range` record */
} TensorSpec;

typedef enum { INIT_NORMAL, INIT_ZEROS, INIT_ONES, INIT_CONST, INIT_EYE, INIT_COPY } InitKind;

typedef struct {
  TensorSpec tensor;
  int trainable;   /* 1: "trainable", 0: "frozen" */
  InitKind init;
  double init_mean; /* INIT_NORMAL; INIT_CONST: the value */
  double init_std;  /* INIT_NORMAL only */
  int grad_index;   /* index into Manifest.grads for a trainable param, -1 for a frozen one */
  int adapter;      /* 1: the optional last word `adapter` (introduced by a strategy) */
  int constant;     /* 1: the optional word `constant` before it: initialised by its rule, never loaded or saved */
  /* INIT_COPY: [copy_starts[d], copy_stops[d]) along each axis d of param copy_source */
  char *copy_source_name;
  int copy_source;
  int64_t copy_starts[PERFT_MAX_DIMS], copy_stops[PERFT_MAX_DIMS];
  int copy_ranges;
} ParamSpec;

/* `checkpoint MAP PARAM SLICE NAME [COUNT AXIS]`: under map MAP (a `names` declaration), params[param]
 * (its expert `slice` of a bank param, the whole tensor when slice is -1, or with COUNT its block
 * `slice` of COUNT equal blocks along AXIS) is called NAME. */
typedef struct {
  char *map;
  int param;
  int64_t slice;
  char *name;
  int blocks, axis; /* 0, 0 unless a block */
} CheckpointName;

/* The elements of a param that a checkpoint name covers: `count` runs of `run` contiguous elements,
 * run i starting at element first + i * stride; its shape in dims (num_dims). */
typedef struct {
  int64_t count, run, stride, first;
  int num_dims;
  int64_t dims[PERFT_MAX_DIMS];
} TensorPart;

static inline TensorPart checkpoint_part(const TensorSpec *t, const CheckpointName *n) {
  TensorPart part = {1, t->num_elements, 0, 0, t->num_dims, {0}};
  for (int d = 0; d < t->num_dims; d++) part.dims[d] = t->dims[d];
  if (n->slice < 0) return part;
  if (!n->blocks) { /* an expert of a bank: [E, ...] -> [...] */
    part.run = t->num_elements / t->dims[0];
    part.first = n->slice * part.run;
    part.num_dims = t->num_dims - 1;
    for (int d = 0; d < part.num_dims; d++) part.dims[d] = t->dims[d + 1];
    return part;
  }
  int64_t inner = 1, outer = 1, width = t->dims[n->axis] / n->blocks;
  for (int d = n->axis + 1; d < t->num_dims; d++) inner *= t->dims[d];
  for (int d = 0; d < n->axis; d++) outer *= t->dims[d];
  part.count = outer;
  part.run = width * inner;
  part.stride = t->dims[n->axis] * inner;
  part.first = n->slice * width * inner;
  part.dims[n->axis] = width;
  return part;
}

typedef struct {
  int version;              /* "perft-manifest 1" */
  int64_t tokens;           /* tokens per step, for tok/s */
  int64_t sequence;         /* `sequence S`: causal attention runs within rows of S tokens; 0 without */
  int64_t workspace_bytes;  /* scratch the generated code needs */
  ParamSpec *params;     int num_params;
  TensorSpec *inputs;    int num_inputs;
  TensorSpec *outputs;   int num_outputs;
  TensorSpec *grads;     int num_grads;
  int *grad_param_index; /* (num_grads) grads[g] belongs to params[grad_param_index[g]] */
  int has_teacher;
  int teacher_input;     /* index into inputs: filled with the teacher's output */
  int teacher_output;    /* index into outputs */
  int seed_input;        /* `seed NAME`: index into inputs of the i32 [1] dropout seed, or -1 */
  int has_classify;      /* `classify OUTPUT INPUT`: cross-entropy of logits against labels */
  int classify_output;   /* index into outputs: logits (..., V) */
  int classify_input;    /* index into inputs: i32 labels, one per row of the logits, range V */
  CheckpointName *checkpoint_names; int num_checkpoint_names; /* in manifest order */
  /* `routing PARAM K`: router params[routing_param[i]] picks routing_k[i] experts a token */
  int *routing_param, *routing_k; int num_routing;
  /* `optimizer device LANES SCRATCH`: the object has perft_grad_norm and perft_adamw (docs/ABI.md),
   * whose gradient norm leaves LANES partial sums per gradient and works in a scratch of SCRATCH
   * doubles; lanes 0: the runtime's C optimizer */
  int64_t optimizer_lanes, optimizer_scratch;
} Manifest;

/* Parses and checks `text`. On failure returns 0 and writes a one-line reason (with the manifest
 * line number) into error. Unknown record kinds are ignored. */
int manifest_parse(const char *text, Manifest *manifest, char *error, size_t error_size);
void manifest_destroy(Manifest *manifest);

/* Writes "4x8x96" for any dims into out. */
void dims_format(const int64_t *dims, int num_dims, char *out, size_t out_size);

/* Number of elements over all params, split by trainable/frozen. */
void manifest_count_params(const Manifest *manifest, int64_t *trainable, int64_t *frozen);
/* Number of elements over all params, split by adapter/base (base = every non-adapter param). */
void manifest_count_adapter_params(const Manifest *manifest, int64_t *adapter, int64_t *base);

#endif
