/* fuzz_safetensors.c: libFuzzer target for the safetensors reader (runtime/safetensors.c).
 *
 * Each input is a file (fuzz_file.h): safetensors_parse_buffer, then every entry read back with
 * safetensors_read_tensor against its own shape (as F32 and as I32: one must succeed exactly when
 * the dtype is that one), every name and metadata key looked up again. Whatever the bytes, the
 * reader must either refuse them with a one-line message naming the file, or give entries that
 * lie inside the data; ASan and UBSan watch every read and every size computation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_file.h"
#include "safetensors.h"

#define FUZZ_PATH "fuzz.safetensors"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int condition, const char *what) {
  if (condition) return;
  fprintf(stderr, "fuzz_safetensors: broken invariant: %s\n", what);
  abort();
}

/* Reads entry as `element_type` with its own shape; returns whether the read succeeded. */
static int read_as(const SafetensorsFile *file, const SafetensorsEntry *entry,
                   ElementType element_type) {
  char dims_text[256], problems[1024] = "";
  dims_format(entry->shape, entry->num_dims, dims_text, sizeof dims_text);
  TensorSpec spec = {.name = (char *)entry->name, .dims_text = dims_text,
                     .num_dims = entry->num_dims, .num_elements = entry->num_elements,
                     .element_type = element_type};
  memcpy(spec.dims, entry->shape, sizeof spec.dims);
  const char *dtype = element_type == ELEMENT_I32 ? "I32" : "F32";
  int readable = strcmp(entry->dtype, dtype) == 0;
  void *out = readable ? malloc((size_t)entry->num_elements * 4 + 1) : NULL;
  int ok = safetensors_read_tensor(file, entry->name, &spec, out, problems, sizeof problems);
  require(ok == readable, "read_tensor succeeds exactly for its own dtype");
  require(ok || problems[0], "a failed read says why");
  free(out);
  return ok;
}

static void check_file(const SafetensorsFile *file) {
  uint64_t total = 0;
  for (int i = 0; i < file->num_entries; i++) {
    const SafetensorsEntry *entry = &file->entries[i];
    require(entry->data_begin <= entry->data_end && entry->data_end <= file->data_bytes,
            "offsets inside the data");
    require(entry->num_elements >= 0 && entry->num_dims >= 0 && entry->num_dims <= PERFT_MAX_DIMS,
            "a sane shape");
    require(safetensors_find(file, entry->name) == entry, "find returns the entry");
    total += entry->data_end - entry->data_begin;
    read_as(file, entry, ELEMENT_F32);
    read_as(file, entry, ELEMENT_I32);
  }
  require(total == file->data_bytes, "the tensors cover the data exactly");
  for (int m = 0; m < file->num_metadata; m++)
    require(safetensors_metadata(file, file->metadata[m][0]) == file->metadata[m][1],
            "metadata lookup");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t file_size;
  unsigned char *bytes = fuzz_file_bytes(data, size, &file_size);
  SafetensorsFile file;
  char error[2048];
  if (safetensors_parse_buffer(FUZZ_PATH, bytes, file_size, &file, error, sizeof error)) {
    check_file(&file);
    safetensors_close(&file);
  } else {
    require(strncmp(error, FUZZ_PATH ": ", strlen(FUZZ_PATH) + 2) == 0, "the message names the file");
    require(strchr(error, '\n') == NULL, "a one-line message");
  }
  free(bytes);
  return 0;
}
