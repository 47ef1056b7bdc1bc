/* report_launches.c — `perftc --report` on a GPU target: every gpu.launch perft-gpu-launch makes,
 * with its threads and the loop iterations one of its threads runs.
 *
 * A GPU wants many threads each doing little. A kernel whose work sits on a few threads, or in a
 * long loop on each (a thread a column walking every row, one thread summing every token), runs
 * at a small fraction of the machine whatever its arithmetic; on a machine without a GPU this
 * table is where that shows. Both numbers come from the IR's constants:
 *   threads       blocks × threads a block, as launched (threads past the work included);
 *   steps/thread  the scf.for iterations a thread runs: loops in sequence add, nested loops
 *                 multiply, an scf.if counts its longer branch. A lane's loop (from its thread
 *                 index to n, step lanes) counts as ⌈n / lanes⌉, a block's (from i to
 *                 min(i + c, n)) as c: upper bounds.
 * A trip count not bounded so counts as 1 and marks the row with '?'.
 * tests/gpu/check_parallelism.sh holds the OLMoE-sized programs to bounds on both.
 */
#include "report.h"

#include "ir_builder.h"
#include "passes.h"

#include <mlir-c/BuiltinAttributes.h>
#include <mlir-c/Pass.h>
#include <string.h>

enum { MAX_DEPTH = 64 };
static const int64_t SATURATED = INT64_MAX / 4; /* products stop growing here */

static int64_t saturating_multiply(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  return a > SATURATED / b ? SATURATED : a * b;
}
static int64_t saturating_add(int64_t a, int64_t b) { return a > SATURATED - b ? SATURATED : a + b; }

/* The value of an index or integer made from constants by arith ops (arith.select: its larger arm,
 * an upper bound); 0 when it is not known. With `bounds`, an upper bound of a value instead: an
 * scf.for's induction variable is below the loop's upper bound, a gpu.launch's block and thread
 * indices below its sizes (indices and sizes taken as nonnegative). */
static int value_of(MlirValue v, int64_t *out, int bounds, int depth) {
  if (depth > MAX_DEPTH) return 0;
  if (mlirValueIsABlockArgument(v)) {
    if (!bounds) return 0;
    MlirOperation parent = mlirBlockGetParentOperation(mlirBlockArgumentGetOwner(v));
    intptr_t i = mlirBlockArgumentGetArgNumber(v);
    int64_t end;
    if (op_is(parent, "scf.for") && i == 0 && value_of(mlirOperationGetOperand(parent, 1), &end, bounds, depth + 1)) {
      *out = end - 1;
      return 1;
    }
    if (op_is(parent, "gpu.launch") && i < 12 && mlirOperationGetNumOperands(parent) >= 6 &&
        value_of(mlirOperationGetOperand(parent, i % 6), &end, bounds, depth + 1)) {
      *out = i < 6 ? end - 1 : end; /* block and thread indices, then the sizes */
      return 1;
    }
    return 0;
  }
  MlirOperation op = mlirOpResultGetOwner(v);
  if (op_is(op, "arith.constant")) {
    MlirAttribute value = mlirOperationGetAttributeByName(op, str("value"));
    if (!mlirAttributeIsAInteger(value)) return 0;
    *out = mlirIntegerAttrGetValueInt(value);
    return 1;
  }
  int64_t a, b, c;
  if (op_is(op, "arith.index_cast") || op_is(op, "arith.index_castui"))
    return value_of(mlirOperationGetOperand(op, 0), out, bounds, depth + 1);
  if (op_is(op, "arith.select")) {
    if (!value_of(mlirOperationGetOperand(op, 1), &b, bounds, depth + 1) ||
        !value_of(mlirOperationGetOperand(op, 2), &c, bounds, depth + 1))
      return 0;
    *out = b > c ? b : c;
    return 1;
  }
  if (mlirOperationGetNumOperands(op) != 2) return 0;
  int has_a = value_of(mlirOperationGetOperand(op, 0), &a, bounds, depth + 1);
  int has_b = value_of(mlirOperationGetOperand(op, 1), &b, bounds, depth + 1);
  if (bounds && op_is(op, "arith.minsi") && (has_a || has_b)) { /* below either bound */
    *out = has_a && has_b ? (a < b ? a : b) : has_a ? a : b;
    return 1;
  }
  if (!has_a || !has_b) return 0;
  int divides = op_is(op, "arith.ceildivsi") || op_is(op, "arith.divsi") || op_is(op, "arith.divui") ||
                op_is(op, "arith.remsi") || op_is(op, "arith.remui");
  if (divides && b == 0) return 0;
  if (bounds && op_is(op, "arith.subi")) *out = a; /* a − b ≤ a for b ≥ 0 */
  else if (bounds && (op_is(op, "arith.remsi") || op_is(op, "arith.remui")))
    *out = b > 0 && b - 1 < a ? b - 1 : a; /* a mod b < b, and ≤ a */
  else if (op_is(op, "arith.addi")) *out = a + b;
  else if (op_is(op, "arith.subi")) *out = a - b;
  else if (op_is(op, "arith.muli")) *out = a * b;
  else if (op_is(op, "arith.ceildivsi")) *out = a / b + (a % b != 0 && (a < 0) == (b < 0));
  else if (op_is(op, "arith.divsi") || op_is(op, "arith.divui")) *out = a / b;
  else if (op_is(op, "arith.remsi") || op_is(op, "arith.remui")) *out = a % b;
  else if (op_is(op, "arith.maxsi")) *out = a > b ? a : b;
  else if (op_is(op, "arith.minsi")) *out = a < b ? a : b;
  else return 0;
  return 1;
}
static int constant_value(MlirValue v, int64_t *out, int depth) { return value_of(v, out, 0, depth); }

