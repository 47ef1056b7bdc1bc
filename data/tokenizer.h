/* tokenizer.h: a byte-level BPE tokenizer read from a Hugging Face tokenizer.json, giving the
 * same ids as the tokenizers library's Tokenizer.encode(text).ids (checked by
 * tests/data/check_tokenizer.py), and the text back from ids.
 *
 * Encoding, stage by stage (each stage in its own file):
 *   text --added tokens, raw (added_tokens.c)--> pieces --normalizer: NFC or none (unicode.c)-->
 *   --added tokens, normalized--> pieces --pre-tokenizer: prefix space, GPT-2 split
 *   (gpt2_split.c)--> words --BPE (bpe.c)--> ids --post-processor: template--> ids
 * Decoding: ids -> token texts -> ByteLevel decoder (byte_level.c) -> UTF-8, invalid bytes
 * replaced by U+FFFD.
 *
 * What tokenizer.json may hold is listed in data/README.md; tokenizer_load refuses the rest,
 * naming the file, line and column of what it does not implement.
 */
#ifndef PERFT_DATA_TOKENIZER_H
#define PERFT_DATA_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "added_tokens.h"
#include "bpe.h"
#include "memory.h"

typedef enum { NORMALIZER_NONE, NORMALIZER_NFC } NormalizerKind;

/* The pre-tokenizer as a list of steps applied in turn to every piece. */
typedef enum {
  PRE_TOKENIZE_PREFIX_SPACE, /* ByteLevel add_prefix_space: " " before a piece without one */
  PRE_TOKENIZE_GPT2_SPLIT    /* ByteLevel use_regex, or Split with the GPT-2 pattern */
} PreTokenizeStep;

enum { TOKENIZER_MAX_PRE_TOKENIZE_STEPS = 4, TOKENIZER_MAX_ID = (1 << 22) - 1 };

/* One element of a post-processor template: the encoded text, or fixed special ids. */
typedef struct {
  int is_sequence;
  int32_t *ids; /* (id_count) when !is_sequence */
  size_t id_count;
} TemplatePiece;

typedef struct {
  TemplatePiece *pieces;
  size_t count;
} PostTemplate;

typedef struct {
  char *path;                      /* the tokenizer.json, for messages */
  NormalizerKind normalizer;
  PreTokenizeStep pre_tokenize_steps[TOKENIZER_MAX_PRE_TOKENIZE_STEPS];
  int pre_tokenize_step_count;
  BpeModel model;
  AddedToken *added_tokens;        /* (added_token_count) in file order */
  size_t added_token_count;
  AddedTokenMatcher raw_matcher;        /* tokens with normalized = false */
  AddedTokenMatcher normalized_matcher; /* tokens with normalized = true */
  PostTemplate *templates;         /* (template_count) the post-processor, applied in order */
  size_t template_count;
  int byte_level_decoder;          /* 0: no decoder, token texts are joined with " " */
  /* Every id: its text (the added token's content, else the vocabulary's) and whether it is a
   * special added token. A gap in the ids has NULL text. */
  char **id_texts;                 /* (id_count) */
  size_t *id_text_lengths;         /* (id_count) */
  unsigned char *id_is_special;    /* (id_count) */
  size_t id_count;
  /* Scratch for encoding, reused. */
  TextPieces raw_pieces, normalized_pieces;
  ByteBuffer normalized_text;
  ByteBuffer prefixed_text[TOKENIZER_MAX_PRE_TOKENIZE_STEPS];
  ByteBuffer token_bytes;
} Tokenizer;

/* Reads path. On failure returns 0 with one line in error:
 *   PATH:LINE:COLUMN: error: WHAT (and what is supported)
 * On success *tokenizer is for tokenizer_destroy. */
int tokenizer_load(const char *path, Tokenizer **tokenizer, char *error, size_t error_size);
void tokenizer_destroy(Tokenizer *tokenizer);

/* A Tokenizer keeps scratch buffers for encoding and decoding: use one per thread. */

/* Appends the ids of text (length bytes of UTF-8) to ids, with the post-processor's special
 * tokens when add_special_tokens (the library's default). Returns 0 when text is not valid
 * UTF-8, with "byte OFFSET (line L, column C): invalid UTF-8 byte 0xXX" in error. */
int tokenizer_encode(Tokenizer *tokenizer, const char *text, size_t length, int add_special_tokens,
                     TokenIds *ids, char *error, size_t error_size);

/* Appends the text of ids to text; special added tokens are left out when skip_special_tokens.
 * Returns 0 for an id that has no token, naming it in error. */
int tokenizer_decode(Tokenizer *tokenizer, const int32_t *ids, size_t count, int skip_special_tokens,
                     ByteBuffer *text, char *error, size_t error_size);

#endif
