/* tokenizer.c: encoding and decoding with a loaded tokenizer (see tokenizer.h; loading is in
 * tokenizer_load.c). */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_level.h"
#include "gpt2_split.h"
#include "unicode.h"
#include "utf8.h"

/* Runs pre-tokenizer steps step.. on one non-empty piece, then BPE on each resulting word. */
static void pre_tokenize_and_encode(Tokenizer *tokenizer, int step, const unsigned char *text,
                                    size_t length, TokenIds *ids) {
  if (step == tokenizer->pre_tokenize_step_count) {
    bpe_encode_word(&tokenizer->model, text, length, ids);
    return;
  }
  if (tokenizer->pre_tokenize_steps[step] == PRE_TOKENIZE_PREFIX_SPACE) {
    if (text[0] == ' ') {
      pre_tokenize_and_encode(tokenizer, step + 1, text, length, ids);
      return;
    }
    ByteBuffer *prefixed = &tokenizer->prefixed_text[step];
    prefixed->length = 0;
    byte_buffer_append_byte(prefixed, ' ');
    byte_buffer_append(prefixed, text, length);
    pre_tokenize_and_encode(tokenizer, step + 1, (const unsigned char *)prefixed->bytes,
                            prefixed->length, ids);
    return;
  }
  for (size_t start = 0; start < length;) {
    size_t end = gpt2_split_next(text, length, start);
    pre_tokenize_and_encode(tokenizer, step + 1, text + start, end - start, ids);
    start = end;
  }
}

/* A piece of text between raw added tokens: normalized, then cut at normalized added tokens. */
static void encode_raw_piece(Tokenizer *tokenizer, const unsigned char *text, size_t length,
                             TokenIds *ids) {
  const unsigned char *normalized = text;
  size_t normalized_length = length;
  if (tokenizer->normalizer == NORMALIZER_NFC && !unicode_is_nfc_stable(text, length)) {
    tokenizer->normalized_text.length = 0;
    unicode_append_nfc(&tokenizer->normalized_text, text, length);
    normalized = (const unsigned char *)tokenizer->normalized_text.bytes;
    normalized_length = tokenizer->normalized_text.length;
  }
  TextPieces *pieces = &tokenizer->normalized_pieces;
  added_tokens_split(&tokenizer->normalized_matcher, tokenizer->added_tokens, normalized,
                     normalized_length, pieces);
  for (size_t index = 0; index < pieces->count; index++) {
    const TextPiece *piece = &pieces->pieces[index];
    if (piece->token >= 0) token_ids_append(ids, tokenizer->added_tokens[piece->token].id);
    else pre_tokenize_and_encode(tokenizer, 0, normalized + piece->begin, piece->end - piece->begin, ids);
  }
}

/* The post-processor: each template rebuilds ids[begin..] from its pieces. */
static void apply_templates(const Tokenizer *tokenizer, size_t begin, int add_special_tokens,
                            TokenIds *ids) {
  for (size_t template_index = 0; template_index < tokenizer->template_count; template_index++) {
    const PostTemplate *template = &tokenizer->templates[template_index];
    size_t sequence_count = ids->count - begin;
    int32_t *sequence = DATA_ALLOCATE(sequence_count, int32_t);
    if (sequence_count) memcpy(sequence, ids->ids + begin, sequence_count * sizeof *sequence);
    ids->count = begin;
    for (size_t index = 0; index < template->count; index++) {
      const TemplatePiece *piece = &template->pieces[index];
      if (piece->is_sequence) {
        for (size_t item = 0; item < sequence_count; item++) token_ids_append(ids, sequence[item]);
      } else if (add_special_tokens) {
        for (size_t item = 0; item < piece->id_count; item++) token_ids_append(ids, piece->ids[item]);
      }
    }
    free(sequence);
  }
}

