/* utf8.c: strict UTF-8 (see utf8.h). */
#include "utf8.h"

/* How many bytes of a valid sequence start at text[position] (1..4); 0 when none does. The
 * second byte's range depends on the first byte: this is what rules out overlong forms,
 * surrogates and code points above U+10FFFF. */
static size_t valid_sequence_length(const unsigned char *text, size_t length, size_t position) {
  unsigned char first = text[position];
  if (first < 0x80) return 1;
  size_t width;
  unsigned char second_low = 0x80, second_high = 0xBF;
  if (first >= 0xC2 && first <= 0xDF) width = 2;
  else if (first >= 0xE0 && first <= 0xEF) width = 3;
  else if (first >= 0xF0 && first <= 0xF4) width = 4;
  else return 0;
  if (first == 0xE0) second_low = 0xA0;
  if (first == 0xED) second_high = 0x9F;
  if (first == 0xF0) second_low = 0x90;
  if (first == 0xF4) second_high = 0x8F;
  for (size_t index = 1; index < width; index++) {
    if (position + index >= length) return 0;
    unsigned char byte = text[position + index];
    unsigned char low = index == 1 ? second_low : 0x80, high = index == 1 ? second_high : 0xBF;
    if (byte < low || byte > high) return 0;
  }
  return width;
}

int utf8_decode(const unsigned char *text, size_t length, size_t *position, uint32_t *code_point) {
  size_t width = valid_sequence_length(text, length, *position);
  if (width == 0) return 0;
  const unsigned char *bytes = text + *position;
  static const unsigned char first_byte_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  uint32_t value = bytes[0] & first_byte_mask[width];
  for (size_t index = 1; index < width; index++) value = (value << 6) | (bytes[index] & 0x3F);
  *code_point = value;
  *position += width;
  return 1;
}

size_t utf8_encode(uint32_t code_point, unsigned char out[4]) {
  if (code_point < 0x80) {
    out[0] = (unsigned char)code_point;
    return 1;
  }
  if (code_point < 0x800) {
    out[0] = (unsigned char)(0xC0 | (code_point >> 6));
    out[1] = (unsigned char)(0x80 | (code_point & 0x3F));
    return 2;
  }
  if (code_point < 0x10000) {
    out[0] = (unsigned char)(0xE0 | (code_point >> 12));
    out[1] = (unsigned char)(0x80 | ((code_point >> 6) & 0x3F));
    out[2] = (unsigned char)(0x80 | (code_point & 0x3F));
    return 3;
  }
  out[0] = (unsigned char)(0xF0 | (code_point >> 18));
  out[1] = (unsigned char)(0x80 | ((code_point >> 12) & 0x3F));
  out[2] = (unsigned char)(0x80 | ((code_point >> 6) & 0x3F));
  out[3] = (unsigned char)(0x80 | (code_point & 0x3F));
  return 4;
}

void utf8_append(ByteBuffer *buffer, uint32_t code_point) {
  unsigned char bytes[4];
  byte_buffer_append(buffer, bytes, utf8_encode(code_point, bytes));
}

int utf8_validate(const unsigned char *text, size_t length, size_t *bad_offset) {
  size_t position = 0;
  while (position < length) {
    size_t width = valid_sequence_length(text, length, position);
    if (width == 0) {
      *bad_offset = position;
      return 0;
    }
    position += width;
  }
  return 1;
}

/* The length of the maximal prefix of a valid sequence at text[position] (at least 1): the bytes
 * that one U+FFFD replaces. */
static size_t invalid_prefix_length(const unsigned char *text, size_t length, size_t position) {
  size_t prefix = 1;
  while (prefix < 4 && position + prefix < length) {
    /* A longer prefix is "maximal" when it would still be valid with the right bytes after it. */
    unsigned char trial[4] = {0, 0x80, 0x80, 0x80};
    for (size_t index = 0; index <= prefix; index++) trial[index] = text[position + index];
    size_t needed = prefix + 1;
    int still_a_prefix = 0;
    for (size_t width = needed; width <= 4 && !still_a_prefix; width++)
      still_a_prefix = valid_sequence_length(trial, width, 0) == width;
    if (!still_a_prefix) break;
    prefix++;
  }
  return prefix;
}

void utf8_append_lossy(ByteBuffer *buffer, const unsigned char *bytes, size_t length) {
  size_t position = 0, valid_start = 0;
  while (position < length) {
    size_t width = valid_sequence_length(bytes, length, position);
    if (width) {
      position += width;
      continue;
    }
    byte_buffer_append(buffer, bytes + valid_start, position - valid_start);
    utf8_append(buffer, 0xFFFD);
    position += invalid_prefix_length(bytes, length, position);
    valid_start = position;
  }
  byte_buffer_append(buffer, bytes + valid_start, length - valid_start);
}

void utf8_line_column(const unsigned char *text, size_t offset, int *line, int *column) {
  int current_line = 1, current_column = 1;
  size_t position = 0;
  while (position < offset) {
    if (text[position] == '\n') {
      current_line++;
      current_column = 1;
      position++;
      continue;
    }
    size_t width = valid_sequence_length(text, offset, position);
    position += width ? width : 1;
    current_column++;
  }
  *line = current_line;
  *column = current_column;
}
