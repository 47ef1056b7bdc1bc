/* byte_level.h: GPT-2's byte-to-unicode map (openai/gpt-2 encoder.py, bytes_to_unicode).
 *
 * Byte-level BPE works on bytes, yet its vocabulary is written as text: each of the 256 bytes
 * stands for one printable character. The printable bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF
 * stand for themselves (as code points); the 68 others, in increasing order, for U+0100..U+0143:
 *   ' ' (0x20) -> 'Ġ' (U+0120)     '\n' (0x0A) -> 'Ċ' (U+010A)     0xAD -> 'Ń' (U+0143)
 */
#ifndef PERFT_DATA_BYTE_LEVEL_H
#define PERFT_DATA_BYTE_LEVEL_H

#include <stddef.h>
#include <stdint.h>

#include "memory.h"

/* The character that stands for byte. */
uint32_t byte_level_char(unsigned char byte);

/* The byte that code_point stands for, or -1 when it stands for none. */
int byte_level_byte(uint32_t code_point);

/* Appends the byte-level form of bytes (each byte as its character, in UTF-8). */
void byte_level_append_chars(ByteBuffer *out, const unsigned char *bytes, size_t length);

/* The ByteLevel decoder's step for one token (valid UTF-8): appends the bytes its characters
 * stand for; when any character stands for no byte, appends the token's own UTF-8 instead. */
void byte_level_append_token_bytes(ByteBuffer *out, const unsigned char *token, size_t length);

#endif
