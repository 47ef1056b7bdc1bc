/* fuzz_file.h: turns a fuzz input into the bytes of a safetensors file, for both fuzz targets.
 *
 * An input that starts with '{' is a bare header followed by data: the header runs to the last
 * '}' and its 8-byte length is put in front, so that mutations of the JSON are not wasted on a
 * length that no longer matches. Any other input is a whole file, length and all. The result is
 * a malloc'ed copy of exactly the file's size, so that AddressSanitizer sees any read past it.
 */
#ifndef PERFT_TESTS_RUNTIME_FUZZ_FILE_H
#define PERFT_TESTS_RUNTIME_FUZZ_FILE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *fuzz_file_bytes(const uint8_t *input, size_t size, size_t *file_size) {
  size_t header_bytes = 0; /* 0: a whole file */
  if (size > 0 && input[0] == '{')
    for (size_t i = size; i > 0 && header_bytes == 0; i--)
      if (input[i - 1] == '}') header_bytes = i;
  size_t prefix = header_bytes ? 8 : 0;
  unsigned char *bytes = malloc(size + prefix + 1);
  if (!bytes) abort();
  for (size_t i = 0; i < prefix; i++) bytes[i] = (unsigned char)((uint64_t)header_bytes >> (8 * i));
  if (size) memcpy(bytes + prefix, input, size);
  *file_size = size + prefix;
  return bytes;
}

#endif
