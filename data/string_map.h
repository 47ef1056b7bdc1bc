/* string_map.h: a hash map from byte strings to int32 values (open addressing, FNV-1a).
 * The map copies each key; keys may hold any byte, NUL included. */
#ifndef PERFT_DATA_STRING_MAP_H
#define PERFT_DATA_STRING_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  char *key; /* NULL: an empty slot */
  size_t length;
  int32_t value;
} StringMapSlot;

typedef struct {
  StringMapSlot *slots; /* (capacity), a power of two, at most half full */
  size_t capacity;
  size_t count;
} StringMap;

/* Inserts key -> value. Returns 0, and changes nothing, when key is already there. */
int string_map_insert(StringMap *map, const char *key, size_t length, int32_t value);
/* The value of key, or -1 when it is not there (values are ids, never negative). */
int32_t string_map_find(const StringMap *map, const char *key, size_t length);
void string_map_free(StringMap *map);

#endif
