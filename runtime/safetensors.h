/* safetensors.h: read (mmap) and write (atomically) safetensors files, F32 and I32 tensors.
 *
 * File layout: u64 little-endian N | N bytes of JSON header | data.
 * Header: {"NAME": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...,
 *          "__metadata__": {...}}   offsets are relative to the start of the data.
 */
#ifndef PERFT_RUNTIME_SAFETENSORS_H
#define PERFT_RUNTIME_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

typedef struct {
  char *name;
  char dtype[16];                 /* as written in the file, e.g. "F32", "BF16" */
  int num_dims;
  int64_t shape[PERFT_MAX_DIMS];
  uint64_t data_begin, data_end;  /* relative to SafetensorsFile.data */
} SafetensorsEntry;

typedef struct {
  char *path;
  void *mapping;        /* the whole file, read-only */
  size_t mapping_bytes;
  const unsigned char *data;  /* start of the data section */
  uint64_t data_bytes;
  SafetensorsEntry *entries;
  int num_entries;
} SafetensorsFile;

/* Maps and parses path. On failure returns 0 with a one-line reason (naming the file) in error. */
int safetensors_open(const char *path, SafetensorsFile *file, char *error, size_t error_size);
void safetensors_close(SafetensorsFile *file);
const SafetensorsEntry *safetensors_find(const SafetensorsFile *file, const char *name);

/* Copies `name` into out (expected.num_elements 4-byte elements) after checking that it exists,
 * has the expected dtype (F32, or I32 for an i32 input) and the expected shape. On a problem returns 0 and appends "'NAME' missing (expected shape
 * [4x3])" or "'NAME' shape mismatch: expected [4x3], found [3x4]" to problems, separated by "; ",
 * so that every problem of a file can be reported on one line. */
int safetensors_read_tensor(const SafetensorsFile *file, const char *name,
                            const TensorSpec *expected, void *out, char *problems,
                            size_t problems_size);

/* One tensor to write. */
typedef struct {
  const char *name;
  int num_dims;
  const int64_t *shape;
  const void *data;     /* may change between writes; read at each write */
  ElementType element_type; /* ELEMENT_F32 (the default, 0) or ELEMENT_I32 */
} SafetensorsTensor;

/* A writer prepared at start-up: the header and temp path are built once, so that writing a
 * checkpoint in the training loop allocates nothing. */
typedef struct {
  char *path;            /* final file */
  char *temp_path;       /* path + ".tmp.PID": written, fsynced, then renamed over path */
  char *header;          /* 8-byte length + JSON, padded with spaces to a multiple of 8 */
  size_t header_bytes;
  SafetensorsTensor *tensors;
  int num_tensors;
} SafetensorsWriter;

void safetensors_writer_create(SafetensorsWriter *writer, const char *path,
                               const SafetensorsTensor *tensors, int num_tensors);
/* Writes temp file + fsync + rename + fsync of the directory. Either the new file is complete at
 * path, or path keeps its old contents and no temp file is left. Returns 0 with a reason in
 * error on failure. No heap allocation. */
int safetensors_writer_write(SafetensorsWriter *writer, char *error, size_t error_size);
void safetensors_writer_destroy(SafetensorsWriter *writer);

/* Convenience: create + write + destroy. */
int safetensors_write_file(const char *path, const SafetensorsTensor *tensors, int num_tensors,
                           char *error, size_t error_size);

#endif
