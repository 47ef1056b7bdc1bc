/* gpt2_split.h: the GPT-2 pre-tokenizer regex, written out by hand.
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * The alternatives are tried in order at each position (a backtracking engine, Oniguruma in the
 * tokenizers library), and every character matches one of them, so the matches cover the text:
 *   "Hello world's  3x\n" -> "Hello" " world" "'s" " " " 3" "x" "\n"
 * \s is White_Space, \p{L} and \p{N} the general categories (unicode.h).
 */
#ifndef PERFT_DATA_GPT2_SPLIT_H
#define PERFT_DATA_GPT2_SPLIT_H

#include <stddef.h>

/* The regex's exact source text, as tokenizer.json spells it in a Split pre-tokenizer. */
extern const char gpt2_split_pattern[];

/* The end of the match that starts at text[start] (start < length, text valid UTF-8). */
size_t gpt2_split_next(const unsigned char *text, size_t length, size_t start);

#endif
