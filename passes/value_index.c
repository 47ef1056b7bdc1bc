/* value_index.c — see value_index.h. */
#include "value_index.h"

#include "ir_builder.h"

#include <stdint.h>
#include <stdlib.h>

void value_index_init(ValueIndex *index, size_t max_values) {
  size_t capacity = 64;
  while (capacity < 2 * max_values) capacity *= 2; /* at most half full */
  *index = (ValueIndex){.keys = calloc(capacity, sizeof(void *)), .capacity = capacity, .max_values = max_values};
  IR_CHECK(index->keys != NULL, "out of memory");
}

size_t value_index_slot(ValueIndex *index, MlirValue value) {
  size_t mask = index->capacity - 1;
  size_t i = (size_t)(((uintptr_t)value.ptr >> 4) * 0x9E3779B97F4A7C15ull) & mask;
  while (index->keys[i] && index->keys[i] != value.ptr) i = (i + 1) & mask;
  if (!index->keys[i]) {
    IR_CHECK(index->used < index->max_values, "value index full: more values than the pass sized it for");
    index->keys[i] = value.ptr;
    index->used++;
  }
  return i;
}

void value_index_free(ValueIndex *index) { free(index->keys); }
