/* bpe.c: the BPE merge loop with a priority queue (see bpe.h). */
#include "bpe.h"

#include <stdlib.h>
#include <string.h>

#include "byte_level.h"

static uint64_t pair_key(int32_t left, int32_t right) {
  return ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
}

static size_t pair_hash(uint64_t key) { /* splitmix64's finalizer */
  key ^= key >> 30;
  key *= 0xbf58476d1ce4e5b9ull;
  key ^= key >> 27;
  key *= 0x94d049bb133111ebull;
  key ^= key >> 31;
  return (size_t)key;
}

static BpeMergeSlot *merge_slot(BpeMergeSlot *slots, size_t capacity, uint64_t key) {
  size_t index = pair_hash(key) & (capacity - 1);
  while (slots[index].used && slots[index].pair != key) index = (index + 1) & (capacity - 1);
  return &slots[index];
}

static const BpeMergeSlot *find_merge(const BpeModel *model, int32_t left, int32_t right) {
  if (model->merge_capacity == 0) return NULL;
  const BpeMergeSlot *slot = merge_slot(model->merges, model->merge_capacity, pair_key(left, right));
  return slot->used ? slot : NULL;
}

int bpe_add_token(BpeModel *model, const char *text, size_t length, int32_t id) {
  return string_map_insert(&model->vocabulary, text, length, id);
}

int32_t bpe_find_token(const BpeModel *model, const char *text, size_t length) {
  return string_map_find(&model->vocabulary, text, length);
}

void bpe_set_merge(BpeModel *model, int32_t left, int32_t right, uint32_t rank, int32_t merged) {
  if ((model->merge_count + 1) * 2 > model->merge_capacity) {
    size_t capacity = model->merge_capacity ? model->merge_capacity * 2 : 1024;
    BpeMergeSlot *slots = DATA_ALLOCATE(capacity, BpeMergeSlot);
    for (size_t index = 0; index < model->merge_capacity; index++)
      if (model->merges[index].used)
        *merge_slot(slots, capacity, model->merges[index].pair) = model->merges[index];
    free(model->merges);
    model->merges = slots;
    model->merge_capacity = capacity;
  }
  BpeMergeSlot *slot = merge_slot(model->merges, model->merge_capacity, pair_key(left, right));
  if (!slot->used) model->merge_count++;
  *slot = (BpeMergeSlot){.pair = pair_key(left, right), .rank = rank, .merged_id = merged, .used = 1};
}

void bpe_prepare(BpeModel *model) {
  ByteBuffer character = {0};
  for (unsigned value = 0; value < 256; value++) {
    character.length = 0;
    unsigned char byte = (unsigned char)value;
    byte_level_append_chars(&character, &byte, 1);
    model->byte_ids[value] = bpe_find_token(model, character.bytes, character.length);
  }
  byte_buffer_free(&character);
}

/* The queue is a binary min-heap on (rank, position). */
static int candidate_before(const BpeMergeCandidate *left, const BpeMergeCandidate *right) {
  return left->rank != right->rank ? left->rank < right->rank : left->position < right->position;
}

static void queue_push(BpeModel *model, BpeMergeCandidate candidate) {
  if (model->queue_count == model->queue_capacity) {
    model->queue_capacity = model->queue_capacity ? model->queue_capacity * 2 : 64;
    model->queue = DATA_REALLOCATE(model->queue, model->queue_capacity, BpeMergeCandidate);
  }
  size_t index = model->queue_count++;
  while (index > 0) {
    size_t parent = (index - 1) / 2;
    if (!candidate_before(&candidate, &model->queue[parent])) break;
    model->queue[index] = model->queue[parent];
    index = parent;
  }
  model->queue[index] = candidate;
}