static int64_t region_steps(MlirRegion region, int *unknown, int depth);

static int same_value(MlirValue a, MlirValue b) { return mlirValueEqual(a, b); }

/* An upper bound of upper − lower: both constants; upper = lower + c; upper = min(p, q) (the
 * smaller of p − lower and q − lower known); or upper a constant and lower not (a lane's first
 * index, at least 0). 0 when none of these. */
static int span(MlirValue upper, MlirValue lower, int64_t *out, int depth) {
  int64_t u, l, c;
  if (depth > MAX_DEPTH) return 0;
  int known_lower = constant_value(lower, &l, 0);
  if (constant_value(upper, &u, 0)) {
    *out = u - (known_lower && l > 0 ? l : 0);
    return 1;
  }
  if (mlirValueIsABlockArgument(upper)) return value_of(upper, out, 1, 0);
  MlirOperation op = mlirOpResultGetOwner(upper);
  if (op_is(op, "arith.addi")) {
    for (int i = 0; i < 2; i++)
      if (same_value(mlirOperationGetOperand(op, i), lower) && constant_value(mlirOperationGetOperand(op, 1 - i), &c, 0)) {
        *out = c;
        return 1;
      }
    /* (x + a) − (x + b): a − b */
    MlirOperation from = mlirValueIsABlockArgument(lower) ? (MlirOperation){NULL} : mlirOpResultGetOwner(lower);
    if (!mlirOperationIsNull(from) && op_is(from, "arith.addi"))
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
          if (same_value(mlirOperationGetOperand(op, i), mlirOperationGetOperand(from, j)))
            return span(mlirOperationGetOperand(op, 1 - i), mlirOperationGetOperand(from, 1 - j), out, depth + 1);
  }
  if (op_is(op, "arith.minsi")) {
    int64_t a, b;
    int has_a = span(mlirOperationGetOperand(op, 0), lower, &a, depth + 1);
    int has_b = span(mlirOperationGetOperand(op, 1), lower, &b, depth + 1);
    if (!has_a && !has_b) return 0;
    *out = has_a && has_b ? (a < b ? a : b) : has_a ? a : b;
    return 1;
  }
  return value_of(upper, out, 1, 0); /* at most upper's bound, lower being at least 0 */
}

/* The iterations of an scf.for: ⌈span / step⌉ */
static int64_t for_trips(MlirOperation loop, int *unknown) {
  int64_t length, step;
  if (!constant_value(mlirOperationGetOperand(loop, 2), &step, 0) || step <= 0 ||
      !span(mlirOperationGetOperand(loop, 1), mlirOperationGetOperand(loop, 0), &length, 0)) {
    *unknown = 1;
    return 1;
  }
  return length > 0 ? (length + step - 1) / step : 0;
}

/* The loop iterations of op: an scf.for's trips times its body's (at least 1); another op with
 * regions, its longest region's */
