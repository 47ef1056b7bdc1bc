/* safetensors_writer.h: writes a safetensors file of I32 matrices, row by row, atomically.
 *
 * The file: an 8-byte little-endian header length N; N bytes of JSON header,
 *   {"__metadata__":{"format":"pt","KEY":"VALUE",...},"NAME":{"dtype":"I32","shape":[ROWS,COLUMNS],
 *    "data_offsets":[BEGIN,END]},...}
 * padded with spaces so that the data starts 8-byte aligned; then each tensor's rows, little-endian,
 * in the order given (they tile the data section, as the format's reference reader requires).
 * It is written to PATH.tmp.PID, flushed to disk, and renamed onto PATH only when complete: a
 * failure leaves PATH as it was. Independent of runtime/safetensors.c (data/ stands alone).
 */
#ifndef PERFT_DATA_SAFETENSORS_WRITER_H
#define PERFT_DATA_SAFETENSORS_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* Fills row (columns values) of the tensor; context is the tensor's. */
typedef void (*I32RowFunction)(const void *context, size_t row, int32_t *values);

typedef struct {
  const char *name;
  size_t rows, columns;     /* shape [rows, columns] */
  I32RowFunction fill_row;
  const void *context;
} I32MatrixSource;

typedef struct {
  const char *key, *value;  /* UTF-8; escaped as JSON strings */
} MetadataEntry;

/* Writes path. On failure returns 0 with "PATH: error: WHAT" in error and removes the temporary
 * file. */
int safetensors_write_i32_matrices(const char *path, const I32MatrixSource *tensors, size_t tensor_count,
                                   const MetadataEntry *metadata, size_t metadata_count, char *error,
                                   size_t error_size);

#endif
