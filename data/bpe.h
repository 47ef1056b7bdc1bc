/* bpe.h: the byte-level BPE model: a vocabulary, merges by rank, and the merge loop.
 *
 * A word (one pre-token, as bytes) starts as one symbol per byte: the vocabulary id of the
 * byte's byte-level character (byte_level.h). Then, as in the tokenizers library (word.rs), the
 * adjacent pair with the lowest merge rank is merged, the leftmost among equals, until no pair
 * has a merge; a priority queue keyed by (rank, position) keeps this O(n log n) per word:
 *   "lower" = l o w e r --(w e: rank 3)--> l o we r --(l o: rank 5)--> lo we r --> ...
 */
#ifndef PERFT_DATA_BPE_H
#define PERFT_DATA_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "memory.h"
#include "string_map.h"

typedef struct {
  uint64_t pair;      /* left id << 32 | right id */
  uint32_t rank;      /* the merge's index in the file's "merges" */
  int32_t merged_id;  /* the id of left's text followed by right's */
  int used;
} BpeMergeSlot;

/* One symbol of the word being merged; removed symbols stay in place, unlinked. */
typedef struct {
  int32_t id;
  int32_t previous, next; /* positions, -1 at the ends */
  int removed;
} BpeSymbol;

typedef struct {
  uint32_t rank;
  uint32_t position;      /* of the pair's left symbol */
  int32_t merged_id;
} BpeMergeCandidate;

typedef struct {
  StringMap vocabulary;    /* token text (byte-level characters, UTF-8) -> id */
  BpeMergeSlot *merges;    /* (merge_capacity), a power of two, at most half full */
  size_t merge_capacity, merge_count;
  int32_t byte_ids[256];   /* the id of each byte's character; -1 when the vocabulary lacks it */
  int32_t unknown_id;      /* the id given to a byte whose character is not in the vocabulary;
                              -1: such bytes are dropped, as the library does without unk_token */
  int fuse_unknown;        /* consecutive unknown bytes give one unknown id */
  int ignore_merges;       /* a word that is in the vocabulary as a whole is taken as it is */
  /* Scratch for one word, reused. */
  BpeSymbol *symbols;
  size_t symbol_capacity;
  BpeMergeCandidate *queue;
  size_t queue_count, queue_capacity;
  ByteBuffer word_text;
} BpeModel;

/* Adds a vocabulary entry; returns 0, changing nothing, when text is already there. */
int bpe_add_token(BpeModel *model, const char *text, size_t length, int32_t id);
/* The id of text in the vocabulary, or -1. */
int32_t bpe_find_token(const BpeModel *model, const char *text, size_t length);
/* Records that (left, right) merges into merged with this rank; a later call for the same pair
 * replaces the earlier one, as the library's hash map does. */
void bpe_set_merge(BpeModel *model, int32_t left, int32_t right, uint32_t rank, int32_t merged);
/* Call once the vocabulary is complete: looks up the 256 byte characters. */
void bpe_prepare(BpeModel *model);
/* Appends the ids of one word (its raw bytes, length > 0). */
void bpe_encode_word(BpeModel *model, const unsigned char *bytes, size_t length, TokenIds *out);
void bpe_free(BpeModel *model);

#endif