static int64_t op_steps(MlirOperation op, int *unknown, int depth) {
  if (depth > MAX_DEPTH) return 0;
  if (op_is(op, "scf.for")) {
    int64_t body = region_steps(mlirOperationGetRegion(op, 0), unknown, depth + 1);
    return saturating_multiply(for_trips(op, unknown), body > 0 ? body : 1);
  }
  int64_t most = 0;
  for (intptr_t r = 0; r < mlirOperationGetNumRegions(op); r++) {
    int64_t steps = region_steps(mlirOperationGetRegion(op, r), unknown, depth + 1);
    if (steps > most) most = steps;
  }
  return most;
}

/* The loop iterations of a region's ops in sequence */
static int64_t region_steps(MlirRegion region, int *unknown, int depth) {
  int64_t total = 0;
  for (MlirBlock block = mlirRegionGetFirstBlock(region); !mlirBlockIsNull(block); block = mlirBlockGetNextInRegion(block))
    for (MlirOperation op = mlirBlockGetFirstOperation(block); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op))
      total = saturating_add(total, op_steps(op, unknown, depth));
  return total;
}

/* gpu.launch's operands: grid x, y, z, then block x, y, z (perft-gpu-launch adds no async tokens) */
static int64_t launch_threads(MlirOperation launch) {
  int64_t threads = 1, n;
  if (mlirOperationGetNumOperands(launch) < 6) return -1;
  for (int i = 0; i < 6; i++) {
    if (!constant_value(mlirOperationGetOperand(launch, i), &n, 0)) return -1;
    threads = saturating_multiply(threads, n);
  }
  return threads;
}

/* Prints a row for each launch of each function of the (cloned, launched) module */
static void print_launches(MlirOperation module_op, FILE *out) {
  MlirBlock body = mlirRegionGetFirstBlock(mlirOperationGetRegion(module_op, 0));
  int launches = 0;
  int64_t most_steps = 0;
  char most_in[160] = "";
  fprintf(out, "GPU launches (perft-gpu-launch): threads, and the loop iterations one thread runs (at most)\n");
  fprintf(out, "  %-54s %6s %15s %14s\n", "function", "launch", "threads", "steps/thread");
  for (MlirOperation func = mlirBlockGetFirstOperation(body); !mlirOperationIsNull(func); func = mlirOperationGetNextInBlock(func)) {
    if (!op_is(func, "func.func") || mlirOperationGetNumRegions(func) == 0) continue;
    MlirBlock entry = mlirRegionGetFirstBlock(mlirOperationGetRegion(func, 0));
    if (mlirBlockIsNull(entry)) continue;
    MlirStringRef name = mlirStringAttrGetValue(mlirOperationGetAttributeByName(func, str("sym_name")));
    int index = 0;
    for (MlirOperation op = mlirBlockGetFirstOperation(entry); !mlirOperationIsNull(op); op = mlirOperationGetNextInBlock(op)) {
      if (!op_is(op, "gpu.launch")) continue;
      int unknown = 0;
      int64_t threads = launch_threads(op), steps = op_steps(op, &unknown, 0);
      if (steps < 1) steps = 1;
      char threads_text[NUMBER_TEXT] = "?", steps_text[NUMBER_TEXT + 2];
      if (threads >= 0) count_text(threads, 0, threads_text);
      count_text(steps, 0, steps_text);
      if (unknown) strcat(steps_text, " ?");
      fprintf(out, "  %-54.*s %6d %15s %14s\n", (int)name.length, name.data, ++index, threads_text, steps_text);
      launches++;
      if (steps > most_steps) {
        most_steps = steps;
        snprintf(most_in, sizeof most_in, "%.*s, launch %d", (int)name.length, name.data, index);
      }
    }
  }
  char most_text[NUMBER_TEXT];
  fprintf(out, "  %d launches; the most steps a thread: %s (%s)\n", launches, count_text(most_steps, 0, most_text), most_in);
}

int report_launches(MlirModule module, const char *launch_pipeline, FILE *out) {
  MlirOperation copy = mlirOperationClone(mlirModuleGetOperation(module));
  MlirPassManager pm = mlirPassManagerCreate(mlirModuleGetContext(module));
  char text[512];
  snprintf(text, sizeof text, "builtin.module(%s)", launch_pipeline);
  int ok = perft_pipeline_add(mlirPassManagerGetAsOpPassManager(pm), text, stderr) &&
           mlirLogicalResultIsSuccess(mlirPassManagerRunOnOp(pm, copy));
  mlirPassManagerDestroy(pm);
  if (ok) print_launches(copy, out);
  mlirOperationDestroy(copy);
  return ok;
}
