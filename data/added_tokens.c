/* added_tokens.c: leftmost-longest matching of added tokens with lstrip/rstrip (see
 * added_tokens.h); find_matches in the library's added_vocabulary.rs, step for step. */
#include "added_tokens.h"

#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "unicode.h"
#include "utf8.h"

void added_token_matcher_init(AddedTokenMatcher *matcher) {
  memset(matcher, 0, sizeof *matcher);
  for (int byte = 0; byte < 256; byte++) matcher->root_children[byte] = -1;
}

static int32_t new_node(AddedTokenMatcher *matcher, unsigned char byte) {
  if (matcher->node_count == matcher->node_capacity) {
    matcher->node_capacity = matcher->node_capacity ? matcher->node_capacity * 2 : 64;
    matcher->nodes = DATA_REALLOCATE(matcher->nodes, matcher->node_capacity, AddedTokenTrieNode);
  }
  matcher->nodes[matcher->node_count] = (AddedTokenTrieNode){-1, -1, -1, byte};
  return (int32_t)matcher->node_count++;
}

static int32_t find_child(const AddedTokenMatcher *matcher, int32_t node, unsigned char byte) {
  int32_t child = matcher->nodes[node].first_child;
  while (child >= 0 && matcher->nodes[child].byte != byte) child = matcher->nodes[child].next_sibling;
  return child;
}

void added_token_matcher_add(AddedTokenMatcher *matcher, const AddedToken *tokens, int32_t token_index) {
  const unsigned char *pattern = (const unsigned char *)tokens[token_index].pattern;
  size_t length = tokens[token_index].pattern_length;
  int32_t node = matcher->root_children[pattern[0]];
  if (node < 0) node = matcher->root_children[pattern[0]] = new_node(matcher, pattern[0]);
  for (size_t index = 1; index < length; index++) {
    int32_t child = find_child(matcher, node, pattern[index]);
    if (child < 0) {
      child = new_node(matcher, pattern[index]);
      matcher->nodes[child].next_sibling = matcher->nodes[node].first_child;
      matcher->nodes[node].first_child = child;
    }
    node = child;
  }
  if (matcher->nodes[node].token < 0) matcher->nodes[node].token = token_index;
  matcher->token_count++;
}

void added_token_matcher_free(AddedTokenMatcher *matcher) {
  free(matcher->nodes);
  added_token_matcher_init(matcher);
}

/* The longest pattern that starts at text[start]: its token index (or -1) and *end. */
static int32_t longest_match_at(const AddedTokenMatcher *matcher, const unsigned char *text,
                                size_t length, size_t start, size_t *end) {
  int32_t token = -1;
  int32_t node = matcher->root_children[text[start]];
  size_t position = start + 1;
  while (node >= 0) {
    if (matcher->nodes[node].token >= 0) {
      token = matcher->nodes[node].token;
      *end = position;
    }
    if (position >= length) break;
    node = find_child(matcher, node, text[position++]);
  }
  return token;
}

/* The start of the white space that ends text[0, end): Rust's regex \s*$. */
static size_t white_space_start_before(const unsigned char *text, size_t end) {
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (text[start] & 0xC0) == 0x80) start--;
    size_t position = start;
    uint32_t code_point;
    if (!utf8_decode(text, end, &position, &code_point) || !unicode_is_white_space(code_point)) break;
    end = start;
  }
  return end;
}

/* The end of the white space that starts at text[start]: Rust's regex ^\s*. */
static size_t white_space_end_after(const unsigned char *text, size_t length, size_t start) {
  while (start < length) {
    size_t position = start;
    uint32_t code_point;
    if (!utf8_decode(text, length, &position, &code_point) || !unicode_is_white_space(code_point)) break;
    start = position;
  }
  return start;
}

static void push_piece(TextPieces *pieces, size_t begin, size_t end, int32_t token) {
  if (pieces->count == pieces->capacity) {
    pieces->capacity = pieces->capacity ? pieces->capacity * 2 : 64;
    pieces->pieces = DATA_REALLOCATE(pieces->pieces, pieces->capacity, TextPiece);
  }
  pieces->pieces[pieces->count++] = (TextPiece){begin, end, token};
}

void added_tokens_split(const AddedTokenMatcher *matcher, const AddedToken *tokens,
                        const unsigned char *text, size_t length, TextPieces *pieces) {
  pieces->count = 0;
  size_t piece_start = 0, scan = 0;
  while (matcher->token_count && scan < length) {
    size_t stop = 0;
    int32_t token = longest_match_at(matcher, text, length, scan, &stop);
    if (token < 0) {
      scan++;
      continue;
    }
    size_t start = scan;
    scan = stop; /* the next match is searched after this one's own end, before any rstrip */
    if (tokens[token].lstrip) {
      size_t stripped = white_space_start_before(text, start);
      start = stripped > piece_start ? stripped : piece_start;
    }
    if (tokens[token].rstrip) stop = white_space_end_after(text, length, stop);
    if (piece_start < start) push_piece(pieces, piece_start, start, -1);
    push_piece(pieces, start, stop, token);
    piece_start = stop;
  }
  if (piece_start < length) push_piece(pieces, piece_start, length, -1);
}

void text_pieces_free(TextPieces *pieces) {
  free(pieces->pieces);
  memset(pieces, 0, sizeof *pieces);
}
