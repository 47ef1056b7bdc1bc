/* perft_tokenize.c: the tokenizer on the command line.
 *
 *   perft-tokenize TOKENIZER.json [--ids] [--lines] [--no-special-tokens] < text > ids
 *   perft-tokenize TOKENIZER.json --decode [--lines] [--skip-special-tokens] < ids > text
 *
 * Encoding prints the ids of all of standard input on one line, separated by spaces; with
 * --lines, each input line (without its '\n') is encoded alone and gives one output line.
 * Decoding reads ids separated by white space and writes their text; with --lines, each input
 * line of ids gives one line of text. Errors are one line on stderr, exit status 1:
 *   tokenizer.json:3:15: error: ...     (the tokenizer file)
 *   <stdin>:2:7: error: ...             (the input)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"
#include "utf8.h"

typedef struct {
  const char *tokenizer_path;
  int decode, lines, add_special_tokens, skip_special_tokens;
} Options;

static void usage(const char *message) {
  fprintf(stderr,
          "perft-tokenize: error: %s\n"
          "usage: perft-tokenize TOKENIZER.json [--ids] [--lines] [--no-special-tokens] < text\n"
          "       perft-tokenize TOKENIZER.json --decode [--lines] [--skip-special-tokens] < ids\n",
          message);
  exit(1);
}

static Options parse_options(int argc, char **argv) {
  Options options = {.add_special_tokens = 1};
  for (int index = 1; index < argc; index++) {
    const char *argument = argv[index];
    if (strcmp(argument, "--ids") == 0) options.decode = 0;
    else if (strcmp(argument, "--decode") == 0) options.decode = 1;
    else if (strcmp(argument, "--lines") == 0) options.lines = 1;
    else if (strcmp(argument, "--no-special-tokens") == 0) options.add_special_tokens = 0;
    else if (strcmp(argument, "--skip-special-tokens") == 0) options.skip_special_tokens = 1;
    else if (argument[0] == '-' && argument[1]) {
      char message[256];
      snprintf(message, sizeof message, "unknown option '%s'", argument);
      usage(message);
    } else if (options.tokenizer_path) {
      usage("more than one tokenizer file given");
    } else {
      options.tokenizer_path = argument;
    }
  }
  if (!options.tokenizer_path) usage("no tokenizer file given");
  return options;
}

static ByteBuffer read_standard_input(void) {
  ByteBuffer input = {0};
  char chunk[1 << 16];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) byte_buffer_append(&input, chunk, got);
  if (ferror(stdin)) {
    fprintf(stderr, "<stdin>: error: cannot read: %s\n", strerror(errno));
    exit(1);
  }
  byte_buffer_append(&input, "", 0);
  return input;
}

static void write_ids(const TokenIds *ids) {
  for (size_t index = 0; index < ids->count; index++)
    printf(index ? " %ld" : "%ld", (long)ids->ids[index]);
  putchar('\n');
}

/* Encodes input[offset, offset + length): all of the input, or one line of it. */
static void encode_text(Tokenizer *tokenizer, const Options *options, const ByteBuffer *input,
                        size_t offset, size_t length) {
  TokenIds ids = {0};
  char error[512];
  if (!tokenizer_encode(tokenizer, input->bytes + offset, length, options->add_special_tokens, &ids,
                        error, sizeof error)) {
    fprintf(stderr, "<stdin>: error: %s\n", error);
    exit(1);
  }
  write_ids(&ids);
  token_ids_free(&ids);
}

/* Reads the ids of input[offset, offset + length) and writes their text. */
static void decode_text(Tokenizer *tokenizer, const Options *options, const ByteBuffer *input,
                        size_t offset, size_t length, int newline) {
  TokenIds ids = {0};
  size_t position = offset, end = offset + length;
  while (position < end) {
    unsigned char byte = (unsigned char)input->bytes[position];
    if (byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r') {
      position++;
      continue;
    }
    size_t start = position;
    long value = 0;
    while (position < end && input->bytes[position] >= '0' && input->bytes[position] <= '9' && value <= TOKENIZER_MAX_ID)
      value = value * 10 + (input->bytes[position++] - '0');
    int ended = position == end || strchr(" \t\n\r", input->bytes[position]) != NULL;
    if (position == start || !ended || value > TOKENIZER_MAX_ID) {
      int line, column;
      utf8_line_column((const unsigned char *)input->bytes, start, &line, &column);
      fprintf(stderr, "<stdin>:%d:%d: error: expected a token id (0 to %d)\n", line, column, TOKENIZER_MAX_ID);
      exit(1);
    }
    token_ids_append(&ids, (int32_t)value);
  }
  ByteBuffer text = {0};
  char error[512];
  if (!tokenizer_decode(tokenizer, ids.ids, ids.count, options->skip_special_tokens, &text, error,
                        sizeof error)) {
    fprintf(stderr, "<stdin>: error: %s\n", error);
    exit(1);
  }
  fwrite(text.bytes ? text.bytes : "", 1, text.length, stdout);
  if (newline) putchar('\n');
  byte_buffer_free(&text);
  token_ids_free(&ids);
}

int main(int argc, char **argv) {
  Options options = parse_options(argc, argv);
  Tokenizer *tokenizer;
  char error[1024];
  if (!tokenizer_load(options.tokenizer_path, &tokenizer, error, sizeof error)) {
    fprintf(stderr, "%s\n", error);
    return 1;
  }
  ByteBuffer input = read_standard_input();
  size_t bad_offset;
  if (!options.decode && !utf8_validate((const unsigned char *)input.bytes, input.length, &bad_offset)) {
    int line, column;
    utf8_line_column((const unsigned char *)input.bytes, bad_offset, &line, &column);
    fprintf(stderr, "<stdin>:%d:%d: error: invalid UTF-8 byte 0x%02X (the text must be UTF-8)\n", line,
            column, (unsigned char)input.bytes[bad_offset]);
    byte_buffer_free(&input);
    tokenizer_destroy(tokenizer);
    return 1;
  }
  if (!options.lines) {
    if (options.decode) decode_text(tokenizer, &options, &input, 0, input.length, 0);
    else encode_text(tokenizer, &options, &input, 0, input.length);
  } else {
    for (size_t start = 0; start < input.length;) {
      const char *newline = memchr(input.bytes + start, '\n', input.length - start);
      size_t end = newline ? (size_t)(newline - input.bytes) : input.length;
      if (options.decode) decode_text(tokenizer, &options, &input, start, end - start, 1);
      else encode_text(tokenizer, &options, &input, start, end - start);
      start = end + 1;
    }
  }
  byte_buffer_free(&input);
  tokenizer_destroy(tokenizer);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "perft-tokenize: error: cannot write the output: %s\n", strerror(errno));
    return 1;
  }
  return 0;
}
