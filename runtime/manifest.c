/* manifest.c: parse the manifest text of docs/ABI.md.
 *
 *   perft-manifest 1
 *   dtype f32                                   (optional; f32 is the only dtype supported)
 *   tokens T
 *   param NAME DIMS trainable|frozen normal MEAN STD | zeros | ones [adapter]
 *   input NAME DIMS [f32|i32]
 *   output NAME DIMS
 *   grad NAME DIMS                              (one per trainable param, same shape)
 *   teacher INPUT OUTPUT                        (optional)
 *   range NAME N                                (i32 input NAME holds values in [0, N))
 *   seed NAME                                   (i32 input NAME, shape 1: the dropout seed)
 *   classify OUTPUT INPUT                       (logits (..., V) against i32 labels, range V)
 *   workspace BYTES
 *   anything-else ...                           (ignored: forward compatibility)
 */
#include "manifest.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_FIELDS 16

typedef struct {
  char *error;
  size_t error_size;
  int line_number;
} ParseState;

static int fail(ParseState *state, const char *format, ...) __attribute__((format(printf, 2, 3)));
static int fail(ParseState *state, const char *format, ...) {
  int used = snprintf(state->error, state->error_size, "manifest line %d: ", state->line_number);
  if (used < 0) used = 0;
  if ((size_t)used < state->error_size) {
    va_list args;
    va_start(args, format);
    vsnprintf(state->error + used, state->error_size - (size_t)used, format, args);
    va_end(args);
  }
  return 0;
}

void dims_format(const int64_t *dims, int num_dims, char *out, size_t out_size) {
  size_t used = 0;
  out[0] = '\0';
  for (int d = 0; d < num_dims && used < out_size; d++) {
    int written = snprintf(out + used, out_size - used, d ? "x%lld" : "%lld", (long long)dims[d]);
    if (written < 0) break;
    used += (size_t)written;
  }
}

static int parse_int64(const char *text, int64_t *value) {
  if (!*text || *text == '-' || *text == '+') return 0;
  errno = 0;
  char *end;
  long long parsed = strtoll(text, &end, 10);
  if (errno || *end) return 0;
  *value = parsed;
  return 1;
}

static int parse_double(const char *text, double *value) {
  if (!*text) return 0;
  errno = 0;
  char *end;
  double parsed = strtod(text, &end);
  if (errno || *end || !isfinite(parsed)) return 0;
  *value = parsed;
  return 1;
}

/* "4x8x96" -> dims; every dim >= 1. */
static int parse_dims(ParseState *state, const char *text, TensorSpec *tensor) {
  char buffer[256];
  if (strlen(text) >= sizeof buffer) return fail(state, "dims '%s' too long", text);
  strcpy(buffer, text);
  tensor->num_dims = 0;
  tensor->num_elements = 1;
  char *cursor = buffer;
  for (;;) {
    char *cross = strchr(cursor, 'x');
    if (cross) *cross = '\0';
    int64_t dim;
    if (!parse_int64(cursor, &dim) || dim < 1)
      return fail(state, "bad dims '%s' (expected positive integers joined by 'x', e.g. 4x8x96)",
                  text);
    if (tensor->num_dims == PERFT_MAX_DIMS)
      return fail(state, "dims '%s' have more than %d dimensions", text, PERFT_MAX_DIMS);
    if (tensor->num_elements > INT64_MAX / 4 / dim)
      return fail(state, "dims '%s' are too large", text);
    tensor->dims[tensor->num_dims++] = dim;
    tensor->num_elements *= dim;
    if (!cross) break;
    cursor = cross + 1;
  }
  tensor->dims_text = strdupCheck(text);
  return 1;
}

static int parse_tensor(ParseState *state, char **fields, TensorSpec *tensor) {
  memset(tensor, 0, sizeof *tensor);
  if (!parse_dims(state, fields[2], tensor)) return 0;
  tensor->name = strdupCheck(fields[1]);
  return 1;
}

