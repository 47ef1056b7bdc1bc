/* verify.c — the perft-verify pass: every perft op checked against its table entry.
 *
 * IRDL (loaded from the table) already fixes each op's operand and result counts, that
 * they are tensors (perft) or memrefs (perft_buffer), that values sharing a type variable
 * have one type, and each attribute's kind. This pass checks the rest, right after
 * parsing or generating a module and before any other pass:
 *   - element types: float operands are f32 or f64, all the same; index operands are i32;
 *   - ranks, as the table gives them;
 *   - the shape relations of the op (op_verify.c), e.g. dispatch's rows = tokens x slots.
 * A failure is an error at the op's location naming it:
 *   t.mlir:3:8: error: 'perft.rmsnorm' op w dimension 0 must be the columns of x (3), found 5
 * Nothing is rewritten.
 */
#include "passes.h"
#include "external_pass.h"
#include "op_table.h"
#include "op_verify.h"

#include <stdio.h>
#include <string.h>

static void append_text(MlirStringRef s, void *data) {
  char **cursor = data;
  size_t room = 120 - (size_t)(cursor[0] - cursor[1]);
  size_t n = s.length < room ? s.length : room;
  memcpy(cursor[0], s.data, n);
  cursor[0] += n;
  *cursor[0] = 0;
}

static void describe_type(MlirType type, char *buffer, size_t size) {
  char text[128] = "";
  char *cursor[2] = {text, text};
  mlirTypePrint(type, append_text, cursor);
  snprintf(buffer, size, "%s", text);
}

static int check_value(MlirOperation op, const ValueSpec *spec, const char *role, int index, MlirType type,
                       MlirType *float_type) {
  char found[160];
  describe_type(type, found, sizeof found);
  if (!mlirTypeIsAShaped(type) || !mlirShapedTypeHasRank(type))
    return verify_fail(op, "%s %d (%s) must be a ranked tensor or memref, found %s", role, index, spec->name, found);
  MlirType element = mlirShapedTypeGetElementType(type);
  int64_t rank = mlirShapedTypeGetRank(type);
  if (spec->element == ELEMENT_I32 && !mlirTypeIsAInteger(element))
    return verify_fail(op, "%s %d (%s) must hold i32 indices, found %s", role, index, spec->name, found);
  if (spec->element == ELEMENT_I32 && mlirIntegerTypeGetWidth(element) != 32)
    return verify_fail(op, "%s %d (%s) must hold i32 indices, found %s", role, index, spec->name, found);
  if (spec->element == ELEMENT_WEIGHT && mlirTypeIsABF16(element)) {
    /* a bf16 frozen weight: widened by the kernel */
  } else if (spec->element == ELEMENT_FLOAT || spec->element == ELEMENT_WEIGHT) {
    if (!mlirTypeIsAF32(element) && !mlirTypeIsAF64(element))
      return verify_fail(op, "%s %d (%s) must hold f32 or f64, found %s", role, index, spec->name, found);
    if (!mlirTypeIsNull(*float_type) && !mlirTypeEqual(*float_type, element))
      return verify_fail(op, "%s %d (%s) must have the element type of the op's other float values, found %s", role,
                         index, spec->name, found);
    *float_type = element;
  }
  for (int i = 0; i < rank; i++)
    if (mlirShapedTypeIsDynamicDim(type, i))
      return verify_fail(op, "%s %d (%s) must have a static shape, found %s", role, index, spec->name, found);
  if (spec->rank != ANY_RANK && rank != spec->rank)
    return verify_fail(op, "%s %d (%s) must have rank %d, found %s", role, index, spec->name, spec->rank, found);
  return 1;
}

/* Checks one perft op; 0 on failure (diagnosed). */
static int perft_verify_op(MlirOperation op) {
  const OpInfo *info = op_info_of(op);
  if (!info || info->upstream) return 1;
  MlirType float_type = {NULL};
  for (int i = 0; i < info->num_operands; i++)
    if (!check_value(op, &info->operands[i], "operand", i, op_input_type(op, i), &float_type)) return 0;
  for (int i = 0; i < info->num_results; i++)
    if (!check_value(op, &info->results[i], "result", i, op_output_type(op, info, i), &float_type)) return 0;
  return info->verify ? info->verify(op) : 1;
}

static MlirWalkResult verify_walk(MlirOperation op, void *ok) {
  *(int *)ok &= perft_verify_op(op);
  return MlirWalkResultAdvance;
}

int perft_verify_module(MlirOperation module) {
  int ok = 1; /* every op at any depth: nested modules and regions too */
  mlirOperationWalk(module, verify_walk, &ok, MlirWalkPostOrder);
  return ok;
}

static void verify_run(MlirOperation module, MlirExternalPass pass, void *options) {
  if (!perft_verify_module(module)) mlirExternalPassSignalFailure(pass);
}

MlirPass perft_create_verify_pass(void) {
  return perft_module_pass("PerftVerify", "perft-verify", "check every perft op against its table entry",
                           verify_run, NULL, 0);
}
