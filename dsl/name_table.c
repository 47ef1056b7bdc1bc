/* name_table.c — open addressing with linear probing, FNV-1a hashes; see name_table.h. */
#include "name_table.h"

#include "ast.h"

#include <string.h>

static uint64_t hash_name(const char *name) {
  uint64_t hash = 14695981039346656037ull;
  for (const unsigned char *c = (const unsigned char *)name; *c; c++) hash = (hash ^ *c) * 1099511628211ull;
  return hash;
}

/* The slot of `name`, or the empty slot where it would go. */
static int slot_of(const NameTable *table, const char *name) {
  int mask = table->capacity - 1;
  int slot = (int)(hash_name(name) & (uint64_t)mask);
  while (table->names[slot] && strcmp(table->names[slot], name) != 0) slot = (slot + 1) & mask;
  return slot;
}

int name_table_find(const NameTable *table, const char *name) {
  if (table->count == 0) return -1;
  int slot = slot_of(table, name);
  return table->names[slot] ? table->values[slot] : -1;
}

static void grow(NameTable *table, Arena *arena) {
  NameTable bigger = {0};
  bigger.capacity = table->capacity ? table->capacity * 2 : 16;
  bigger.names = arena_alloc(arena, sizeof(const char *) * (size_t)bigger.capacity);
  bigger.values = arena_alloc(arena, sizeof(int) * (size_t)bigger.capacity);
  for (int i = 0; i < table->capacity; i++) {
    if (!table->names[i]) continue;
    int slot = slot_of(&bigger, table->names[i]);
    bigger.names[slot] = table->names[i];
    bigger.values[slot] = table->values[i];
  }
  bigger.count = table->count;
  *table = bigger;
}

void name_table_put(NameTable *table, Arena *arena, const char *name, int value) {
  if (2 * (table->count + 1) > table->capacity) grow(table, arena);
  int slot = slot_of(table, name);
  if (!table->names[slot]) {
    table->names[slot] = name;
    table->count++;
  }
  table->values[slot] = value;
}
