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

/* One tensor of a file that safetensors_open accepted: every field below has been checked. */
typedef struct {
  const char *name;               /* no NUL inside, unique in the file */
  char dtype[16];                 /* one of the format's dtypes, e.g. "F32", "BF16" */
  int num_dims;                   /* 0..PERFT_MAX_DIMS */
  int64_t shape[PERFT_MAX_DIMS];
  int64_t num_elements;           /* product of shape (1 for []), below 2^63 */
  uint64_t data_begin, data_end;  /* relative to SafetensorsFile.data; end - begin = num_elements
                                     x the dtype's size; begin a multiple of that size */
} SafetensorsEntry;

typedef struct {
  char *path;                 /* as given, for messages */
  void *mapping;              /* the whole file, read-only; NULL after safetensors_parse_buffer */
  size_t mapping_bytes;
  const unsigned char *data;  /* start of the data section */
  uint64_t data_bytes;        /* covered exactly by the entries' [data_begin, data_end) */
  SafetensorsEntry *entries;  /* (num_entries) in header order */
  int num_entries;
  const SafetensorsEntry **by_name; /* (num_entries) sorted by name, for safetensors_find */
  const char *(*metadata)[2]; /* (num_metadata) "__metadata__" as {key, value}, sorted by key */
  int num_metadata;
  char *strings;              /* every name, key and value above, each NUL-terminated */
} SafetensorsFile;

/* Opens path (a regular file only: a FIFO or device is refused at once, never read or waited
 * on), maps it and parses it with safetensors_parse_buffer. On failure returns 0 with a one-line
 * reason in error that names the file and, where there is one, the tensor. The strict checks and
 * the limits are listed in safetensors.c and runtime/README.md. */
int safetensors_open(const char *path, SafetensorsFile *file, char *error, size_t error_size);
/* Parses a whole safetensors file held in memory (`size` bytes at `bytes`, which must outlive
 * file); `path` only names it in messages. The same checks and results as safetensors_open. */
int safetensors_parse_buffer(const char *path, const void *bytes, size_t size,
                             SafetensorsFile *file, char *error, size_t error_size);
void safetensors_close(SafetensorsFile *file);
/* The entry called name, or NULL. O(log n). */
const SafetensorsEntry *safetensors_find(const SafetensorsFile *file, const char *name);
/* The "__metadata__" value of key, or NULL when the file has none. O(log n). */
const char *safetensors_metadata(const SafetensorsFile *file, const char *key);

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

/* One "__metadata__" entry to write: both strings are copied into the header as JSON strings. */
typedef struct {
  const char *key;
  const char *value;
} SafetensorsMetadata;

/* A writer prepared at start-up: the header and temp path are built once, so that writing a
 * checkpoint in the training loop allocates nothing. Metadata values may change between writes
 * (safetensors_writer_set_metadata) as long as their length does not: callers use fixed widths. */
typedef struct {
  char *path;            /* final file */
  char *temp_path;       /* path + ".tmp.PID": written, fsynced, then renamed over path */
  char *header;          /* 8-byte length + JSON, padded with spaces to a multiple of 8 */
  size_t header_bytes;
  SafetensorsTensor *tensors;
  int num_tensors;
  char **metadata_keys;           /* (num_metadata) */
  size_t *metadata_value_offsets; /* (num_metadata) where each value's text starts in header */
  size_t *metadata_value_lengths; /* (num_metadata) */
  int num_metadata;
} SafetensorsWriter;

void safetensors_writer_create(SafetensorsWriter *writer, const char *path,
                               const SafetensorsTensor *tensors, int num_tensors);
/* As safetensors_writer_create, with "__metadata__" entries besides "format": "pt". Values are
 * any text (escaped as JSON needs); only those of printable ASCII without '"' or '\\' can be
 * rewritten in place later. */
void safetensors_writer_create_with_metadata(SafetensorsWriter *writer, const char *path,
                                             const SafetensorsTensor *tensors, int num_tensors,
                                             const SafetensorsMetadata *metadata, int num_metadata);
/* Rewrites the value of metadata `key` in the prepared header; both values must be plain (see
 * above) and of one length. No allocation. */
void safetensors_writer_set_metadata(SafetensorsWriter *writer, const char *key, const char *value);
/* Writes temp file + fsync + rename + fsync of the directory. Either the new file is complete at
 * path, or path keeps its old contents and no temp file is left. Returns 0 with a reason in
 * error on failure. No heap allocation. */
int safetensors_writer_write(SafetensorsWriter *writer, char *error, size_t error_size);
/* The same, to another final path through another temp path (checkpoints: one file per step). */
int safetensors_writer_write_as(SafetensorsWriter *writer, const char *path, const char *temp_path,
                                char *error, size_t error_size);
void safetensors_writer_destroy(SafetensorsWriter *writer);

/* Convenience: create + write + destroy. */
int safetensors_write_file(const char *path, const SafetensorsTensor *tensors, int num_tensors,
                           char *error, size_t error_size);

#endif