static int find_tensor(const TensorSpec *tensors, int count, const char *name) {
  for (int i = 0; i < count; i++)
    if (strcmp(tensors[i].name, name) == 0) return i;
  return -1;
}

static int same_shape(const TensorSpec *a, const TensorSpec *b) {
  if (a->num_dims != b->num_dims) return 0;
  for (int d = 0; d < a->num_dims; d++)
    if (a->dims[d] != b->dims[d]) return 0;
  return 1;
}

/* Splits line in place at single spaces; returns the number of fields, or -1 if too many. */
static int split_fields(char *line, char **fields) {
  int count = 0;
  char *cursor = line;
  while (*cursor) {
    while (*cursor == ' ' || *cursor == '\t') cursor++;
    if (!*cursor) break;
    if (count == MAX_FIELDS) return -1;
    fields[count++] = cursor;
    while (*cursor && *cursor != ' ' && *cursor != '\t') cursor++;
    if (*cursor) *cursor++ = '\0';
  }
  return count;
}

#define MAX_LATE_RECORDS 256

/* A `range`, `seed` or `classify` record, kept until every input and output is known. */
typedef struct {
  char kind;          /* 'r', 's', 'c' */
  int line_number;
  char *first, *second;
} LateRecord;

/* "a:b,c:d,...": the copy's range along each axis */
static int parse_ranges(const char *text, ParamSpec *param) {
  param->copy_ranges = 0;
  for (const char *p = text; *p;) {
    if (param->copy_ranges == PERFT_MAX_DIMS) return 0;
    char *end;
    long long a = strtoll(p, &end, 10);
    if (end == p || *end != ':') return 0;
    p = end + 1;
    long long b = strtoll(p, &end, 10);
    if (end == p || (*end && *end != ',') || a < 0 || b <= a) return 0;
    param->copy_starts[param->copy_ranges] = a;
    param->copy_stops[param->copy_ranges++] = b;
    p = *end ? end + 1 : end;
  }
  return param->copy_ranges > 0;
}

static int resolve_late_record(ParseState *state, Manifest *manifest, const LateRecord *late) {
  if (late->kind == 'r') { /* range NAME N */
    int i = find_tensor(manifest->inputs, manifest->num_inputs, late->first);
    int64_t range;
    if (i < 0) return fail(state, "range: '%s' is not an input", late->first);
    TensorSpec *input = &manifest->inputs[i];
    if (input->element_type != ELEMENT_I32)
      return fail(state, "range: input '%s' is not i32", late->first);
    if (!parse_int64(late->second, &range) || range < 1 || range > INT32_MAX)
      return fail(state, "range '%s': expected an integer in [1, 2^31), found '%s'", late->first,
                  late->second);
    if (input->range) return fail(state, "second 'range' record for '%s'", late->first);
    input->range = range;
    return 1;
  }
  if (late->kind == 's') { /* seed NAME */
    int i = find_tensor(manifest->inputs, manifest->num_inputs, late->first);
    if (i < 0) return fail(state, "seed: '%s' is not an input", late->first);
    if (manifest->seed_input >= 0) return fail(state, "second 'seed' record");
    if (manifest->inputs[i].element_type != ELEMENT_I32 || manifest->inputs[i].num_elements != 1)
      return fail(state, "seed input '%s' must be i32 with shape 1, found %s %s", late->first,
                  manifest->inputs[i].dims_text,
                  manifest->inputs[i].element_type == ELEMENT_I32 ? "i32" : "f32");
    manifest->seed_input = i;
    return 1;
  }
  /* classify OUTPUT INPUT */
  int o = find_tensor(manifest->outputs, manifest->num_outputs, late->first);
  int i = find_tensor(manifest->inputs, manifest->num_inputs, late->second);
  if (manifest->has_classify) return fail(state, "second 'classify' record");
  if (o < 0) return fail(state, "classify output '%s' is not an output", late->first);
  if (i < 0) return fail(state, "classify input '%s' is not an input", late->second);
  TensorSpec *logits = &manifest->outputs[o], *labels = &manifest->inputs[i];
  if (labels->element_type != ELEMENT_I32)
    return fail(state, "classify input '%s' must be i32 labels", late->second);
  if (i == manifest->seed_input)
    return fail(state, "classify input '%s' is the seed", late->second);
  int64_t classes = logits->dims[logits->num_dims - 1];
  if (logits->num_dims < 2 || labels->num_elements * classes != logits->num_elements)
    return fail(state, "classify: logits '%s' (%s) need one row of V classes per label of '%s' (%s)",
                late->first, logits->dims_text, late->second, labels->dims_text);
  if (labels->range && labels->range != classes)
    return fail(state, "classify: labels '%s' have range %lld but logits '%s' have %lld classes",
                late->second, (long long)labels->range, late->first, (long long)classes);
  labels->range = classes;
  manifest->has_classify = 1;
  manifest->classify_output = o;
  manifest->classify_input = i;
  return 1;
}

