/* added_tokens.h: finding a tokenizer's added tokens ("added_tokens") in text, before anything
 * else sees it, as the tokenizers library's AddedVocabulary does.
 *
 * Matches are leftmost-longest (the library uses Aho-Corasick in that mode): scanning from the
 * left, the first position where some token starts wins, and there the longest token; the scan
 * goes on after it. Between matches lie pieces of text:
 *   "a<|endoftext|>b"  -> text "a", token <|endoftext|>, text "b"
 * lstrip takes the white space before a match into it, rstrip the white space after it:
 *   "a  <mask>  b" with lstrip and rstrip -> text "a", token "  <mask>  ", text "b"
 */
#ifndef PERFT_DATA_ADDED_TOKENS_H
#define PERFT_DATA_ADDED_TOKENS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *content;          /* as the file writes it (UTF-8) */
  size_t content_length;
  char *pattern;          /* what is matched: content, or its normalized form for a token with
                             normalized = true */
  size_t pattern_length;
  int32_t id;
  int special, lstrip, rstrip, normalized;
} AddedToken;

typedef struct {
  int32_t first_child, next_sibling; /* node indices, -1 for none */
  int32_t token;                     /* index of the token that ends here, -1 for none */
  unsigned char byte;
} AddedTokenTrieNode;

/* A byte trie of the patterns of one set of tokens (the library keeps two: tokens matched in
 * the raw text, and tokens matched in the normalized text). */
typedef struct {
  int32_t root_children[256];        /* -1 for none; valid once added_token_matcher_init ran */
  AddedTokenTrieNode *nodes;
  size_t node_count, node_capacity;
  size_t token_count;
} AddedTokenMatcher;

typedef struct {
  size_t begin, end;  /* bytes of the text */
  int32_t token;      /* index into the tokens, or -1 for a piece of plain text */
} TextPiece;

typedef struct {
  TextPiece *pieces;
  size_t count, capacity;
} TextPieces;

void added_token_matcher_init(AddedTokenMatcher *matcher);
/* Adds tokens[token_index]'s pattern (non-empty); when an earlier token has the same pattern,
 * the earlier one keeps it. */
void added_token_matcher_add(AddedTokenMatcher *matcher, const AddedToken *tokens, int32_t token_index);
void added_token_matcher_free(AddedTokenMatcher *matcher);

/* Replaces pieces' contents with text cut at the matches of matcher's tokens. Plain-text pieces
 * are never empty; an empty text gives no piece at all. */
void added_tokens_split(const AddedTokenMatcher *matcher, const AddedToken *tokens,
                        const unsigned char *text, size_t length, TextPieces *pieces);
void text_pieces_free(TextPieces *pieces);

#endif
