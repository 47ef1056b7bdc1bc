/* value_index.h — where an MLIR value's entry sits in arrays kept beside the index.
 *
 * Open addressing over value pointers: value_index_slot returns the same slot for the
 * same value every time (inserting it the first time); a pass keeps its per-value data
 * (adjoints, buffers, liveness) in plain arrays of `capacity` entries indexed by it.
 * The capacity is fixed at creation for at most `max_values` values; going past that is
 * an internal error, never a silent overwrite or an endless probe.
 */
#ifndef PERFT_VALUE_INDEX_H
#define PERFT_VALUE_INDEX_H

#include <mlir-c/IR.h>
#include <stddef.h>

typedef struct {
  const void **keys;
  size_t capacity, used, max_values;
} ValueIndex;

void value_index_init(ValueIndex *index, size_t max_values);
size_t value_index_slot(ValueIndex *index, MlirValue value);
void value_index_free(ValueIndex *index);

#endif
