/* unicode.c: character classes and NFC from the generated tables (see unicode.h).
 *
 * NFC, as UAX #15 defines it:
 *   "e\u0301"        -> "\u00E9"     decomposition, then composition
 *   "a\u0301\u0327"  -> "a\u0327\u0301" reordered by combining class (202 < 230), then composed
 *   "\u1100\u1161"   -> "\uAC00"     Hangul L + V -> LV (and LV + T -> LVT) by arithmetic
 */
#include "unicode.h"

#include <stdlib.h>

#include "utf8.h"

typedef struct {
  uint32_t first, last;
} UnicodeRange;
typedef struct {
  uint32_t first, last;
  uint8_t combining_class;
} UnicodeCombiningRange;
typedef struct {
  uint32_t code_point;
  uint16_t pool_offset; /* into unicode_decomposition_pool */
  uint8_t length;       /* 1..4 code points, fully decomposed */
} UnicodeDecomposition;
typedef struct {
  uint32_t first, second, composite;
} UnicodeComposition;

#include "unicode_tables.h"

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* Hangul syllables: S = 0xAC00 + (L * 21 + V) * 28 + T (Unicode chapter 3.12). */
enum {
  HANGUL_S_BASE = 0xAC00,
  HANGUL_L_BASE = 0x1100,
  HANGUL_V_BASE = 0x1161,
  HANGUL_T_BASE = 0x11A7,
  HANGUL_L_COUNT = 19,
  HANGUL_V_COUNT = 21,
  HANGUL_T_COUNT = 28,
  HANGUL_N_COUNT = HANGUL_V_COUNT * HANGUL_T_COUNT,
  HANGUL_S_COUNT = HANGUL_L_COUNT * HANGUL_N_COUNT
};

static int in_ranges(const UnicodeRange *ranges, size_t count, uint32_t code_point) {
  size_t low = 0, high = count;
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    if (code_point < ranges[middle].first) high = middle;
    else if (code_point > ranges[middle].last) low = middle + 1;
    else return 1;
  }
  return 0;
}

int unicode_is_letter(uint32_t code_point) {
  if (code_point < 0x80)
    return (code_point | 0x20) >= 'a' && (code_point | 0x20) <= 'z';
  return in_ranges(unicode_letter_ranges, COUNT_OF(unicode_letter_ranges), code_point);
}

int unicode_is_number(uint32_t code_point) {
  if (code_point < 0x80) return code_point >= '0' && code_point <= '9';
  return in_ranges(unicode_number_ranges, COUNT_OF(unicode_number_ranges), code_point);
}

int unicode_is_white_space(uint32_t code_point) {
  return in_ranges(unicode_white_space_ranges, COUNT_OF(unicode_white_space_ranges), code_point);
}

const char *unicode_tables_version(void) { return UNICODE_TABLES_VERSION; }

static int combining_class(uint32_t code_point) {
  if (code_point < 0x300) return 0;
  size_t low = 0, high = COUNT_OF(unicode_combining_ranges);
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    const UnicodeCombiningRange *range = &unicode_combining_ranges[middle];
    if (code_point < range->first) high = middle;
    else if (code_point > range->last) low = middle + 1;
    else return range->combining_class;
  }
  return 0;
}

static const UnicodeDecomposition *find_decomposition(uint32_t code_point) {
  size_t low = 0, high = COUNT_OF(unicode_decompositions);
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    uint32_t found = unicode_decompositions[middle].code_point;
    if (code_point < found) high = middle;
    else if (code_point > found) low = middle + 1;
    else return &unicode_decompositions[middle];
  }
  return NULL;
}

/* The primary composite of (first, second), or 0 when they do not compose. */
static uint32_t compose_pair(uint32_t first, uint32_t second) {
  if (first >= HANGUL_L_BASE && first < HANGUL_L_BASE + HANGUL_L_COUNT &&
      second >= HANGUL_V_BASE && second < HANGUL_V_BASE + HANGUL_V_COUNT)
    return HANGUL_S_BASE +
           ((first - HANGUL_L_BASE) * HANGUL_V_COUNT + (second - HANGUL_V_BASE)) * HANGUL_T_COUNT;
  if (first >= HANGUL_S_BASE && first < HANGUL_S_BASE + HANGUL_S_COUNT &&
      (first - HANGUL_S_BASE) % HANGUL_T_COUNT == 0 && second > HANGUL_T_BASE &&
      second < HANGUL_T_BASE + HANGUL_T_COUNT)
    return first + (second - HANGUL_T_BASE);
  size_t low = 0, high = COUNT_OF(unicode_compositions);
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    const UnicodeComposition *entry = &unicode_compositions[middle];
    if (first < entry->first || (first == entry->first && second < entry->second)) high = middle;
    else if (first > entry->first || second > entry->second) low = middle + 1;
    else return entry->composite;
  }
  return 0;
}

