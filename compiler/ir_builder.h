/* ir_builder.h — small helpers over the MLIR C API for creating operations.
 *
 * A Builder inserts every new operation into one block, either at its end or
 * before an anchor operation. Every helper checks the handles it gets back
 * from MLIR and aborts with file:line on a null one: a null handle here is a
 * bug in the compiler, never a user error.
 */
#ifndef PERFT_IR_BUILDER_H
#define PERFT_IR_BUILDER_H

#include <mlir-c/BuiltinAttributes.h>
#include <mlir-c/BuiltinTypes.h>
#include <mlir-c/Diagnostics.h>
#include <mlir-c/IR.h>
#include <stdint.h>

typedef struct {
  MlirContext context;
  MlirBlock block;       /* where new operations go ... */
  MlirOperation anchor;  /* ... before this one, or at the block's end when null */
  MlirLocation location; /* the location given to new operations */
} Builder;

static inline MlirOperation null_operation(void) { return (MlirOperation){NULL}; }
static inline MlirType null_type(void) { return (MlirType){NULL}; }

#define IR_CHECK(cond, what) ir_check((cond), (what), __FILE__, __LINE__)
void ir_check(int ok, const char *what, const char *file, int line);

MlirStringRef str(const char *s);
MlirNamedAttribute named_attribute(MlirContext context, const char *name, MlirAttribute value);
MlirAttribute parse_attribute(MlirContext context, const char *text);
MlirType parse_type(MlirContext context, const char *text);

/* Creates `name`(operands) -> result_types {attributes} and inserts it. */
MlirOperation build_op(Builder *b, const char *name, int num_operands, const MlirValue *operands,
                       int num_results, const MlirType *result_types, int num_attributes,
                       const MlirNamedAttribute *attributes);
/* The same for single-result operations: returns the result. */
MlirValue build_value(Builder *b, const char *name, int num_operands, const MlirValue *operands,
                      MlirType result_type, int num_attributes, const MlirNamedAttribute *attributes);
void builder_insert(Builder *b, MlirOperation op);

/* linalg structured ops in destination-passing style, on tensors or memrefs:
 * `name` ins(inputs...) outs(init); returns the result (null on memrefs). */
MlirValue build_linalg(Builder *b, const char *name, int num_inputs, const MlirValue *inputs,
                       MlirValue init);
MlirValue build_empty(Builder *b, MlirType tensor_type);    /* tensor.empty */
MlirValue build_zeros(Builder *b, MlirType tensor_type);    /* linalg.fill 0 into tensor.empty */
MlirValue build_float_constant(Builder *b, MlirType float_type, double value); /* arith.constant */
MlirValue build_index_constant(Builder *b, int64_t value);                    /* arith.constant */
/* `name` with one region of one block whose arguments have `argument_types` (up to 16);
 * *body gets the block (empty: the caller adds the terminator). */
MlirOperation build_region_op(Builder *b, const char *name, int num_operands, const MlirValue *operands,
                              int num_attributes, const MlirNamedAttribute *attributes, int num_arguments,
                              const MlirType *argument_types, MlirBlock *body);

/* func.func @name(types...) -> () inserted before module-level op `before` (private, with internal
 * linkage and never inlined when `internal`); its body holds only a func.return, in *terminator. */
MlirOperation build_function(MlirOperation before, const char *name, intptr_t num_arguments, const MlirType *types,
                             int internal, MlirLocation location, MlirOperation *terminator);

/* A builder that inserts before `anchor`, in its block, at `location`. */
Builder builder_before(MlirOperation anchor, MlirLocation location);

/* The op that makes v (null for a block argument); whether op a comes before op b in their block. */
MlirOperation defining_op(MlirValue v);
int op_is_before(MlirOperation a, MlirOperation b);
/* Whether exactly one operand reads v. */
int has_one_reader(MlirValue v);
/* The constant a destination `init` is filled with (linalg.fill of an arith.constant), or null. */
MlirAttribute fill_constant(MlirValue init);
/* Whether init is a linalg.fill of the float constant 0. */
int fills_zero(MlirValue init);
/* Erases op when nothing reads it and it only makes a value (a fill, an empty, a constant),
 * then does the same for what it read (what fusion leaves behind of a GEMM's init). */
void erase_if_dead(MlirOperation op);

/* The ops inside root (root included) named one of `names` (NULL-terminated), inner before outer
 * and otherwise in program order; a malloc'd array the caller frees, *count its length. Collect
 * first, then rewrite: a walk must not see the IR change under it. */
MlirOperation *ops_named(MlirOperation root, const char *const *names, size_t *count);

/* Attribute lookups on operations (default when absent). */
int64_t op_int_attribute(MlirOperation op, const char *name, int64_t fallback);
double op_float_attribute(MlirOperation op, const char *name, double fallback);
int op_is(MlirOperation op, const char *name);

/* Tensor / memref type helpers. */
MlirType ranked_tensor(int rank, const int64_t *dims, MlirType element);
int64_t shaped_num_elements(MlirType type);

#endif
