/* utf8.h: strict UTF-8 decoding and encoding, lossy repair, and line:column of a byte offset.
 *
 * Strict means what Rust's str and JSON allow: no overlong forms, no surrogates (U+D800..DFFF),
 * nothing above U+10FFFF.
 */
#ifndef PERFT_DATA_UTF8_H
#define PERFT_DATA_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "memory.h"

/* Decodes the character at text[*position] into *code_point and advances *position past it.
 * Returns 0 (and leaves *position alone) when the bytes there are not valid UTF-8. */
int utf8_decode(const unsigned char *text, size_t length, size_t *position, uint32_t *code_point);

/* Writes code_point (at most U+10FFFF, not a surrogate) as 1 to 4 bytes; returns how many. */
size_t utf8_encode(uint32_t code_point, unsigned char out[4]);
void utf8_append(ByteBuffer *buffer, uint32_t code_point);

/* Returns 1 when all of text is valid UTF-8; otherwise 0 with the first bad byte's offset. */
int utf8_validate(const unsigned char *text, size_t length, size_t *bad_offset);

/* Appends bytes with each maximal invalid subsequence replaced by U+FFFD, as Rust's
 * String::from_utf8_lossy does (the ByteLevel decoder's last step). */
void utf8_append_lossy(ByteBuffer *buffer, const unsigned char *bytes, size_t length);

/* The 1-based line and column of byte `offset` of text: lines end at '\n'; the column counts
 * characters (a byte that is not valid UTF-8 counts as one). */
void utf8_line_column(const unsigned char *text, size_t offset, int *line, int *column);

#endif
