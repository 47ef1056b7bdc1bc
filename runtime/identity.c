/* identity.c: program, strategy and base identities of a run; see identity.h. */
#include "identity.h"

#include <stdio.h>
#include <string.h>

#include "bf16.h"
#include "check.h"
#include "rng.h"
#include "safetensors.h"

/* Four independent multiply-xor lanes over 8-byte words, folded by mix64: fast enough to hash a
 * few GB of frozen weights at start-up. */
typedef struct {
  uint64_t lane[4];
  unsigned char tail[32];
  size_t tail_bytes;
} Hash;

static void hash_init(Hash *hash) {
  memset(hash, 0, sizeof *hash);
  for (int l = 0; l < 4; l++) hash->lane[l] = mix64(0x7065726674ull + (uint64_t)l);
}

static void hash_block(Hash *hash, const unsigned char *block) { /* 32 bytes */
  for (int l = 0; l < 4; l++) {
    uint64_t word;
    memcpy(&word, block + 8 * l, 8);
    hash->lane[l] = (hash->lane[l] ^ word) * 0x9E3779B97F4A7C15ull;
    hash->lane[l] ^= hash->lane[l] >> 29;
  }
}

static void hash_bytes(Hash *hash, const void *data, size_t bytes) {
  const unsigned char *cursor = data;
  while (bytes) {
    if (hash->tail_bytes == 0 && bytes >= 32) {
      hash_block(hash, cursor);
      cursor += 32;
      bytes -= 32;
      continue;
    }
    size_t take = 32 - hash->tail_bytes < bytes ? 32 - hash->tail_bytes : bytes;
    memcpy(hash->tail + hash->tail_bytes, cursor, take);
    hash->tail_bytes += take;
    cursor += take;
    bytes -= take;
    if (hash->tail_bytes == 32) {
      hash_block(hash, hash->tail);
      hash->tail_bytes = 0;
    }
  }
}

static void hash_finish(Hash *hash, char out[17]) {
  uint64_t length_mark = hash->tail_bytes;
  memset(hash->tail + hash->tail_bytes, 0, 32 - hash->tail_bytes);
  hash_block(hash, hash->tail);
  uint64_t h = length_mark;
  for (int l = 0; l < 4; l++) h = mix64(h ^ hash->lane[l]);
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static void program_hash(const char *manifest_text, char out[17]) {
  Hash hash;
  hash_init(&hash);
  for (const char *line = manifest_text; *line;) {
    const char *end = strchr(line, '\n');
    size_t length = end ? (size_t)(end - line) : strlen(line);
    size_t hashed = length;
    /* how a frozen param is stored (" bf16", perftc --frozen-dtype) does not change the program */
    if (strncmp(line, "param ", 6) == 0 && length > 5 && strncmp(line + length - 5, " bf16", 5) == 0) hashed -= 5;
    if (strncmp(line, "workspace ", 10) != 0) {
      hash_bytes(&hash, line, hashed);
      if (end) hash_bytes(&hash, "\n", 1);
    }
    line += length + (end != NULL);
  }
  hash_finish(&hash, out);
}

/* "layers.3.perft_r.ad.A" -> "layers.*.perft_r.ad": the module, with layer numbers as '*'. */
static void module_of(const char *name, char *out, size_t out_size) {
  size_t length = 0;
  const char *last_dot = strrchr(name, '.');
  const char *stop = last_dot ? last_dot : name + strlen(name);
  for (const char *c = name; c < stop && length + 1 < out_size; c++) {
    if (*c >= '0' && *c <= '9') {
      if (length == 0 || out[length - 1] != '*') out[length++] = '*';
    } else {
      out[length++] = *c;
    }
  }
  out[length] = '\0';
  if (!length) snprintf(out, out_size, "%s", name);
}

static void strategy_of(const Manifest *manifest, char *out, size_t out_size) {
  out[0] = '\0';
  for (int p = 0; p < manifest->num_params; p++) {
    if (!manifest->params[p].trainable) continue;
    char module[128], listed[sizeof module + 2];
    module_of(manifest->params[p].tensor.name, module, sizeof module);
    snprintf(listed, sizeof listed, ",%s,", module);
    size_t used = strlen(out);
    char bracketed[260]; /* out with commas around it, to look module up as a whole word */
    snprintf(bracketed, sizeof bracketed, ",%s,", out);
    if (strstr(bracketed, listed)) continue;
    if (used + strlen(module) + 2 >= out_size) { /* keep it one readable line */
      if (used + 4 < out_size) strcat(out, ",...");
      return;
    }
    snprintf(out + used, out_size - used, "%s%s", used ? "," : "", module);
  }
}

static void base_hash(const Manifest *manifest, const Arena *arena, char out[17]) {
  Hash hash;
  hash_init(&hash);
  for (int p = 0; p < manifest->num_params; p++) {
    const ParamSpec *param = &manifest->params[p];
    if (param->trainable || param->constant) continue;
    hash_bytes(&hash, param->tensor.name, strlen(param->tensor.name) + 1);
    hash_bytes(&hash, param->tensor.dims_text, strlen(param->tensor.dims_text) + 1);
    if (param->tensor.element_type != ELEMENT_BF16) {
      hash_bytes(&hash, arena->params[p], (size_t)param->tensor.num_elements * sizeof(float));
      continue;
    }
    /* bf16 values hashed as the f32 values they are, so that an f32 program holding the same
     * weights (a bf16 checkpoint read by either) has the same base */
    const uint16_t *values = (const uint16_t *)arena->params[p];
    float chunk[1024];
    for (int64_t i = 0; i < param->tensor.num_elements; i += 1024) {
      int64_t n = param->tensor.num_elements - i < 1024 ? param->tensor.num_elements - i : 1024;
      for (int64_t j = 0; j < n; j++) chunk[j] = bf16_to_float(values[i + j]);
      hash_bytes(&hash, chunk, (size_t)n * sizeof(float));
    }
  }
  hash_finish(&hash, out);
}

void identity_compute(const char *manifest_text, const Manifest *manifest, const Arena *arena,
                      ProgramIdentity *identity) {
  program_hash(manifest_text, identity->program);
  strategy_of(manifest, identity->strategy, sizeof identity->strategy);
  base_hash(manifest, arena, identity->base);
}

void identity_check_weights(const RunOptions *options, const ProgramIdentity *identity) {
  for (int w = 0; w < options->num_weights; w++) {
    SafetensorsFile file;
    char error[1024];
    if (!safetensors_open(options->weights_paths[w], &file, error, sizeof error)) perft_fatal("%s", error);
    const char *kind = safetensors_metadata(&file, "perft.kind");
    const char *program = safetensors_metadata(&file, "perft.program");
    const char *strategy = safetensors_metadata(&file, "perft.strategy");
    const char *base = safetensors_metadata(&file, "perft.base");
    int adapters = kind && (!strcmp(kind, "adapters") || !strcmp(kind, "checkpoint"));
    if (adapters && program && strcmp(program, identity->program) != 0)
      perft_fatal("%s holds the %s of another program (program %s, strategy %s); this one is program "
                  "%s, strategy %s (hint: load adapters only into the program that trained them)",
                  options->weights_paths[w], kind, program, strategy ? strategy : "?",
                  identity->program, identity->strategy);
    if (adapters && base && strcmp(base, identity->base) != 0)
      perft_fatal("%s holds %s trained on other base weights (base %s); this run's frozen weights are "
                  "base %s (hint: give the --weights the adapters were trained on)",
                  options->weights_paths[w], kind, base, identity->base);
    safetensors_close(&file);
  }
}
