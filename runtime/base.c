/* base.c — `--base DIR`: the frozen weights of a Hugging Face checkpoint folder.
 *
 *   DIR/model.safetensors.index.json   {"weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors", ...}}
 *   DIR/model-0000N-of-0000M.safetensors
 * or DIR/model.safetensors, or DIR itself a safetensors file. Each shard is memory-mapped
 * (safetensors.c checks it whole); each param is looked up under its checkpoint name(s) — the
 * manifest's `checkpoint hf ...` records from the program's `names hf` map, one per expert of a
 * bank param — and converted from F32, BF16 or F16 into the param's f32 buffer. Every problem is
 * collected and reported at once: the tensor, the param, the file, expected and found values.
 *
 * A param compiled bf16 (perftc --frozen-dtype=bf16) takes a BF16 tensor as it is, others rounded;
 * an f32 param takes BF16 and F16 widened.
 */
#define _DEFAULT_SOURCE /* madvise */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bf16.h"
#include "check.h"
#include "json.h"
#include "safetensors.h"

#define PROBLEMS_SIZE 16384
#define MAX_SHARDS 4096

typedef struct {
  char *problems;
  int count;
} Problems;

static void problem(Problems *p, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void problem(Problems *p, const char *format, ...) {
  p->count++;
  size_t used = strlen(p->problems);
  if (p->count > 20 || used + 8 >= PROBLEMS_SIZE) return;
  if (used) memcpy(p->problems + used, "\n  ", 4), used += 3;
  va_list args;
  va_start(args, format);
  vsnprintf(p->problems + used, PROBLEMS_SIZE - used, format, args);
  va_end(args);
}

static int is_regular_file(const char *path) {
  struct stat s;
  return stat(path, &s) == 0 && S_ISREG(s.st_mode);
}

static char *join(const char *dir, const char *name) {
  size_t length = strlen(dir) + strlen(name) + 2;
  char *path = callocCheck(length, 1);
  snprintf(path, length, "%s/%s", dir, name);
  return path;
}

/* The shard paths: from the index's weight_map (each file once, in first-use order), the one
 * model.safetensors, or dir itself. */
static int list_shards(const char *dir, char **paths, char **source) {
  if (is_regular_file(dir)) {
    paths[0] = strdupCheck(dir);
    *source = strdupCheck(dir);
    return 1;
  }
  char *index = join(dir, "model.safetensors.index.json");
  if (!is_regular_file(index)) {
    free(index);
    char *single = join(dir, "model.safetensors");
    if (!is_regular_file(single))
      perft_fatal("--base %s: neither model.safetensors.index.json nor model.safetensors is there (a Hugging Face "
                  "checkpoint folder holds one of them)", dir);
    paths[0] = single;
    *source = strdupCheck(single);
    return 1;
  }
  JsonDocument *document = NULL;
  char error[1024];
  if (!json_read_file(index, &document, error, sizeof error)) perft_fatal("%s", error);
  const JsonValue *root = json_document_root(document);
  const JsonValue *map = root->kind == JSON_OBJECT ? json_object_find(root, "weight_map") : NULL;
  if (!map || map->kind != JSON_OBJECT)
    perft_fatal("%s: no \"weight_map\" object (the index of a sharded checkpoint maps tensor names to files)", index);
  int count = 0;
  for (size_t i = 0; i < map->count; i++) {
    const JsonMember *m = &map->members[i];
    if (m->value->kind != JSON_STRING || !m->value->string[0] || strchr(m->value->string, '/'))
      perft_fatal("%s:%d:%d: \"%s\" maps to %s, not a file name in the folder", index, m->line, m->column, m->key,
                  json_kind_name(m->value->kind));
    int seen = 0;
    for (int s = 0; s < count && !seen; s++) seen = strcmp(strrchr(paths[s], '/') + 1, m->value->string) == 0;
    if (seen) continue;
    if (count == MAX_SHARDS) perft_fatal("%s: more than %d shards", index, MAX_SHARDS);
    paths[count++] = join(dir, m->value->string);
  }
  json_document_destroy(document);
  *source = index;
  return count;
}

static float f16_to_float(uint16_t bits) {
  uint32_t sign = (uint32_t)(bits >> 15) << 31, exponent = (bits >> 10) & 31, mantissa = bits & 1023, wide;
  if (exponent == 31) wide = sign | 0x7f800000u | (mantissa << 13);        /* inf, nan */
  else if (exponent) wide = sign | ((exponent + 112) << 23) | (mantissa << 13);
  else if (!mantissa) wide = sign;                                         /* ±0 */
  else {                                                                   /* subnormal: normalise */
    int shift = 0;
    while (!(mantissa & 1024)) mantissa <<= 1, shift++;
    wide = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 1023) << 13);
  }
  float value;
  memcpy(&value, &wide, sizeof value);
  return value;
}