int tokenizer_encode(Tokenizer *tokenizer, const char *text, size_t length, int add_special_tokens,
                     TokenIds *ids, char *error, size_t error_size) {
  const unsigned char *bytes = (const unsigned char *)text;
  size_t bad_offset;
  if (!utf8_validate(bytes, length, &bad_offset)) {
    int line, column;
    utf8_line_column(bytes, bad_offset, &line, &column);
    snprintf(error, error_size, "byte %zu (line %d, column %d): invalid UTF-8 byte 0x%02X", bad_offset,
             line, column, bytes[bad_offset]);
    return 0;
  }
  size_t begin = ids->count;
  TextPieces *pieces = &tokenizer->raw_pieces;
  added_tokens_split(&tokenizer->raw_matcher, tokenizer->added_tokens, bytes, length, pieces);
  for (size_t index = 0; index < pieces->count; index++) {
    const TextPiece piece = pieces->pieces[index];
    if (piece.token >= 0) token_ids_append(ids, tokenizer->added_tokens[piece.token].id);
    else encode_raw_piece(tokenizer, bytes + piece.begin, piece.end - piece.begin, ids);
  }
  apply_templates(tokenizer, begin, add_special_tokens, ids);
  return 1;
}

int tokenizer_decode(Tokenizer *tokenizer, const int32_t *ids, size_t count, int skip_special_tokens,
                     ByteBuffer *text, char *error, size_t error_size) {
  ByteBuffer *bytes = &tokenizer->token_bytes;
  bytes->length = 0;
  int first = 1;
  for (size_t index = 0; index < count; index++) {
    int32_t id = ids[index];
    if (id < 0 || (size_t)id >= tokenizer->id_count || !tokenizer->id_texts[id]) {
      snprintf(error, error_size, "id %ld (number %zu of the input) is not a token of %s", (long)id,
               index + 1, tokenizer->path);
      return 0;
    }
    if (skip_special_tokens && tokenizer->id_is_special[id]) continue;
    const unsigned char *token = (const unsigned char *)tokenizer->id_texts[id];
    size_t token_length = tokenizer->id_text_lengths[id];
    if (tokenizer->byte_level_decoder) {
      byte_level_append_token_bytes(bytes, token, token_length);
    } else {
      if (!first) byte_buffer_append_byte(bytes, ' ');
      byte_buffer_append(bytes, token, token_length);
    }
    first = 0;
  }
  utf8_append_lossy(text, (const unsigned char *)bytes->bytes, bytes->length);
  return 1;
}

void tokenizer_destroy(Tokenizer *tokenizer) {
  if (!tokenizer) return;
  bpe_free(&tokenizer->model);
  for (size_t index = 0; index < tokenizer->added_token_count; index++) {
    free(tokenizer->added_tokens[index].content);
    free(tokenizer->added_tokens[index].pattern);
  }
  free(tokenizer->added_tokens);
  added_token_matcher_free(&tokenizer->raw_matcher);
  added_token_matcher_free(&tokenizer->normalized_matcher);
  for (size_t index = 0; index < tokenizer->template_count; index++) {
    for (size_t piece = 0; piece < tokenizer->templates[index].count; piece++)
      free(tokenizer->templates[index].pieces[piece].ids);
    free(tokenizer->templates[index].pieces);
  }
  free(tokenizer->templates);
  for (size_t index = 0; index < tokenizer->id_count; index++) free(tokenizer->id_texts[index]);
  free(tokenizer->id_texts);
  free(tokenizer->id_text_lengths);
  free(tokenizer->id_is_special);
  text_pieces_free(&tokenizer->raw_pieces);
  text_pieces_free(&tokenizer->normalized_pieces);
  byte_buffer_free(&tokenizer->normalized_text);
  for (int step = 0; step < TOKENIZER_MAX_PRE_TOKENIZE_STEPS; step++)
    byte_buffer_free(&tokenizer->prefixed_text[step]);
  byte_buffer_free(&tokenizer->token_bytes);
  free(tokenizer->path);
  free(tokenizer);
}
