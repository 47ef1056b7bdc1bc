/* string_map.c: open addressing with linear probing (see string_map.h). */
#include "string_map.h"

#include <stdlib.h>
#include <string.h>

#include "memory.h"

static uint64_t hash_bytes(const char *key, size_t length) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t index = 0; index < length; index++) {
    hash ^= (unsigned char)key[index];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

/* The slot that holds key, or the empty slot where it would go. */
static StringMapSlot *find_slot(StringMapSlot *slots, size_t capacity, const char *key, size_t length) {
  size_t index = (size_t)hash_bytes(key, length) & (capacity - 1);
  while (slots[index].key &&
         (slots[index].length != length || memcmp(slots[index].key, key, length) != 0))
    index = (index + 1) & (capacity - 1);
  return &slots[index];
}

static void grow(StringMap *map) {
  size_t capacity = map->capacity ? map->capacity * 2 : 64;
  StringMapSlot *slots = DATA_ALLOCATE(capacity, StringMapSlot);
  for (size_t index = 0; index < map->capacity; index++) {
    StringMapSlot *old = &map->slots[index];
    if (old->key) *find_slot(slots, capacity, old->key, old->length) = *old;
  }
  free(map->slots);
  map->slots = slots;
  map->capacity = capacity;
}

int string_map_insert(StringMap *map, const char *key, size_t length, int32_t value) {
  if ((map->count + 1) * 2 > map->capacity) grow(map);
  StringMapSlot *slot = find_slot(map->slots, map->capacity, key, length);
  if (slot->key) return 0;
  slot->key = DATA_ALLOCATE(length + 1, char);
  if (length) memcpy(slot->key, key, length);
  slot->length = length;
  slot->value = value;
  map->count++;
  return 1;
}

int32_t string_map_find(const StringMap *map, const char *key, size_t length) {
  if (map->capacity == 0) return -1;
  const StringMapSlot *slot = find_slot(map->slots, map->capacity, key, length);
  return slot->key ? slot->value : -1;
}

void string_map_free(StringMap *map) {
  for (size_t index = 0; index < map->capacity; index++) free(map->slots[index].key);
  free(map->slots);
  memset(map, 0, sizeof *map);
}
