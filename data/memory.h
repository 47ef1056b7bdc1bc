/* memory.h: checked allocation and the two growable arrays of the tokenizer library.
 *
 * Running out of memory is not an error a caller can act on: every allocation here either
 * succeeds or prints "perft-data: error: out of memory (N bytes) at FILE:LINE" and exits 1.
 */
#ifndef PERFT_DATA_MEMORY_H
#define PERFT_DATA_MEMORY_H

#include <stddef.h>
#include <stdint.h>

void *data_allocate(size_t count, size_t size, const char *file, int line);
void *data_reallocate(void *pointer, size_t count, size_t size, const char *file, int line);
#define DATA_ALLOCATE(count, type) ((type *)data_allocate((count), sizeof(type), __FILE__, __LINE__))
#define DATA_REALLOCATE(pointer, count, type) \
  ((type *)data_reallocate((pointer), (count), sizeof(type), __FILE__, __LINE__))

/* Bytes that grow; `bytes` is NUL-terminated after every append (not counted in length). */
typedef struct {
  char *bytes;
  size_t length;
  size_t capacity;
} ByteBuffer;

void byte_buffer_append(ByteBuffer *buffer, const void *bytes, size_t length);
void byte_buffer_append_byte(ByteBuffer *buffer, unsigned char byte);
void byte_buffer_free(ByteBuffer *buffer);

/* Token ids that grow. */
typedef struct {
  int32_t *ids;
  size_t count;
  size_t capacity;
} TokenIds;

void token_ids_append(TokenIds *list, int32_t id);
void token_ids_free(TokenIds *list);

#endif
