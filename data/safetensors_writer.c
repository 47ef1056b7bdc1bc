/* safetensors_writer.c: I32 matrices + string metadata -> a safetensors file, via a temporary
 * file and rename (safetensors_writer.h). */
#define _POSIX_C_SOURCE 200809L /* getpid, fsync, fileno */

#include "safetensors_writer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memory.h"

static void append_text(ByteBuffer *header, const char *text) { byte_buffer_append(header, text, strlen(text)); }

/* text as a JSON string: quotes, backslash and control characters escaped. */
static void append_json_string(ByteBuffer *header, const char *text) {
  byte_buffer_append_byte(header, '"');
  for (const unsigned char *byte = (const unsigned char *)text; *byte; byte++) {
    char escaped[8];
    if (*byte == '"' || *byte == '\\') {
      byte_buffer_append_byte(header, '\\');
      byte_buffer_append_byte(header, *byte);
    } else if (*byte < 0x20) {
      snprintf(escaped, sizeof escaped, "\\u%04x", *byte);
      append_text(header, escaped);
    } else {
      byte_buffer_append_byte(header, *byte);
    }
  }
  byte_buffer_append_byte(header, '"');
}

/* The 8-byte length, then the JSON header padded to a multiple of 8 bytes. */
static void build_header(const I32MatrixSource *tensors, size_t tensor_count, const MetadataEntry *metadata,
                         size_t metadata_count, ByteBuffer *header) {
  byte_buffer_append(header, "\0\0\0\0\0\0\0\0", 8);
  append_text(header, "{\"__metadata__\":{\"format\":\"pt\"");
  for (size_t index = 0; index < metadata_count; index++) {
    byte_buffer_append_byte(header, ',');
    append_json_string(header, metadata[index].key);
    byte_buffer_append_byte(header, ':');
    append_json_string(header, metadata[index].value);
  }
  byte_buffer_append_byte(header, '}');
  unsigned long long offset = 0;
  for (size_t index = 0; index < tensor_count; index++) {
    const I32MatrixSource *tensor = &tensors[index];
    unsigned long long bytes = (unsigned long long)tensor->rows * tensor->columns * 4;
    char entry[160];
    byte_buffer_append_byte(header, ',');
    append_json_string(header, tensor->name);
    snprintf(entry, sizeof entry, ":{\"dtype\":\"I32\",\"shape\":[%zu,%zu],\"data_offsets\":[%llu,%llu]}",
             tensor->rows, tensor->columns, offset, offset + bytes);
    append_text(header, entry);
    offset += bytes;
  }
  byte_buffer_append_byte(header, '}');
  while (header->length % 8) byte_buffer_append_byte(header, ' ');
  unsigned long long json_length = header->length - 8;
  for (int index = 0; index < 8; index++) header->bytes[index] = (char)((json_length >> (8 * index)) & 0xFF);
}

/* Every row of tensor, little-endian; returns 0 when a write fails. */
static int write_rows(FILE *file, const I32MatrixSource *tensor) {
  int32_t *values = DATA_ALLOCATE(tensor->columns ? tensor->columns : 1, int32_t);
  unsigned char *bytes = DATA_ALLOCATE(tensor->columns * 4 + 1, unsigned char);
  int ok = 1;
  for (size_t row = 0; ok && row < tensor->rows; row++) {
    tensor->fill_row(tensor->context, row, values);
    for (size_t column = 0; column < tensor->columns; column++) {
      uint32_t value = (uint32_t)values[column];
      for (int byte = 0; byte < 4; byte++) bytes[column * 4 + byte] = (unsigned char)(value >> (8 * byte));
    }
    ok = fwrite(bytes, 1, tensor->columns * 4, file) == tensor->columns * 4;
  }
  free(values);
  free(bytes);
  return ok;
}

/* Flushes file to disk, closes it and renames temp_path onto path (written: whether every write
 * succeeded). Returns 0, or the errno of the first step that failed. */
static int commit_file(FILE *file, int written, const char *temp_path, const char *path) {
  int failure = written ? 0 : (errno ? errno : EIO);
  if (!failure && (fflush(file) != 0 || fsync(fileno(file)) != 0)) failure = errno;
  if (fclose(file) != 0 && !failure) failure = errno;
  if (!failure && rename(temp_path, path) != 0) failure = errno;
  return failure;
}

int safetensors_write_i32_matrices(const char *path, const I32MatrixSource *tensors, size_t tensor_count,
                                   const MetadataEntry *metadata, size_t metadata_count, char *error,
                                   size_t error_size) {
  size_t temp_size = strlen(path) + 32;
  char *temp_path = DATA_ALLOCATE(temp_size, char);
  snprintf(temp_path, temp_size, "%s.tmp.%ld", path, (long)getpid());
  FILE *file = fopen(temp_path, "wb");
  if (!file) {
    snprintf(error, error_size, "%s: error: cannot create %s: %s", path, temp_path, strerror(errno));
    free(temp_path);
    return 0;
  }
  ByteBuffer header = {0};
  build_header(tensors, tensor_count, metadata, metadata_count, &header);
  int ok = fwrite(header.bytes, 1, header.length, file) == header.length;
  for (size_t index = 0; ok && index < tensor_count; index++) ok = write_rows(file, &tensors[index]);
  int failure = commit_file(file, ok, temp_path, path);
  if (failure) {
    snprintf(error, error_size, "%s: error: cannot write: %s", path, strerror(failure));
    remove(temp_path);
  }
  byte_buffer_free(&header);
  free(temp_path);
  return !failure;
}