int manifest_parse(const char *text, Manifest *manifest, char *error, size_t error_size) {
  memset(manifest, 0, sizeof *manifest);
  manifest->tokens = -1;
  manifest->workspace_bytes = -1;
  ParseState state = {error, error_size, 0};
  error[0] = '\0';

  /* Upper bound on records of each kind: the number of lines. */
  int num_lines = 1;
  for (const char *c = text; *c; c++) num_lines += (*c == '\n');
  manifest->params = callocCheck((size_t)num_lines, sizeof(ParamSpec));
  manifest->inputs = callocCheck((size_t)num_lines, sizeof(TensorSpec));
  manifest->outputs = callocCheck((size_t)num_lines, sizeof(TensorSpec));
  manifest->grads = callocCheck((size_t)num_lines, sizeof(TensorSpec));
  manifest->grad_param_index = callocCheck((size_t)num_lines, sizeof(int));
  char *teacher_input_name = NULL, *teacher_output_name = NULL;
  int teacher_line = 0;
  manifest->seed_input = -1;
  manifest->classify_output = -1;
  manifest->classify_input = -1;
  LateRecord late_records[MAX_LATE_RECORDS];
  int num_late = 0;

  char *copy = strdupCheck(text);
  char *line = copy;
  int ok = 1;
  while (ok && line) {
    char *newline = strchr(line, '\n');
    if (newline) *newline = '\0';
    size_t length = strlen(line);
    if (length && line[length - 1] == '\r') line[length - 1] = '\0';
    state.line_number++;
    char *fields[MAX_FIELDS];
    int count = split_fields(line, fields);
    const char *kind = count > 0 ? fields[0] : "";

    if (state.line_number == 1) {
      int64_t version;
      if (count != 2 || strcmp(kind, "perft-manifest") != 0 || !parse_int64(fields[1], &version))
        ok = fail(&state, "expected 'perft-manifest 1' (is this a perft program?)");
      else if (version != 1)
        ok = fail(&state, "manifest version %lld, this runtime reads version 1 (rebuild with a "
                  "matching perftc)", (long long)version);
      else manifest->version = 1;
    } else if (count == 0 || kind[0] == '#') {
      /* blank line or comment */
    } else if (strcmp(kind, "dtype") == 0) {
      if (count != 2) ok = fail(&state, "expected 'dtype f32'");
      else if (strcmp(fields[1], "f32") != 0)
        ok = fail(&state, "dtype '%s' is not supported by this runtime (only f32)", fields[1]);
    } else if (strcmp(kind, "sequence") == 0) {
      if (count != 2 || !parse_int64(fields[1], &manifest->sequence) || manifest->sequence < 1)
        ok = fail(&state, "expected 'sequence S' with S >= 1");
    } else if (strcmp(kind, "tokens") == 0) {
      if (count != 2 || !parse_int64(fields[1], &manifest->tokens) || manifest->tokens < 1)
        ok = fail(&state, "expected 'tokens N' with N >= 1");
    } else if (strcmp(kind, "optimizer") == 0) {
      if (count != 4 || strcmp(fields[1], "device") != 0 || !parse_int64(fields[2], &manifest->optimizer_lanes) ||
          manifest->optimizer_lanes < 1 || manifest->optimizer_lanes > 65536 ||
          !parse_int64(fields[3], &manifest->optimizer_scratch) || manifest->optimizer_scratch < 0 ||
          manifest->optimizer_scratch > (1 << 24))
        ok = fail(&state, "expected 'optimizer device LANES SCRATCH' with LANES in [1, 65536] and SCRATCH in [0, 2^24]");
    } else if (strcmp(kind, "workspace") == 0) {
      if (count != 2 || !parse_int64(fields[1], &manifest->workspace_bytes))
        ok = fail(&state, "expected 'workspace BYTES'");
    } else if (strcmp(kind, "param") == 0) {
      ParamSpec *param = &manifest->params[manifest->num_params];
      memset(param, 0, sizeof *param);
      param->grad_index = -1;
      int bf16 = count > 5 && strcmp(fields[count - 1], "bf16") == 0;
      if (bf16) count--;
      if (count > 5 && strcmp(fields[count - 1], "adapter") == 0) {
        param->adapter = 1;
        count--;
      }
      if (count > 5 && strcmp(fields[count - 1], "constant") == 0) {
        param->constant = 1;
        count--;
      }
      if (count < 5) {
        ok = fail(&state, "expected 'param NAME DIMS trainable|frozen INIT ARGS [adapter]'");
      } else if (!parse_tensor(&state, fields, &param->tensor)) {
        ok = 0;
      } else {
        if (bf16) param->tensor.element_type = ELEMENT_BF16;
        manifest->num_params++;
        for (int p = 0; p + 1 < manifest->num_params; p++)
          if (strcmp(manifest->params[p].tensor.name, fields[1]) == 0)
            ok = fail(&state, "param '%s' declared twice", fields[1]);
        if (strcmp(fields[3], "trainable") == 0) param->trainable = 1;
        else if (strcmp(fields[3], "frozen") == 0) param->trainable = 0;
        else ok = fail(&state, "param '%s': expected 'trainable' or 'frozen', found '%s'",
                       fields[1], fields[3]);
        if (ok && strcmp(fields[4], "normal") == 0) {
          param->init = INIT_NORMAL;
          if (count != 7 || !parse_double(fields[5], &param->init_mean) ||
              !parse_double(fields[6], &param->init_std) || param->init_std < 0)
            ok = fail(&state, "param '%s': expected 'normal MEAN STD' with STD >= 0", fields[1]);
        } else if (ok && strcmp(fields[4], "zeros") == 0 && count == 5) {
          param->init = INIT_ZEROS;
        } else if (ok && strcmp(fields[4], "ones") == 0 && count == 5) {
          param->init = INIT_ONES;
        } else if (ok && strcmp(fields[4], "eye") == 0 && count == 5) {
          param->init = INIT_EYE;
        } else if (ok && strcmp(fields[4], "copy") == 0) {
          param->init = INIT_COPY;
          if (count != 7 || !parse_ranges(fields[6], param))
            ok = fail(&state, "param '%s': expected 'copy SOURCE A:B,C:D,...' (a range per axis)", fields[1]);
          else param->copy_source_name = strdupCheck(fields[5]);
        } else if (ok && strcmp(fields[4], "const") == 0) {
          param->init = INIT_CONST;
          if (count != 6 || !parse_double(fields[5], &param->init_mean))
            ok = fail(&state, "param '%s': expected 'const VALUE'", fields[1]);
        } else if (ok) {
          ok = fail(&state, "param '%s': unknown init '%s' (expected normal MEAN STD, zeros, ones, const VALUE, eye or copy SOURCE RANGES)",
                    fields[1], fields[4]);
        }
      }
    } else if (strcmp(kind, "input") == 0 || strcmp(kind, "output") == 0 ||
               strcmp(kind, "grad") == 0) {
      TensorSpec *list = kind[0] == 'i' ? manifest->inputs
                         : kind[0] == 'o' ? manifest->outputs : manifest->grads;
      int *list_count = kind[0] == 'i' ? &manifest->num_inputs
                        : kind[0] == 'o' ? &manifest->num_outputs : &manifest->num_grads;
      int is_input = kind[0] == 'i';
      if (!(count == 3 || (is_input && count == 4)))
        ok = fail(&state, is_input ? "expected 'input NAME DIMS [f32|i32]'" : "expected '%s NAME DIMS'",
                  kind);
      else if (is_input && count == 4 && strcmp(fields[3], "f32") && strcmp(fields[3], "i32"))
        ok = fail(&state, "input '%s': element type '%s' is not supported (f32 or i32)", fields[1],
                  fields[3]);
      else if (find_tensor(list, *list_count, fields[1]) >= 0)
        ok = fail(&state, "%s '%s' declared twice", kind, fields[1]);
      else if (!parse_tensor(&state, fields, &list[*list_count])) ok = 0;
      else {
        if (is_input && count == 4 && strcmp(fields[3], "i32") == 0)
          list[*list_count].element_type = ELEMENT_I32;
        (*list_count)++;
      }
    } else if (strcmp(kind, "teacher") == 0) {
      if (count != 3) ok = fail(&state, "expected 'teacher INPUT OUTPUT'");
      else if (teacher_input_name) ok = fail(&state, "second 'teacher' record");
      else {
        teacher_input_name = strdupCheck(fields[1]);
        teacher_output_name = strdupCheck(fields[2]);
        teacher_line = state.line_number;
      }
    } else if (strcmp(kind, "range") == 0 || strcmp(kind, "seed") == 0 ||
               strcmp(kind, "classify") == 0) {
      /* Resolved after the loop: they may name inputs declared further down. */
      int wanted = kind[0] == 'r' ? 3 : kind[0] == 's' ? 2 : 3;
      if (count != wanted)
        ok = fail(&state, "expected '%s'", kind[0] == 'r' ? "range NAME N"
                                           : kind[0] == 's' ? "seed NAME" : "classify OUTPUT INPUT");
      else if (num_late == MAX_LATE_RECORDS)
        ok = fail(&state, "more than %d range/seed/classify records", MAX_LATE_RECORDS);
      else {
        LateRecord *late = &late_records[num_late++];
        late->kind = kind[0];
        late->line_number = state.line_number;
        late->first = strdupCheck(fields[1]);
        late->second = count == 3 ? strdupCheck(fields[2]) : NULL;
      }
    } else if (strcmp(kind, "routing") == 0) {
      int64_t k = 0;
      int p = -1;
      for (int i = 0; count == 3 && i < manifest->num_params; i++)
        if (strcmp(manifest->params[i].tensor.name, fields[1]) == 0) p = i;
      if (count != 3 || !parse_int64(fields[2], &k) || k < 1) ok = fail(&state, "expected 'routing PARAM K' with K >= 1");
      else if (p >= 0) {
        if (!manifest->routing_param) {
          manifest->routing_param = callocCheck((size_t)num_lines, sizeof(int));
          manifest->routing_k = callocCheck((size_t)num_lines, sizeof(int));
        }
        manifest->routing_param[manifest->num_routing] = p;
        manifest->routing_k[manifest->num_routing++] = (int)k;
      }
    } else if (strcmp(kind, "checkpoint") == 0) {
      int64_t slice = 0;
      int p = -1;
      for (int i = 0; (count == 5 || count == 7) && i < manifest->num_params; i++)
        if (strcmp(manifest->params[i].tensor.name, fields[2]) == 0) p = i;
      int whole = count == 5 && strcmp(fields[3], "-1") == 0;
      if (whole) slice = -1;
      int64_t blocks = 0, axis = 0;
      if ((count != 5 && count != 7) || (!whole && !parse_int64(fields[3], &slice)) ||
          (count == 7 && (!parse_int64(fields[5], &blocks) || !parse_int64(fields[6], &axis) || blocks < 1)))
        ok = fail(&state, "expected 'checkpoint MAP PARAM SLICE NAME [COUNT AXIS]'");
      else if (p >= 0 && count == 7 &&
               (axis >= manifest->params[p].tensor.num_dims || manifest->params[p].tensor.dims[axis] % blocks ||
                slice >= blocks))
        ok = fail(&state, "checkpoint block %lld of %lld along axis %lld does not fit param '%s' (%s)", (long long)slice,
                  (long long)blocks, (long long)axis, fields[2], manifest->params[p].tensor.dims_text);
      else if (p >= 0 && count == 5 && (slice < -1 || (slice >= 0 && slice >= manifest->params[p].tensor.dims[0])))
        ok = fail(&state, "checkpoint slice %lld is outside param '%s' (%s)", (long long)slice, fields[2],
                  manifest->params[p].tensor.dims_text);
      else if (p >= 0) { /* a param the compiler pruned has no record to keep */
        if (!manifest->checkpoint_names) manifest->checkpoint_names = callocCheck((size_t)num_lines, sizeof(CheckpointName));
        manifest->checkpoint_names[manifest->num_checkpoint_names++] =
            (CheckpointName){.map = strdupCheck(fields[1]), .param = p, .slice = slice, .name = strdupCheck(fields[4]),
                             .blocks = (int)blocks, .axis = (int)axis};
      }
    }
    /* any other record kind: ignored */
    line = newline ? newline + 1 : NULL;
  }
  free(copy);

  /* Whole-manifest checks. */
  state.line_number = 0;
  if (ok && manifest->tokens < 0) ok = fail(&state, "missing 'tokens N' record");
  if (ok && manifest->workspace_bytes < 0) ok = fail(&state, "missing 'workspace BYTES' record");
  if (ok && manifest->num_outputs == 0 && manifest->num_params == 0)
    ok = fail(&state, "no params and no outputs: nothing to run");
  for (int g = 0; ok && g < manifest->num_grads; g++) {
    const TensorSpec *grad = &manifest->grads[g];
    int p = -1;
    for (int i = 0; i < manifest->num_params; i++)
      if (strcmp(manifest->params[i].tensor.name, grad->name) == 0) p = i;
    if (p < 0) ok = fail(&state, "grad '%s' names no param", grad->name);
    else if (!manifest->params[p].trainable)
      ok = fail(&state, "grad '%s' belongs to a frozen param", grad->name);
    else if (!same_shape(grad, &manifest->params[p].tensor))
      ok = fail(&state, "grad '%s' has shape %s, its param %s", grad->name, grad->dims_text,
                manifest->params[p].tensor.dims_text);
    else {
      manifest->grad_param_index[g] = p;
      manifest->params[p].grad_index = g;
    }
  }
  for (int p = 0; ok && p < manifest->num_params; p++) { /* copy: its source, and the rows' shape */
    ParamSpec *param = &manifest->params[p];
    if (param->init != INIT_COPY) continue;
    param->copy_source = -1;
    for (int i = 0; i < manifest->num_params; i++)
      if (strcmp(manifest->params[i].tensor.name, param->copy_source_name) == 0) param->copy_source = i;
    const ParamSpec *source = param->copy_source >= 0 ? &manifest->params[param->copy_source] : NULL;
    int fits = source && source->init != INIT_COPY && source->tensor.num_dims == param->tensor.num_dims &&
               param->copy_ranges == param->tensor.num_dims;
    for (int d = 0; fits && d < param->tensor.num_dims; d++)
      fits = param->copy_starts[d] >= 0 && param->copy_stops[d] <= source->tensor.dims[d] &&
             param->tensor.dims[d] == param->copy_stops[d] - param->copy_starts[d];
    if (!fits)
      ok = fail(&state, "param '%s' (%s): 'copy %s' names no param, or a slice that does not have its shape",
                param->tensor.name, param->tensor.dims_text, param->copy_source_name);
  }
  for (int p = 0; ok && p < manifest->num_params; p++)
    if (manifest->params[p].trainable && manifest->params[p].grad_index < 0)
      ok = fail(&state, "trainable param '%s' has no 'grad' record",
                manifest->params[p].tensor.name);
  if (ok && teacher_input_name) {
    state.line_number = teacher_line;
    manifest->teacher_input = find_tensor(manifest->inputs, manifest->num_inputs,
                                          teacher_input_name);
    manifest->teacher_output = find_tensor(manifest->outputs, manifest->num_outputs,
                                           teacher_output_name);
    if (manifest->teacher_input < 0)
      ok = fail(&state, "teacher input '%s' is not an input", teacher_input_name);
    else if (manifest->teacher_output < 0)
      ok = fail(&state, "teacher output '%s' is not an output", teacher_output_name);
    else if (manifest->inputs[manifest->teacher_input].element_type != ELEMENT_F32)
      ok = fail(&state, "teacher input '%s' must be f32", teacher_input_name);
    else if (!same_shape(&manifest->inputs[manifest->teacher_input],
                         &manifest->outputs[manifest->teacher_output]))
      ok = fail(&state, "teacher input '%s' (%s) and output '%s' (%s) differ in shape",
                teacher_input_name, manifest->inputs[manifest->teacher_input].dims_text,
                teacher_output_name, manifest->outputs[manifest->teacher_output].dims_text);
    else manifest->has_teacher = 1;
  }
  /* range, then seed and classify (classify checks ranges). */
  for (int pass = 0; pass < 2; pass++)
    for (int r = 0; ok && r < num_late; r++) {
      LateRecord *late = &late_records[r];
      if ((pass == 0) != (late->kind == 'r')) continue;
      state.line_number = late->line_number;
      ok = resolve_late_record(&state, manifest, late);
    }
  for (int r = 0; r < num_late; r++) {
    free(late_records[r].first);
    free(late_records[r].second);
  }
  free(teacher_input_name);
  free(teacher_output_name);
  if (!ok) manifest_destroy(manifest);
  return ok;
}

