/* line_filter.c: one stage of data/ applied to each line of standard input, for the tests that
 * compare it with Python:
 *   line_filter nfc   < lines   NFC of each line (data/unicode.c); check_nfc.py compares it
 *                               with unicodedata.normalize("NFC", line)
 *   line_filter split < lines   the GPT-2 split of each line (data/gpt2_split.c), each piece in
 *                               byte-level form (data/byte_level.c), pieces separated by one
 *                               space: the form of the tokenizers library's
 *                               ByteLevel(add_prefix_space=False).pre_tokenize_str, which
 *                               check_tokenizer.py compares it with
 */
#include <stdio.h>
#include <string.h>

#include "byte_level.h"
#include "gpt2_split.h"
#include "memory.h"
#include "unicode.h"
#include "utf8.h"

static void split_line(ByteBuffer *output, const unsigned char *line, size_t length) {
  for (size_t piece = 0; piece < length;) {
    size_t piece_end = gpt2_split_next(line, length, piece);
    if (piece > 0) byte_buffer_append_byte(output, ' ');
    byte_level_append_chars(output, line + piece, piece_end - piece);
    piece = piece_end;
  }
}

int main(int argc, char **argv) {
  int split = argc == 2 && strcmp(argv[1], "split") == 0;
  if (argc != 2 || (!split && strcmp(argv[1], "nfc") != 0)) {
    fprintf(stderr, "usage: line_filter nfc|split < lines\n");
    return 1;
  }
  ByteBuffer input = {0}, output = {0};
  char chunk[1 << 16];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) byte_buffer_append(&input, chunk, got);
  const unsigned char *text = (const unsigned char *)input.bytes;
  size_t bad_offset;
  if (input.length && !utf8_validate(text, input.length, &bad_offset)) {
    fprintf(stderr, "line_filter: error: invalid UTF-8 at byte %zu of the input\n", bad_offset);
    return 1;
  }
  for (size_t start = 0; start < input.length;) {
    const char *newline = memchr(input.bytes + start, '\n', input.length - start);
    size_t end = newline ? (size_t)(newline - input.bytes) : input.length;
    if (split) split_line(&output, text + start, end - start);
    else unicode_append_nfc(&output, text + start, end - start);
    byte_buffer_append_byte(&output, '\n');
    start = end + 1;
  }
  fwrite(output.bytes ? output.bytes : "", 1, output.length, stdout);
  byte_buffer_free(&input);
  byte_buffer_free(&output);
  return fflush(stdout) == 0 ? 0 : 1;
}
