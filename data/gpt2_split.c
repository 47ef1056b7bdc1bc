/* gpt2_split.c: the GPT-2 pre-tokenizer regex as a scanner (see gpt2_split.h). */
#include "gpt2_split.h"

#include <stdint.h>

#include "unicode.h"
#include "utf8.h"

const char gpt2_split_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

typedef enum { CLASS_LETTER, CLASS_NUMBER, CLASS_SPACE, CLASS_OTHER } CharacterClass;

static CharacterClass class_of(uint32_t code_point) {
  if (unicode_is_letter(code_point)) return CLASS_LETTER;
  if (unicode_is_number(code_point)) return CLASS_NUMBER;
  if (unicode_is_white_space(code_point)) return CLASS_SPACE;
  return CLASS_OTHER;
}

/* The class of the character at text[position]; *next is set past it. */
static CharacterClass class_at(const unsigned char *text, size_t length, size_t position,
                               size_t *next) {
  uint32_t code_point = 0;
  *next = position;
  if (!utf8_decode(text, length, next, &code_point)) *next = position + 1;
  return class_of(code_point);
}

/* The end of the run of characters of class `wanted` that starts at position. */
static size_t run_end(const unsigned char *text, size_t length, size_t position,
                      CharacterClass wanted) {
  while (position < length) {
    size_t next;
    if (class_at(text, length, position, &next) != wanted) break;
    position = next;
  }
  return position;
}

/* 's|'t|'re|'ve|'m|'ll|'d : the contraction's length at text[start], or 0. */
static size_t contraction_length(const unsigned char *text, size_t length, size_t start) {
  if (text[start] != '\'' || start + 1 >= length) return 0;
  unsigned char first = text[start + 1];
  if (first == 's' || first == 't' || first == 'm' || first == 'd') return 2;
  if (start + 2 >= length) return 0;
  unsigned char second = text[start + 2];
  if ((first == 'r' && second == 'e') || (first == 'v' && second == 'e') ||
      (first == 'l' && second == 'l'))
    return 3;
  return 0;
}

/* \s+(?!\S)|\s+ at a white-space character: the whole run when it ends the text; otherwise the
 * run less its last character (which then starts the next match, e.g. " word"), unless that
 * would leave nothing. */
static size_t white_space_match_end(const unsigned char *text, size_t length, size_t start) {
  size_t last_start = start, position = start;
  while (position < length) {
    size_t next;
    if (class_at(text, length, position, &next) != CLASS_SPACE) break;
    last_start = position;
    position = next;
  }
  if (position == length || last_start == start) return position;
  return last_start;
}

size_t gpt2_split_next(const unsigned char *text, size_t length, size_t start) {
  size_t contraction = contraction_length(text, length, start);
  if (contraction) return start + contraction;
  size_t after_first;
  CharacterClass first = class_at(text, length, start, &after_first);
  /* " ?X+": an optional leading space (U+0020 only) before a run of letters, numbers or others. */
  if (text[start] == ' ' && after_first < length) {
    size_t after_second;
    CharacterClass second = class_at(text, length, after_first, &after_second);
    if (second != CLASS_SPACE) return run_end(text, length, after_first, second);
  }
  if (first != CLASS_SPACE) return run_end(text, length, start, first);
  return white_space_match_end(text, length, start);
}