static void tensor_destroy(TensorSpec *tensor) {
  free(tensor->name);
  free(tensor->dims_text);
}

void manifest_destroy(Manifest *manifest) {
  if (manifest->params)
    for (int i = 0; i < manifest->num_params; i++) {
      tensor_destroy(&manifest->params[i].tensor);
      free(manifest->params[i].copy_source_name);
    }
  if (manifest->inputs)
    for (int i = 0; i < manifest->num_inputs; i++) tensor_destroy(&manifest->inputs[i]);
  if (manifest->outputs)
    for (int i = 0; i < manifest->num_outputs; i++) tensor_destroy(&manifest->outputs[i]);
  if (manifest->grads)
    for (int i = 0; i < manifest->num_grads; i++) tensor_destroy(&manifest->grads[i]);
  for (int i = 0; i < manifest->num_checkpoint_names; i++) {
    free(manifest->checkpoint_names[i].map);
    free(manifest->checkpoint_names[i].name);
  }
  free(manifest->checkpoint_names);
  free(manifest->routing_param);
  free(manifest->routing_k);
  free(manifest->params);
  free(manifest->inputs);
  free(manifest->outputs);
  free(manifest->grads);
  free(manifest->grad_param_index);
  memset(manifest, 0, sizeof *manifest);
}

void manifest_count_params(const Manifest *manifest, int64_t *trainable, int64_t *frozen) {
  *trainable = 0;
  *frozen = 0;
  for (int p = 0; p < manifest->num_params; p++)
    *(manifest->params[p].trainable ? trainable : frozen) += manifest->params[p].tensor.num_elements;
}

void manifest_count_adapter_params(const Manifest *manifest, int64_t *adapter, int64_t *base) {
  *adapter = 0;
  *base = 0;
  for (int p = 0; p < manifest->num_params; p++)
    *(manifest->params[p].adapter ? adapter : base) += manifest->params[p].tensor.num_elements;
}
