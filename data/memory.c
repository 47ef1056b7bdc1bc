/* memory.c: checked allocation and growable arrays (see memory.h). */
#include "memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t count, size_t size, const char *file, int line) {
  fprintf(stderr, "perft-data: error: out of memory (%zu x %zu bytes) at %s:%d\n", count, size, file,
          line);
  exit(1);
}

void *data_allocate(size_t count, size_t size, const char *file, int line) {
  if (count == 0) count = 1;
  if (size != 0 && count > SIZE_MAX / size) out_of_memory(count, size, file, line);
  void *pointer = calloc(count, size);
  if (!pointer) out_of_memory(count, size, file, line);
  return pointer;
}

void *data_reallocate(void *pointer, size_t count, size_t size, const char *file, int line) {
  if (count == 0) count = 1;
  if (size != 0 && count > SIZE_MAX / size) out_of_memory(count, size, file, line);
  void *grown = realloc(pointer, count * size);
  if (!grown) out_of_memory(count, size, file, line);
  return grown;
}

/* The capacity to grow to so that `needed` items fit: doubling, at least 16. */
static size_t grown_capacity(size_t capacity, size_t needed) {
  size_t grown = capacity < 16 ? 16 : capacity;
  while (grown < needed) grown = grown > SIZE_MAX / 2 ? needed : grown * 2;
  return grown;
}

void byte_buffer_append(ByteBuffer *buffer, const void *bytes, size_t length) {
  if (buffer->length + length + 1 > buffer->capacity) {
    buffer->capacity = grown_capacity(buffer->capacity, buffer->length + length + 1);
    buffer->bytes = DATA_REALLOCATE(buffer->bytes, buffer->capacity, char);
  }
  if (length) memcpy(buffer->bytes + buffer->length, bytes, length);
  buffer->length += length;
  buffer->bytes[buffer->length] = '\0';
}

void byte_buffer_append_byte(ByteBuffer *buffer, unsigned char byte) {
  byte_buffer_append(buffer, &byte, 1);
}

void byte_buffer_free(ByteBuffer *buffer) {
  free(buffer->bytes);
  buffer->bytes = NULL;
  buffer->length = buffer->capacity = 0;
}

void token_ids_append(TokenIds *list, int32_t id) {
  if (list->count == list->capacity) {
    list->capacity = grown_capacity(list->capacity, list->count + 1);
    list->ids = DATA_REALLOCATE(list->ids, list->capacity, int32_t);
  }
  list->ids[list->count++] = id;
}

void token_ids_free(TokenIds *list) {
  free(list->ids);
  list->ids = NULL;
  list->count = list->capacity = 0;
}
