/* name_table.h — a hash table from names to small integers (indices into a list), so that
 * looking a name up costs the same in a body of ten names and in one of a hundred thousand.
 *
 *   NameTable table = {0};
 *   name_table_put(&table, &arena, "w1", 0);
 *   name_table_find(&table, "w1")   ->  0
 *   name_table_find(&table, "w2")   -> -1
 *
 * The table keeps the name pointers, not copies: a name must live as long as the table. Its
 * memory comes from the arena given to name_table_put and is freed with it.
 */
#ifndef PERFT_DSL_NAME_TABLE_H
#define PERFT_DSL_NAME_TABLE_H

#include <stdint.h>

struct Arena; /* ast.h */

typedef struct {
  const char **names; /* NULL: an empty slot */
  int *values;
  int count, capacity; /* capacity: 0 or a power of two, at least twice count */
} NameTable;

/* The value stored under `name`, or -1. */
int name_table_find(const NameTable *table, const char *name);
/* Stores `value` (>= 0) under `name`, replacing the value stored before. */
void name_table_put(NameTable *table, struct Arena *arena, const char *name, int value);

#endif
