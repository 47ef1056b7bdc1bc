/* byte_level.c: GPT-2's byte-to-unicode map (see byte_level.h). */
#include "byte_level.h"

#include "utf8.h"

/* The non-printable bytes, in order, and the characters from U+0100 on that stand for them:
 *   0x00..0x20 -> U+0100..U+0120     0x7F..0xA0 -> U+0121..U+0142     0xAD -> U+0143 */
enum { LOW_COUNT = 0x21, HIGH_FIRST = 0x7F, HIGH_COUNT = 0xA1 - 0x7F, SOFT_HYPHEN = 0xAD };

uint32_t byte_level_char(unsigned char byte) {
  if (byte < LOW_COUNT) return 0x100 + byte;
  if (byte >= HIGH_FIRST && byte < HIGH_FIRST + HIGH_COUNT) return 0x100 + LOW_COUNT + (byte - HIGH_FIRST);
  if (byte == SOFT_HYPHEN) return 0x100 + LOW_COUNT + HIGH_COUNT;
  return byte; /* '!'..'~', 0xA1..0xAC, 0xAE..0xFF stand for themselves */
}

int byte_level_byte(uint32_t code_point) {
  if (code_point < 0x100) {
    unsigned char byte = (unsigned char)code_point;
    return byte_level_char(byte) == code_point ? byte : -1;
  }
  if (code_point < 0x100 + LOW_COUNT) return (int)(code_point - 0x100);
  if (code_point < 0x100 + LOW_COUNT + HIGH_COUNT) return (int)(code_point - 0x100 - LOW_COUNT + HIGH_FIRST);
  if (code_point == 0x100 + LOW_COUNT + HIGH_COUNT) return SOFT_HYPHEN;
  return -1;
}

void byte_level_append_chars(ByteBuffer *out, const unsigned char *bytes, size_t length) {
  for (size_t index = 0; index < length; index++) utf8_append(out, byte_level_char(bytes[index]));
}

void byte_level_append_token_bytes(ByteBuffer *out, const unsigned char *token, size_t length) {
  size_t start = out->length, position = 0;
  uint32_t code_point;
  while (position < length && utf8_decode(token, length, &position, &code_point)) {
    int byte = byte_level_byte(code_point);
    if (byte < 0) {
      out->length = start;
      byte_buffer_append(out, token, length);
      return;
    }
    byte_buffer_append_byte(out, (unsigned char)byte);
  }
}