/* Copies the entry (F32, BF16 or F16) into out: count floats, or count bf16 values when `type` is
 * ELEMENT_BF16 (a bf16 entry copied as it is, others rounded). */
static void convert(const SafetensorsFile *file, const SafetensorsEntry *entry, void *out, ElementType type) {
  const unsigned char *bytes = file->data + entry->data_begin;
  int64_t count = entry->num_elements;
  int from_f32 = strcmp(entry->dtype, "F32") == 0, from_bf16 = strcmp(entry->dtype, "BF16") == 0;
  if (type == ELEMENT_BF16 && from_bf16) {
    memcpy(out, bytes, (size_t)count * 2);
    return;
  }
  if (type != ELEMENT_BF16 && from_f32) {
    memcpy(out, bytes, (size_t)count * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < count; i++) {
    float value;
    if (from_f32) {
      memcpy(&value, bytes + 4 * i, 4);
    } else {
      uint16_t bits;
      memcpy(&bits, bytes + 2 * i, 2);
      value = from_bf16 ? bf16_to_float(bits) : f16_to_float(bits);
    }
    if (type == ELEMENT_BF16) ((uint16_t *)out)[i] = float_to_bf16(value);
    else ((float *)out)[i] = value;
  }
}

/* The entry's pages leave the process (they stay in the page cache): the copy is what is kept, so
 * the resident memory is the params', not the params' plus the checkpoint's. */
static void release_pages(const SafetensorsFile *file, const SafetensorsEntry *entry) {
  if (!file->mapping) return;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t begin = (uintptr_t)(file->data + entry->data_begin), end = (uintptr_t)(file->data + entry->data_end);
  begin = (begin + page - 1) / page * page; /* whole pages inside the entry only */
  end = end / page * page;
  if (end > begin) madvise((void *)begin, end - begin, MADV_DONTNEED);
}

static void format_shape(const int64_t *dims, int rank, char *out, size_t size) {
  size_t used = (size_t)snprintf(out, size, "[");
  for (int d = 0; d < rank && used < size; d++)
    used += (size_t)snprintf(out + used, size - used, "%s%lld", d ? ", " : "", (long long)dims[d]);
  if (used < size) snprintf(out + used, size - used, "]");
}

/* Reads checkpoint tensor `name` into out, expecting dims (rank): 1 when read, 0 when missing,
 * -1 after a problem. */
static int read_one(SafetensorsFile *shards, int num_shards, const char *name, const char *param,
                    const int64_t *dims, int rank, void *out, ElementType type, Problems *problems) {
  for (int s = 0; s < num_shards; s++) {
    const SafetensorsEntry *entry = safetensors_find(&shards[s], name);
    if (!entry) continue;
    int same = entry->num_dims == rank;
    for (int d = 0; same && d < rank; d++) same = entry->shape[d] == dims[d];
    if (rank == 1 && dims[0] == 1 && entry->num_dims == 0) same = 1; /* a scalar */
    if (!same) {
      char want[160], found[160];
      format_shape(dims, rank, want, sizeof want);
      format_shape(entry->shape, entry->num_dims, found, sizeof found);
      problem(problems, "'%s' (param %s) in %s: shape %s, expected %s", name, param, shards[s].path, found, want);
      return -1;
    }
    if (strcmp(entry->dtype, "F32") && strcmp(entry->dtype, "BF16") && strcmp(entry->dtype, "F16")) {
      problem(problems, "'%s' (param %s) in %s: dtype %s, expected F32, BF16 or F16", name, param, shards[s].path,
              entry->dtype);
      return -1;
    }
    convert(&shards[s], entry, out, type);
    release_pages(&shards[s], entry);
    return 1;
  }
  return 0;
}

void base_load(const Manifest *manifest, Arena *arena, const char *dir, char *loaded) {
  char **paths = callocCheck(MAX_SHARDS, sizeof *paths);
  char *source = NULL;
  int num_shards = list_shards(dir, paths, &source);
  SafetensorsFile *shards = callocCheck((size_t)num_shards, sizeof *shards);
  char error[1024];
  for (int s = 0; s < num_shards; s++)
    if (!safetensors_open(paths[s], &shards[s], error, sizeof error)) perft_fatal("--base %s: %s", dir, error);
  Problems problems = {callocCheck(PROBLEMS_SIZE, 1), 0};
  for (int p = 0; p < manifest->num_params; p++) {
    const ParamSpec *param = &manifest->params[p];
    if (param->constant) continue;
    const TensorSpec *t = &param->tensor;
    int found = 0, missing = 0, mapped = 0;
    char missing_name[512] = "";
    for (int c = 0; c < manifest->num_checkpoint_names; c++) {
      const CheckpointName *n = &manifest->checkpoint_names[c];
      if (n->param != p || strcmp(n->map, "hf") != 0) continue;
      mapped = 1;
      TensorPart part = checkpoint_part(t, n); /* whole, an expert of a bank, or a block */
      size_t size = element_bytes(t->element_type);
      char *param_bytes = (char *)arena->params[p];
      char *at = part.count == 1 ? param_bytes + part.first * (int64_t)size : callocCheck((size_t)(part.count * part.run), size);
      int r = read_one(shards, num_shards, n->name, t->name, part.dims, part.num_dims, at, t->element_type,
                       &problems);
      if (part.count > 1) { /* a block across rows: scattered into place */
        for (int64_t i = 0; r == 1 && i < part.count; i++)
          memcpy(param_bytes + (part.first + i * part.stride) * (int64_t)size, at + i * part.run * (int64_t)size,
                 (size_t)part.run * size);
        free(at);
      }
      if (r == 1) found++;
      if (r == 0 && !missing++) snprintf(missing_name, sizeof missing_name, "%s", n->name);
    }
    if (!mapped) {
      int r = read_one(shards, num_shards, t->name, t->name, t->dims, t->num_dims, arena->params[p],
                       t->element_type, &problems);
      if (r == 1) found++;
      if (r == 0) missing++, snprintf(missing_name, sizeof missing_name, "%s", t->name);
    }
    if (found && missing)
      problem(&problems, "param %s: '%s' is not in %s (%d of the param's %d tensors are)", t->name, missing_name,
              source, found, found + missing);
    else if (missing && !param->adapter) /* an adapter's params start from their init rule */
      problem(&problems, "'%s' (param %s, shape [%s]) is not in %s", missing_name, t->name, t->dims_text, source);
    if (found && !missing) loaded[p] = 1;
  }
  for (int s = 0; s < num_shards; s++) {
    safetensors_close(&shards[s]);
    free(paths[s]);
  }
  free(shards);
  free(paths);
  if (problems.count)
    perft_fatal("--base %s: %d problem%s%s:\n  %s", dir, problems.count, problems.count == 1 ? "" : "s",
                problems.count > 20 ? " (the first 20)" : "", problems.problems);
  free(problems.problems);
  free(source);
}