static BpeMergeCandidate queue_pop(BpeModel *model) {
  BpeMergeCandidate top = model->queue[0], last = model->queue[--model->queue_count];
  size_t index = 0, count = model->queue_count;
  for (;;) {
    size_t child = 2 * index + 1;
    if (child >= count) break;
    if (child + 1 < count && candidate_before(&model->queue[child + 1], &model->queue[child])) child++;
    if (!candidate_before(&model->queue[child], &last)) break;
    model->queue[index] = model->queue[child];
    index = child;
  }
  if (count) model->queue[index] = last;
  return top;
}

/* Queues the merge of the pair that starts at position, if there is one. */
static void queue_pair(BpeModel *model, int32_t position) {
  if (position < 0) return;
  int32_t next = model->symbols[position].next;
  if (next < 0) return;
  const BpeMergeSlot *merge = find_merge(model, model->symbols[position].id, model->symbols[next].id);
  if (merge)
    queue_push(model, (BpeMergeCandidate){merge->rank, (uint32_t)position, merge->merged_id});
}

static void append_symbol(BpeModel *model, size_t *count, int32_t id) {
  if (*count == model->symbol_capacity) {
    model->symbol_capacity = model->symbol_capacity ? model->symbol_capacity * 2 : 64;
    model->symbols = DATA_REALLOCATE(model->symbols, model->symbol_capacity, BpeSymbol);
  }
  int32_t position = (int32_t)*count;
  model->symbols[position] = (BpeSymbol){id, position - 1, -1, 0};
  if (position > 0) model->symbols[position - 1].next = position;
  (*count)++;
}

/* One symbol per byte; bytes without a vocabulary entry become the unknown id (or vanish). */
static size_t initial_symbols(BpeModel *model, const unsigned char *bytes, size_t length) {
  size_t count = 0;
  int pending_unknown = 0;
  for (size_t index = 0; index < length; index++) {
    int32_t id = model->byte_ids[bytes[index]];
    if (id >= 0) {
      if (pending_unknown) append_symbol(model, &count, model->unknown_id);
      pending_unknown = 0;
      append_symbol(model, &count, id);
    } else if (model->unknown_id >= 0) {
      if (pending_unknown && !model->fuse_unknown) append_symbol(model, &count, model->unknown_id);
      pending_unknown = 1;
    }
  }
  if (pending_unknown) append_symbol(model, &count, model->unknown_id);
  return count;
}

void bpe_encode_word(BpeModel *model, const unsigned char *bytes, size_t length, TokenIds *out) {
  if (model->ignore_merges) {
    model->word_text.length = 0;
    byte_level_append_chars(&model->word_text, bytes, length);
    int32_t whole = bpe_find_token(model, model->word_text.bytes, model->word_text.length);
    if (whole >= 0) {
      token_ids_append(out, whole);
      return;
    }
  }
  size_t count = initial_symbols(model, bytes, length);
  if (count == 0) return;
  model->queue_count = 0;
  for (size_t position = 0; position + 1 < count; position++) queue_pair(model, (int32_t)position);
  while (model->queue_count) {
    BpeMergeCandidate top = queue_pop(model);
    BpeSymbol *left = &model->symbols[top.position];
    if (left->removed || left->next < 0) continue;
    BpeSymbol *right = &model->symbols[left->next];
    const BpeMergeSlot *merge = find_merge(model, left->id, right->id);
    if (!merge || merge->merged_id != top.merged_id) continue; /* a stale entry */
    left->id = top.merged_id;
    left->next = right->next;
    right->removed = 1;
    if (right->next >= 0) model->symbols[right->next].previous = (int32_t)top.position;
    queue_pair(model, left->previous);
    queue_pair(model, (int32_t)top.position);
  }
  for (int32_t position = 0; position >= 0; position = model->symbols[position].next)
    token_ids_append(out, model->symbols[position].id);
}

void bpe_free(BpeModel *model) {
  string_map_free(&model->vocabulary);
  free(model->merges);
  free(model->symbols);
  free(model->queue);
  byte_buffer_free(&model->word_text);
  memset(model, 0, sizeof *model);
}