int unicode_is_nfc_stable(const unsigned char *text, size_t length) {
  size_t position = 0;
  while (position < length) {
    if (text[position] < 0x80) {
      position++;
      continue;
    }
    uint32_t code_point;
    if (!utf8_decode(text, length, &position, &code_point)) return 0;
    if (code_point >= 0x300 &&
        in_ranges(unicode_nfc_unstable_ranges, COUNT_OF(unicode_nfc_unstable_ranges), code_point))
      return 0;
  }
  return 1;
}

/* A code point and its combining class, during normalization. */
typedef struct {
  uint32_t code_point;
  int combining_class;
} NormalizingCharacter;

static void push_character(NormalizingCharacter **characters, size_t *count, size_t *capacity,
                           uint32_t code_point) {
  if (*count == *capacity) {
    *capacity = *capacity ? *capacity * 2 : 64;
    *characters = DATA_REALLOCATE(*characters, *capacity, NormalizingCharacter);
  }
  (*characters)[*count].code_point = code_point;
  (*characters)[*count].combining_class = combining_class(code_point);
  (*count)++;
}

/* Full canonical decomposition of text into *characters. */
static void decompose(const unsigned char *text, size_t length, NormalizingCharacter **characters,
                      size_t *count, size_t *capacity) {
  size_t position = 0;
  uint32_t code_point;
  while (position < length && utf8_decode(text, length, &position, &code_point)) {
    const UnicodeDecomposition *decomposition;
    if (code_point >= HANGUL_S_BASE && code_point < HANGUL_S_BASE + HANGUL_S_COUNT) {
      uint32_t index = code_point - HANGUL_S_BASE;
      push_character(characters, count, capacity, HANGUL_L_BASE + index / HANGUL_N_COUNT);
      push_character(characters, count, capacity,
                     HANGUL_V_BASE + (index % HANGUL_N_COUNT) / HANGUL_T_COUNT);
      if (index % HANGUL_T_COUNT)
        push_character(characters, count, capacity, HANGUL_T_BASE + index % HANGUL_T_COUNT);
    } else if ((decomposition = find_decomposition(code_point)) != NULL) {
      for (int part = 0; part < decomposition->length; part++)
        push_character(characters, count, capacity,
                       unicode_decomposition_pool[decomposition->pool_offset + part]);
    } else {
      push_character(characters, count, capacity, code_point);
    }
  }
}

/* Canonical ordering: a stable sort by combining class of every run of nonzero classes. */
static void reorder(NormalizingCharacter *characters, size_t count) {
  for (size_t index = 1; index < count; index++) {
    NormalizingCharacter moving = characters[index];
    if (moving.combining_class == 0) continue;
    size_t place = index;
    while (place > 0 && characters[place - 1].combining_class > moving.combining_class) {
      characters[place] = characters[place - 1];
      place--;
    }
    characters[place] = moving;
  }
}

/* Canonical composition in place (UAX #15's algorithm): each character joins the last starter
 * when the pair composes and nothing between them blocks it. Returns the new count. */
static size_t compose(NormalizingCharacter *characters, size_t count) {
  if (count == 0) return 0;
  size_t starter = 0, written = 1;
  int last_class = characters[0].combining_class ? 256 : 0;
  for (size_t index = 1; index < count; index++) {
    NormalizingCharacter current = characters[index];
    uint32_t composite = compose_pair(characters[starter].code_point, current.code_point);
    if (composite && (last_class < current.combining_class || last_class == 0)) {
      characters[starter].code_point = composite;
      characters[starter].combining_class = 0;
      continue;
    }
    if (current.combining_class == 0) starter = written;
    last_class = current.combining_class;
    characters[written++] = current;
  }
  return written;
}

void unicode_append_nfc(ByteBuffer *out, const unsigned char *text, size_t length) {
  if (unicode_is_nfc_stable(text, length)) {
    byte_buffer_append(out, text, length);
    return;
  }
  NormalizingCharacter *characters = NULL;
  size_t count = 0, capacity = 0;
  decompose(text, length, &characters, &count, &capacity);
  reorder(characters, count);
  count = compose(characters, count);
  for (size_t index = 0; index < count; index++) utf8_append(out, characters[index].code_point);
  free(characters);
}
