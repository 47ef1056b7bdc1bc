/* safetensors.c: strict safetensors reader (mmap + a JSON header parser) and atomic writer. */
#include "safetensors.h"
#include "bf16.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define MAX_HEADER_BYTES (100u * 1024u * 1024u)

/* ---------------------------------------------------------------------------------------------
 * Reading
 *
 * A strict reader. A file it accepts has
 *   - an 8-byte little-endian header length N, 8 + N <= the file size, N <= MAX_HEADER_BYTES;
 *   - N bytes of header: one JSON object, UTF-8 (no stray bytes, overlong forms, surrogates or
 *     \u0000 in any string), followed by nothing but JSON white space; its members are
 *       "NAME": {"dtype": "F32", "shape": [4, 3], "data_offsets": [BEGIN, END]}
 *     (those three fields, each once; integers without sign, fraction, exponent or leading zero)
 *     and at most one "__metadata__": {"KEY": "VALUE", ...} with string values only;
 *   - no tensor name or metadata key twice, at most MAX_TENSORS tensors and MAX_TENSORS metadata
 *     entries, at most PERFT_MAX_DIMS dims per shape, a dtype from DTYPES;
 *   - for every tensor: BEGIN <= END <= the data bytes, BEGIN a multiple of the element size,
 *     END - BEGIN = product(shape) x the element size (no overflow: the product stays below
 *     2^63);
 *   - tensors that, sorted by BEGIN, tile the data section: no overlap, no hole, no byte after
 *     the last one (what the format's reference implementation requires).
 * Every message is one line, "PATH: what" or "PATH: tensor 'NAME': what".
 *
 * Cost: O(N + T log T) time for T tensors; memory proportional to the header: one copy of its
 * decoded strings (never longer than the header itself) and at most 256 bytes per tensor (its
 * entry, grown by doubling, and two index pointers), whose entry takes at least 50 bytes of
 * header ("":{"dtype":"F4","shape":[],"data_offsets":[0,0]}).
 * The header length is checked before anything is allocated.
 */

#define MAX_TENSORS 1000000
/* Longest tensor name quoted in a message, in bytes. */
#define SHOWN_NAME_BYTES 160

static int fail(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *error, size_t error_size, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(error, error_size, format, args);
  va_end(args);
  return 0;
}

/* The format's dtypes and the size of one element in bits (F4 and F6 pack elements tightly). */
typedef struct {
  const char *name;
  int bits;
} Dtype;

static const Dtype DTYPES[] = {
    {"BOOL", 8},    {"U8", 8},      {"I8", 8},   {"F8_E5M2", 8}, {"F8_E4M3", 8},
    {"F8_E8M0", 8}, {"U16", 16},    {"I16", 16}, {"F16", 16},    {"BF16", 16},
    {"U32", 32},    {"I32", 32},    {"F32", 32}, {"U64", 64},    {"I64", 64},
    {"F64", 64},    {"C64", 64},    {"F4", 4},   {"F6_E2M3", 6}, {"F6_E3M2", 6},
};
#define NUM_DTYPES ((int)(sizeof DTYPES / sizeof *DTYPES))

static const Dtype *dtype_find(const char *name) {
  for (int i = 0; i < NUM_DTYPES; i++)
    if (strcmp(DTYPES[i].name, name) == 0) return &DTYPES[i];
  return NULL;
}

/* `text` made fit for a one-line message: control bytes as \xNN, cut (at a character boundary)
 * with "..." when longer than out_size allows. */
static const char *printable(const char *text, char *out, size_t out_size) {
  size_t used = 0;
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    int starts_character = (*c & 0xC0) != 0x80;
    if (starts_character && used + 12 > out_size) {
      memcpy(out + used, "...", 4);
      return out;
    }
    if (*c < 0x20 || *c == 0x7F) used += (size_t)snprintf(out + used, out_size - used, "\\x%02x", *c);
    else out[used++] = (char)*c;
  }
  out[used] = '\0';
  return out;
}

/* The parser's state over the header's JSON text. */
typedef struct {
  const char *path;                 /* for messages */
  const char *start, *cursor, *end; /* the header */
  char *strings;                    /* decoded strings, one after another, NUL-terminated */
  size_t strings_used;
  const char *tensor;               /* the tensor a message is about, or NULL */
  char *error;
  size_t error_size;
  int failed;                       /* the first message wins */
} HeaderParser;

static int header_fail(HeaderParser *parser, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static int header_fail(HeaderParser *parser, const char *format, ...) {
  if (parser->failed) return 0;
  parser->failed = 1;
  char shown[SHOWN_NAME_BYTES];
  int used = parser->tensor ? snprintf(parser->error, parser->error_size, "%s: tensor '%s': ",
                                       parser->path, printable(parser->tensor, shown, sizeof shown))
                            : snprintf(parser->error, parser->error_size, "%s: ", parser->path);
  if (used < 0 || (size_t)used >= parser->error_size) return 0;
  va_list args;
  va_start(args, format);
  vsnprintf(parser->error + used, parser->error_size - (size_t)used, format, args);
  va_end(args);
  return 0;
}

static long header_position(const HeaderParser *parser) {
  return (long)(parser->cursor - parser->start);
}

/* JSON ---------------------------------------------------------------------------------------- */

static void json_skip_space(HeaderParser *parser) {
  while (parser->cursor < parser->end && (*parser->cursor == ' ' || *parser->cursor == '\t' ||
                                          *parser->cursor == '\n' || *parser->cursor == '\r'))
    parser->cursor++;
}

static int json_syntax_error(HeaderParser *parser, const char *expected) {
  char found[32] = "the end of the header";
  if (parser->cursor < parser->end) {
    unsigned char c = (unsigned char)*parser->cursor;
    if (c > ' ' && c < 0x7F) snprintf(found, sizeof found, "'%c'", c);
    else snprintf(found, sizeof found, "byte 0x%02x", c);
  }
  return header_fail(parser, "malformed JSON at header byte %ld: expected %s, found %s",
                     header_position(parser), expected, found);
}

/* Consumes c (after white space) if it is next. */
static int json_accept(HeaderParser *parser, char c) {
  json_skip_space(parser);
  if (parser->cursor < parser->end && *parser->cursor == c) {
    parser->cursor++;
    return 1;
  }
  return 0;
}

static int json_expect(HeaderParser *parser, char c, const char *expected) {
  return json_accept(parser, c) || json_syntax_error(parser, expected);
}

/* Length (1..4) of the well-formed UTF-8 sequence at text, or 0: a stray or truncated byte, an
 * overlong form, a surrogate (U+D800..U+DFFF) or a code point above U+10FFFF. */
static int utf8_sequence_length(const unsigned char *text, const unsigned char *end) {
  unsigned char lead = text[0];
  if (lead < 0x80) return 1;
  int length = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
             : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
  if (length == 0 || end - text < length) return 0;
  for (int i = 1; i < length; i++)
    if ((text[i] & 0xC0) != 0x80) return 0;
  if ((lead == 0xE0 && text[1] < 0xA0) || (lead == 0xF0 && text[1] < 0x90)) return 0; /* overlong */
  if (lead == 0xED && text[1] > 0x9F) return 0;                                       /* surrogate */
  if (lead == 0xF4 && text[1] > 0x8F) return 0;                                       /* > U+10FFFF */
  return length;
}

static void append_utf8(char *out, size_t *length, unsigned long code) {
  if (code < 0x80) out[(*length)++] = (char)code;
  else if (code < 0x800) {
    out[(*length)++] = (char)(0xC0 | (code >> 6));
    out[(*length)++] = (char)(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out[(*length)++] = (char)(0xE0 | (code >> 12));
    out[(*length)++] = (char)(0x80 | ((code >> 6) & 0x3F));
    out[(*length)++] = (char)(0x80 | (code & 0x3F));
  } else {
    out[(*length)++] = (char)(0xF0 | (code >> 18));
    out[(*length)++] = (char)(0x80 | ((code >> 12) & 0x3F));
    out[(*length)++] = (char)(0x80 | ((code >> 6) & 0x3F));
    out[(*length)++] = (char)(0x80 | (code & 0x3F));
  }
}

/* The four hex digits after "\u"; -1 (reported) when they are not there. */
static long json_hex4(HeaderParser *parser) {
  long code = 0;
  for (int i = 0; i < 4; i++, parser->cursor++) {
    char c = parser->cursor < parser->end ? *parser->cursor : '\0';
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) {
      json_syntax_error(parser, "a hex digit of a \\u escape");
      return -1;
    }
    code = code * 16 + digit;
  }
  return code;
}

/* The code point of "\uXXXX" or of a surrogate pair "\uD8xx\uDCxx", the cursor after the "\u";
 * -1 (reported) for a bad escape or a lone surrogate, which is no character. */
static long json_unicode_escape(HeaderParser *parser, const char *what) {
  long position = header_position(parser) - 2, code = json_hex4(parser), low = 0xDC00;
  if (code < 0) return -1;
  if (code >= 0xD800 && code <= 0xDBFF) { /* a high surrogate: the low one must follow */
    low = -1;
    if (parser->end - parser->cursor >= 2 && parser->cursor[0] == '\\' && parser->cursor[1] == 'u') {
      parser->cursor += 2;
      if ((low = json_hex4(parser)) < 0) return -1;
    }
  }
  if ((code >= 0xD800 && code <= 0xDFFF) && (code >= 0xDC00 || low < 0xDC00 || low > 0xDFFF)) {
    header_fail(parser, "%s has a lone surrogate \\u%04lX at header byte %ld (not a character)",
                what, code, position);
    return -1;
  }
  return code < 0xD800 || code > 0xDBFF ? code : 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
}

/* One escape sequence (the cursor at its backslash), appended decoded to out. */
static int json_escape(HeaderParser *parser, const char *what, char *out, size_t *length) {
  parser->cursor++;
  static const char ESCAPED[] = "\"\\/bfnrt", DECODED[] = "\"\\/\b\f\n\r\t";
  char c = parser->cursor < parser->end ? *parser->cursor : '\0';
  const char *plain = c ? strchr(ESCAPED, c) : NULL;
  if (plain) {
    out[(*length)++] = DECODED[plain - ESCAPED];
    parser->cursor++;
    return 1;
  }
  if (c != 'u') return json_syntax_error(parser, "an escape (one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)");
  parser->cursor++;
  long code = json_unicode_escape(parser, what);
  if (code < 0) return 0;
  if (code == 0) {
    char shown[SHOWN_NAME_BYTES];
    out[*length] = '\0';
    return header_fail(parser, "%s contains \\u0000 (NUL) at header byte %ld (it would read as '%s')",
                       what, header_position(parser) - 6, printable(out, shown, sizeof shown));
  }
  append_utf8(out, length, (unsigned long)code);
  return 1;
}

/* A JSON string, decoded and NUL-terminated into parser->strings; `what` names it in messages
 * ("a tensor name"). NULL after an error. A decoded string and its NUL never take more bytes than
 * the string's JSON text with its quotes, so parser->strings never outgrows the header. */
static const char *json_string(HeaderParser *parser, const char *what) {
  if (!json_expect(parser, '"', what)) return NULL;
  char *out = parser->strings + parser->strings_used;
  size_t length = 0;
  for (;;) {
    if (parser->cursor >= parser->end) {
      header_fail(parser, "malformed JSON: %s runs to the end of the header without its closing "
                  "quote", what);
      return NULL;
    }
    const unsigned char *c = (const unsigned char *)parser->cursor;
    if (*c == '"') break;
    if (*c < 0x20) {
      header_fail(parser, "%s holds the control byte 0x%02x at header byte %ld (JSON needs it "
                  "escaped)", what, *c, header_position(parser));
      return NULL;
    }
    if (*c == '\\') {
      if (!json_escape(parser, what, out, &length)) return NULL;
      continue;
    }
    int bytes = utf8_sequence_length(c, (const unsigned char *)parser->end);
    if (bytes == 0) {
      header_fail(parser, "%s is not valid UTF-8 at header byte %ld", what, header_position(parser));
      return NULL;
    }
    memcpy(out + length, c, (size_t)bytes);
    length += (size_t)bytes;
    parser->cursor += bytes;
  }
  parser->cursor++; /* the closing quote */
  out[length] = '\0';
  parser->strings_used += length + 1;
  return out;
}

/* A JSON integer >= 0 below 2^64, written without sign, fraction, exponent or leading zero. */
static int json_uint64(HeaderParser *parser, uint64_t *value, const char *what) {
  json_skip_space(parser);
  const char *first = parser->cursor;
  long position = header_position(parser);
  if (first < parser->end && *first == '-')
    return header_fail(parser, "%s at header byte %ld is negative", what, position);
  uint64_t result = 0;
  for (; parser->cursor < parser->end && *parser->cursor >= '0' && *parser->cursor <= '9';
       parser->cursor++) {
    uint64_t digit = (uint64_t)(*parser->cursor - '0');
    if (result > (UINT64_MAX - digit) / 10)
      return header_fail(parser, "%s at header byte %ld is above 2^64 - 1", what, position);
    result = result * 10 + digit;
  }
  if (parser->cursor == first) {
    char expected[64];
    snprintf(expected, sizeof expected, "%s (an integer >= 0)", what);
    return json_syntax_error(parser, expected);
  }
  if (parser->cursor - first > 1 && *first == '0')
    return header_fail(parser, "%s at header byte %ld has a leading zero (not JSON)", what, position);
  if (parser->cursor < parser->end && strchr(".eE", *parser->cursor))
    return header_fail(parser, "%s at header byte %ld is not an integer", what, position);
  *value = result;
  return 1;
}

/* [a, b, ...]: at most max_count integers >= 0. Returns the count, or -1 after an error. */
static int json_uint64_array(HeaderParser *parser, const char *field, uint64_t *values,
                             int max_count) {
  char expected[64];
  snprintf(expected, sizeof expected, "'[' opening %s", field);
  if (!json_expect(parser, '[', expected)) return -1;
  int count = 0;
  if (json_accept(parser, ']')) return 0;
  do {
    if (count == max_count) {
      header_fail(parser, "%s has more than %d numbers", field, max_count);
      return -1;
    }
    if (!json_uint64(parser, &values[count++], field)) return -1;
  } while (json_accept(parser, ','));
  snprintf(expected, sizeof expected, "',' or ']' in %s", field);
  return json_expect(parser, ']', expected) ? count : -1;
}

/* `array` with room for element `count` (doubling, never past limit); NULL after a message, the
 * array then unchanged. */
static void *grow(HeaderParser *parser, void *array, int *capacity, int count,
                  size_t element_size, int limit, const char *what) {
  if (count < *capacity) return array;
  if (count >= limit) {
    header_fail(parser, "more than %d %s (the reader's limit)", limit, what);
    return NULL;
  }
  int wanted = *capacity ? 2 * *capacity : 16;
  if (wanted > limit) wanted = limit;
  void *grown = realloc(array, (size_t)wanted * element_size);
  if (!grown) header_fail(parser, "out of memory for %d %s", wanted, what);
  else *capacity = wanted;
  return grown;
}

/* Tensor entries ------------------------------------------------------------------------------ */

static int parse_dtype(HeaderParser *parser, SafetensorsEntry *entry, int *bits) {
  size_t mark = parser->strings_used;
  const char *dtype = json_string(parser, "dtype (a string)");
  if (!dtype) return 0;
  const Dtype *known = dtype_find(dtype);
  if (known) {
    snprintf(entry->dtype, sizeof entry->dtype, "%s", known->name);
    *bits = known->bits;
  } else {
    char shown[SHOWN_NAME_BYTES], names[256] = "";
    for (int i = 0; i < NUM_DTYPES; i++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? " " : "",
               DTYPES[i].name);
    header_fail(parser, "unknown dtype '%s' (known: %s)", printable(dtype, shown, sizeof shown),
                names);
  }
  parser->strings_used = mark;
  return known != NULL;
}

static int parse_shape(HeaderParser *parser, SafetensorsEntry *entry) {
  uint64_t dims[PERFT_MAX_DIMS];
  int count = json_uint64_array(parser, "shape", dims, PERFT_MAX_DIMS);
  if (count < 0) return 0;
  for (int d = 0; d < count; d++) {
    if (dims[d] > (uint64_t)INT64_MAX)
      return header_fail(parser, "shape dim %d is %llu, above 2^63 - 1", d,
                         (unsigned long long)dims[d]);
    entry->shape[d] = (int64_t)dims[d];
  }
  entry->num_dims = count;
  return 1;
}

static int parse_data_offsets(HeaderParser *parser, SafetensorsEntry *entry) {
  uint64_t offsets[2];
  int count = json_uint64_array(parser, "data_offsets", offsets, 2);
  if (count < 0) return 0;
  if (count != 2)
    return header_fail(parser, "data_offsets must be [BEGIN, END], found %d number%s", count,
                       count == 1 ? "" : "s");
  entry->data_begin = offsets[0];
  entry->data_end = offsets[1];
  return 1;
}

/* Offsets inside the data and aligned; END - BEGIN = product(shape) x element size, no overflow. */
static int check_entry(HeaderParser *parser, SafetensorsEntry *entry, int bits,
                       uint64_t data_bytes) {
  unsigned long long begin = entry->data_begin, end = entry->data_end;
  if (begin > end)
    return header_fail(parser, "data_offsets [%llu, %llu] begin after they end", begin, end);
  if (end > data_bytes)
    return header_fail(parser, "data_offsets [%llu, %llu] reach past the %llu bytes of data "
                       "(truncated file?)", begin, end, (unsigned long long)data_bytes);
  char shape[256];
  dims_format(entry->shape, entry->num_dims, shape, sizeof shape);
  int64_t elements = 1;
  for (int d = 0; d < entry->num_dims; d++)
    if (entry->shape[d] == 0) elements = 0;
  for (int d = 0; elements && d < entry->num_dims; d++) {
    if (elements > INT64_MAX / entry->shape[d])
      return header_fail(parser, "shape [%s] has 2^63 or more elements (overflow)", shape);
    elements *= entry->shape[d];
  }
  entry->num_elements = elements;
  if ((uint64_t)elements > UINT64_MAX / (uint64_t)bits)
    return header_fail(parser, "shape [%s] of %s takes 2^64 or more bits (overflow)", shape,
                       entry->dtype);
  uint64_t needed_bits = (uint64_t)elements * (uint64_t)bits;
  if (needed_bits % 8)
    return header_fail(parser, "shape [%s] of %s is %llu bits, not a whole number of bytes", shape,
                       entry->dtype, (unsigned long long)needed_bits);
  if (end - begin != needed_bits / 8)
    return header_fail(parser, "data_offsets [%llu, %llu] hold %llu bytes, but shape [%s] of %s "
                       "needs %llu", begin, end, end - begin, shape, entry->dtype,
                       (unsigned long long)(needed_bits / 8));
  unsigned alignment = bits >= 8 ? (unsigned)bits / 8 : 1;
  if (begin % alignment)
    return header_fail(parser, "data_offsets begin %llu is not a multiple of %u, the size of %s "
                       "(misaligned)", begin, alignment, entry->dtype);
  return 1;
}

static const char *const ENTRY_FIELDS[] = {"dtype", "shape", "data_offsets"};

/* {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]}: each field once, no other. */
static int parse_entry(HeaderParser *parser, SafetensorsEntry *entry, uint64_t data_bytes) {
  parser->tensor = entry->name;
  if (!json_expect(parser, '{', "'{' opening the tensor's entry")) return 0;
  int seen[3] = {0, 0, 0}, bits = 0;
  if (!json_accept(parser, '}')) {
    do {
      size_t mark = parser->strings_used;
      const char *field = json_string(parser, "a field name");
      if (!field || !json_expect(parser, ':', "':' after a field name")) return 0;
      int which = 0;
      while (which < 3 && strcmp(field, ENTRY_FIELDS[which]) != 0) which++;
      char shown[SHOWN_NAME_BYTES];
      if (which == 3)
        return header_fail(parser, "unknown field '%s' (an entry has dtype, shape and "
                           "data_offsets only)", printable(field, shown, sizeof shown));
      if (seen[which]++) return header_fail(parser, "field '%s' given twice", field);
      parser->strings_used = mark;
      int ok = which == 0 ? parse_dtype(parser, entry, &bits)
             : which == 1 ? parse_shape(parser, entry) : parse_data_offsets(parser, entry);
      if (!ok) return 0;
    } while (json_accept(parser, ','));
    if (!json_expect(parser, '}', "',' or '}' in the tensor's entry")) return 0;
  }
  char missing[64] = "";
  for (int which = 0; which < 3; which++)
    if (!seen[which])
      snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
               missing[0] ? ", " : "", ENTRY_FIELDS[which]);
  if (missing[0])
    return header_fail(parser, "lacks %s (an entry needs dtype, shape and data_offsets)", missing);
  if (!check_entry(parser, entry, bits, data_bytes)) return 0;
  parser->tensor = NULL;
  return 1;
}

/* "__metadata__": {"KEY": "VALUE", ...}: the format's map of strings to strings. */
static int parse_metadata(HeaderParser *parser, SafetensorsFile *file) {
  if (!json_expect(parser, '{', "'{' opening __metadata__ (an object of strings)")) return 0;
  if (json_accept(parser, '}')) return 1;
  int capacity = 0;
  do {
    const char *key = json_string(parser, "a __metadata__ key");
    if (!key || !json_expect(parser, ':', "':' after a __metadata__ key")) return 0;
    json_skip_space(parser);
    char shown[SHOWN_NAME_BYTES];
    if (parser->cursor >= parser->end || *parser->cursor != '"')
      return header_fail(parser, "__metadata__ '%s' is not a string (the format allows string "
                         "values only)", printable(key, shown, sizeof shown));
    const char *value = json_string(parser, "a __metadata__ value");
    void *grown = value ? grow(parser, file->metadata, &capacity, file->num_metadata,
                               sizeof *file->metadata, MAX_TENSORS, "__metadata__ entries") : NULL;
    if (!grown) return 0;
    file->metadata = grown;
    file->metadata[file->num_metadata][0] = key;
    file->metadata[file->num_metadata++][1] = value;
  } while (json_accept(parser, ','));
  return json_expect(parser, '}', "',' or '}' in __metadata__");
}

/* The header: {"NAME": {...}, ..., "__metadata__": {...}}, then nothing but white space. */
static int parse_members(HeaderParser *parser, SafetensorsFile *file) {
  if (!json_expect(parser, '{', "'{' opening the header (not a safetensors file?)")) return 0;
  int capacity = 0, metadata_seen = 0;
  if (!json_accept(parser, '}')) {
    do {
      const char *name = json_string(parser, "a tensor name");
      if (!name || !json_expect(parser, ':', "':' after a tensor name")) return 0;
      if (strcmp(name, "__metadata__") == 0) {
        if (metadata_seen++) return header_fail(parser, "__metadata__ given twice");
        if (!parse_metadata(parser, file)) return 0;
        continue;
      }
      void *grown = grow(parser, file->entries, &capacity, file->num_entries,
                         sizeof *file->entries, MAX_TENSORS, "tensors");
      if (!grown) return 0;
      file->entries = grown;
      SafetensorsEntry *entry = &file->entries[file->num_entries++];
      memset(entry, 0, sizeof *entry);
      entry->name = name;
      if (!parse_entry(parser, entry, file->data_bytes)) return 0;
    } while (json_accept(parser, ','));
    if (!json_expect(parser, '}', "',' or '}' after a header member")) return 0;
  }
  json_skip_space(parser);
  if (parser->cursor < parser->end)
    return header_fail(parser, "trailing garbage after the header's JSON object: %ld bytes from "
                       "header byte %ld", (long)(parser->end - parser->cursor),
                       header_position(parser));
  return 1;
}

/* Whole-file checks ---------------------------------------------------------------------------- */

static int compare_names(const void *a, const void *b) {
  const SafetensorsEntry *const *x = a, *const *y = b;
  int order = strcmp((*x)->name, (*y)->name);
  return order ? order : (*x > *y) - (*x < *y); /* header order among equal names */
}

/* file->by_name, and no name twice. */
static int index_names(HeaderParser *parser, SafetensorsFile *file) {
  int count = file->num_entries;
  file->by_name = malloc(((size_t)count + 1) * sizeof *file->by_name);
  if (!file->by_name) return header_fail(parser, "out of memory indexing %d tensors", count);
  for (int i = 0; i < count; i++) file->by_name[i] = &file->entries[i];
  qsort(file->by_name, (size_t)count, sizeof *file->by_name, compare_names);
  for (int i = 1; i < count; i++)
    if (strcmp(file->by_name[i - 1]->name, file->by_name[i]->name) == 0) {
      parser->tensor = file->by_name[i]->name;
      return header_fail(parser, "named twice in the header (members %d and %d)",
                         (int)(file->by_name[i - 1] - file->entries) + 1,
                         (int)(file->by_name[i] - file->entries) + 1);
    }
  return 1;
}

static int compare_metadata_keys(const void *a, const void *b) {
  const char *const *x = a, *const *y = b;
  int order = strcmp(x[0], y[0]);
  return order ? order : (x > y) - (x < y);
}

/* file->metadata sorted by key, and no key twice. */
static int index_metadata(HeaderParser *parser, SafetensorsFile *file) {
  if (file->num_metadata < 2) return 1; /* metadata may be NULL, which qsort does not take */
  qsort(file->metadata, (size_t)file->num_metadata, sizeof *file->metadata, compare_metadata_keys);
  char shown[SHOWN_NAME_BYTES];
  for (int i = 1; i < file->num_metadata; i++)
    if (strcmp(file->metadata[i - 1][0], file->metadata[i][0]) == 0)
      return header_fail(parser, "__metadata__ key '%s' given twice",
                         printable(file->metadata[i][0], shown, sizeof shown));
  return 1;
}

static int compare_offsets(const void *a, const void *b) {
  const SafetensorsEntry *x = *(const SafetensorsEntry *const *)a,
                         *y = *(const SafetensorsEntry *const *)b;
  if (x->data_begin != y->data_begin) return x->data_begin < y->data_begin ? -1 : 1;
  if (x->data_end != y->data_end) return x->data_end < y->data_end ? -1 : 1;
  return (x > y) - (x < y);
}

/* Sorted by begin, the tensors tile [0, data_bytes): no overlap, no hole, nothing after. */
static int check_layout(HeaderParser *parser, const SafetensorsFile *file) {
  int count = file->num_entries, ok = 1;
  const SafetensorsEntry **by_offset = malloc(((size_t)count + 1) * sizeof *by_offset);
  if (!by_offset) return header_fail(parser, "out of memory sorting %d tensors", count);
  for (int i = 0; i < count; i++) by_offset[i] = &file->entries[i];
  qsort(by_offset, (size_t)count, sizeof *by_offset, compare_offsets);
  uint64_t covered = 0; /* [0, covered) belongs to the tensors so far */
  const SafetensorsEntry *previous = NULL;
  char shown[SHOWN_NAME_BYTES];
  for (int i = 0; ok && i < count; i++) {
    const SafetensorsEntry *entry = by_offset[i];
    parser->tensor = entry->name;
    if (entry->data_begin < covered)
      ok = header_fail(parser, "data_offsets [%llu, %llu] overlap those of tensor '%s' [%llu, %llu]",
                       (unsigned long long)entry->data_begin, (unsigned long long)entry->data_end,
                       printable(previous->name, shown, sizeof shown),
                       (unsigned long long)previous->data_begin,
                       (unsigned long long)previous->data_end);
    else if (entry->data_begin > covered)
      ok = header_fail(parser, "data_offsets [%llu, %llu] leave data bytes [%llu, %llu) to no "
                       "tensor (a hole, after %s%s%s)", (unsigned long long)entry->data_begin,
                       (unsigned long long)entry->data_end, (unsigned long long)covered,
                       (unsigned long long)entry->data_begin, previous ? "tensor '" : "",
                       previous ? printable(previous->name, shown, sizeof shown) : "the start",
                       previous ? "'" : "");
    covered = entry->data_end;
    previous = entry;
  }
  parser->tensor = NULL;
  if (ok && covered < file->data_bytes)
    ok = header_fail(parser, "data bytes [%llu, %llu) belong to no tensor (after %s%s%s; the "
                     "format allows no unused bytes)", (unsigned long long)covered,
                     (unsigned long long)file->data_bytes, previous ? "tensor '" : "",
                     previous ? printable(previous->name, shown, sizeof shown) : "the header",
                     previous ? "'" : "");
  free(by_offset);
  return ok;
}

/* Opening -------------------------------------------------------------------------------------- */

/* The 8-byte little-endian header length, checked against the file size and the limit. */
static int read_header_length(const char *path, const unsigned char *bytes, size_t size,
                              uint64_t *header_bytes, char *error, size_t error_size) {
  if (size < 8)
    return fail(error, error_size, "%s: file is %zu bytes, too short for a safetensors file (it "
                "starts with an 8-byte header length)", path, size);
  uint64_t length = 0;
  for (int i = 7; i >= 0; i--) length = (length << 8) | bytes[i];
  if (length > size - 8)
    return fail(error, error_size, "%s: header length %llu runs past the end of the file (%zu "
                "bytes after the length; truncated, or not a safetensors file)", path,
                (unsigned long long)length, size - 8);
  if (length > MAX_HEADER_BYTES)
    return fail(error, error_size, "%s: header length %llu is above the reader's limit of %u "
                "bytes (100 MiB)", path, (unsigned long long)length, MAX_HEADER_BYTES);
  *header_bytes = length;
  return 1;
}

int safetensors_parse_buffer(const char *path, const void *bytes, size_t size,
                             SafetensorsFile *file, char *error, size_t error_size) {
  memset(file, 0, sizeof *file);
  uint64_t header_bytes = 0;
  if (!read_header_length(path, bytes, size, &header_bytes, error, error_size)) return 0;
  const char *header = (const char *)bytes + 8;
  file->path = strdupCheck(path);
  file->data = (const unsigned char *)header + header_bytes;
  file->data_bytes = size - 8 - header_bytes;
  file->strings = malloc((size_t)header_bytes + 1);
  if (!file->strings) {
    fail(error, error_size, "%s: out of memory for a %llu-byte header", path,
         (unsigned long long)header_bytes);
    safetensors_close(file);
    return 0;
  }
  HeaderParser parser = {.path = path, .start = header, .cursor = header,
                         .end = header + header_bytes, .strings = file->strings,
                         .error = error, .error_size = error_size};
  int ok = parse_members(&parser, file) && index_names(&parser, file) &&
           index_metadata(&parser, file) && check_layout(&parser, file);
  if (!ok) safetensors_close(file);
  return ok;
}

static const char *file_kind(mode_t mode) {
  return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO (named pipe)"
       : S_ISCHR(mode) ? "a character device" : S_ISBLK(mode) ? "a block device"
       : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

int safetensors_open(const char *path, SafetensorsFile *file, char *error, size_t error_size) {
  memset(file, 0, sizeof *file);
  /* O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer; fstat then
   * refuses anything but a regular file before a byte is read. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fail(error, error_size, "cannot open '%s': %s", path, strerror(errno));
  struct stat info;
  if (fstat(fd, &info) != 0) {
    int saved_errno = errno;
    close(fd);
    return fail(error, error_size, "cannot stat '%s': %s", path, strerror(saved_errno));
  }
  if (!S_ISREG(info.st_mode)) {
    close(fd);
    return fail(error, error_size, "%s: is %s, not a regular file (only regular files are read)",
                path, file_kind(info.st_mode));
  }
  size_t size = (size_t)info.st_size;
  uint64_t header_bytes;
  if (size < 8) { /* nothing to map: read_header_length only reports */
    close(fd);
    return read_header_length(path, NULL, size, &header_bytes, error, error_size);
  }
  void *mapping = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int saved_errno = errno;
  close(fd);
  if (mapping == MAP_FAILED)
    return fail(error, error_size, "cannot mmap '%s': %s", path, strerror(saved_errno));
  if (!safetensors_parse_buffer(path, mapping, size, file, error, error_size)) {
    munmap(mapping, size);
    return 0;
  }
  file->mapping = mapping;
  file->mapping_bytes = size;
  return 1;
}

void safetensors_close(SafetensorsFile *file) {
  if (file->mapping) munmap(file->mapping, file->mapping_bytes);
  free(file->entries);
  free(file->by_name);
  free(file->metadata);
  free(file->strings);
  free(file->path);
  memset(file, 0, sizeof *file);
}

/* Looking up and copying ----------------------------------------------------------------------- */

const SafetensorsEntry *safetensors_find(const SafetensorsFile *file, const char *name) {
  int low = 0, high = file->num_entries; /* the name, if there, is in by_name[low, high) */
  while (low < high) {
    int middle = low + (high - low) / 2, order = strcmp(name, file->by_name[middle]->name);
    if (order == 0) return file->by_name[middle];
    if (order < 0) high = middle;
    else low = middle + 1;
  }
  return NULL;
}

const char *safetensors_metadata(const SafetensorsFile *file, const char *key) {
  int low = 0, high = file->num_metadata;
  while (low < high) {
    int middle = low + (high - low) / 2, order = strcmp(key, file->metadata[middle][0]);
    if (order == 0) return file->metadata[middle][1];
    if (order < 0) high = middle;
    else low = middle + 1;
  }
  return NULL;
}

static void append_problem(char *problems, size_t problems_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void append_problem(char *problems, size_t problems_size, const char *format, ...) {
  size_t used = strlen(problems);
  if (used + 1 >= problems_size) return;
  va_list args;
  va_start(args, format);
  vsnprintf(problems + used, problems_size - used, format, args);
  va_end(args);
}

int safetensors_read_tensor(const SafetensorsFile *file, const char *name,
                            const TensorSpec *expected, void *out, char *problems,
                            size_t problems_size) {
  const SafetensorsEntry *entry = safetensors_find(file, name);
  if (!entry) {
    append_problem(problems, problems_size, "%s'%s' missing (expected shape [%s])",
                   problems[0] ? "; " : "", name, expected->dims_text);
    return 0;
  }
  char found[256], wanted[256];
  dims_format(entry->shape, entry->num_dims, found, sizeof found);
  dims_format(expected->dims, expected->num_dims, wanted, sizeof wanted);
  /* A scalar may be stored with shape [] or [1]. */
  int shapes_match = entry->num_dims == expected->num_dims;
  for (int d = 0; shapes_match && d < entry->num_dims; d++)
    shapes_match = entry->shape[d] == expected->dims[d];
  if (!shapes_match && entry->num_dims == 0 && expected->num_elements == 1) shapes_match = 1;
  if (!shapes_match) {
    append_problem(problems, problems_size, "%s'%s' shape mismatch: expected [%s], found [%s]",
                   problems[0] ? "; " : "", name, wanted, entry->num_dims ? found : "");
    return 0;
  }
  if (expected->element_type == ELEMENT_BF16 && strcmp(entry->dtype, "F32") == 0) { /* rounded */
    const unsigned char *from = file->data + entry->data_begin;
    for (int64_t i = 0; i < entry->num_elements; i++) {
      float value;
      memcpy(&value, from + 4 * i, 4);
      ((uint16_t *)out)[i] = float_to_bf16(value);
    }
    return 1;
  }
  const char *wanted_dtype = expected->element_type == ELEMENT_I32 ? "I32" : expected->element_type == ELEMENT_BF16 ? "BF16" : "F32";
  if (strcmp(entry->dtype, wanted_dtype) != 0) {
    append_problem(problems, problems_size,
                   "%s'%s' has dtype %s, expected %s (convert the file to %s)",
                   problems[0] ? "; " : "", name, entry->dtype, wanted_dtype,
                   expected->element_type == ELEMENT_I32 ? "int32" : "float32");
    return 0;
  }
  /* safetensors_open checked that the entry holds num_elements elements of the dtype's size */
  memcpy(out, file->data + entry->data_begin, (size_t)entry->num_elements * element_bytes(expected->element_type));
  return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Writing */

typedef struct {
  char *text;
  size_t length, capacity;
} Text;

static void text_append(Text *text, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void text_append(Text *text, const char *format, ...) {
  for (;;) {
    va_list args;
    va_start(args, format);
    int needed = vsnprintf(text->text + text->length, text->capacity - text->length, format, args);
    va_end(args);
    assertCheck(needed >= 0);
    if (text->length + (size_t)needed < text->capacity) {
      text->length += (size_t)needed;
      return;
    }
    text->capacity = 2 * (text->capacity + (size_t)needed);
    char *grown = realloc(text->text, text->capacity);
    if (!grown) perft_fatal("out of memory building a safetensors header");
    text->text = grown;
  }
}

static void text_append_json_string(Text *text, const char *string) {
  text_append(text, "\"");
  for (const unsigned char *c = (const unsigned char *)string; *c; c++) {
    if (*c == '"' || *c == '\\') text_append(text, "\\%c", *c);
    else if (*c < 0x20) text_append(text, "\\u%04x", *c);
    else text_append(text, "%c", *c);
  }
  text_append(text, "\"");
}

void safetensors_writer_create(SafetensorsWriter *writer, const char *path,
                               const SafetensorsTensor *tensors, int num_tensors) {
  safetensors_writer_create_with_metadata(writer, path, tensors, num_tensors, NULL, 0);
}

static int metadata_value_is_plain(const char *value) {
  for (const unsigned char *c = (const unsigned char *)value; *c; c++)
    if (*c < 0x20 || *c > 0x7E || *c == '"' || *c == '\\') return 0;
  return 1;
}

void safetensors_writer_create_with_metadata(SafetensorsWriter *writer, const char *path,
                                             const SafetensorsTensor *tensors, int num_tensors,
                                             const SafetensorsMetadata *metadata, int num_metadata) {
  memset(writer, 0, sizeof *writer);
  writer->path = strdupCheck(path);
  size_t temp_size = strlen(path) + 32;
  writer->temp_path = mallocCheck(temp_size);
  snprintf(writer->temp_path, temp_size, "%s.tmp.%ld", path, (long)getpid());
  writer->num_tensors = num_tensors;
  writer->tensors = mallocCheck((size_t)(num_tensors ? num_tensors : 1) * sizeof *tensors);
  memcpy(writer->tensors, tensors, (size_t)num_tensors * sizeof *tensors);
  writer->num_metadata = num_metadata;
  writer->metadata_keys = callocCheck((size_t)num_metadata + 1, sizeof(char *));
  writer->metadata_value_offsets = callocCheck((size_t)num_metadata + 1, sizeof(size_t));
  writer->metadata_value_lengths = callocCheck((size_t)num_metadata + 1, sizeof(size_t));

  Text json = {mallocCheck(256), 8, 256}; /* 8 bytes reserved for the length */
  text_append(&json, "{\"__metadata__\":{\"format\":\"pt\"");
  for (int m = 0; m < num_metadata; m++) {
    writer->metadata_keys[m] = strdupCheck(metadata[m].key);
    text_append(&json, ",");
    text_append_json_string(&json, metadata[m].key);
    text_append(&json, ":");
    /* a plain value stands in the header as it is, so that it can be rewritten in place */
    writer->metadata_value_offsets[m] = json.length + 1;
    writer->metadata_value_lengths[m] = metadata_value_is_plain(metadata[m].value) ? strlen(metadata[m].value) : SIZE_MAX;
    text_append_json_string(&json, metadata[m].value);
  }
  text_append(&json, "}");
  uint64_t offset = 0;
  for (int t = 0; t < num_tensors; t++) {
    const SafetensorsTensor *tensor = &tensors[t];
    uint64_t elements = 1;
    for (int d = 0; d < tensor->num_dims; d++) elements *= (uint64_t)tensor->shape[d];
    text_append(&json, ",");
    text_append_json_string(&json, tensor->name);
    text_append(&json, ":{\"dtype\":\"%s\",\"shape\":[",
                tensor->element_type == ELEMENT_I32 ? "I32" : tensor->element_type == ELEMENT_BF16 ? "BF16" : "F32");
    for (int d = 0; d < tensor->num_dims; d++)
      text_append(&json, d ? ",%lld" : "%lld", (long long)tensor->shape[d]);
    text_append(&json, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                (unsigned long long)(offset + elements * element_bytes(tensor->element_type)));
    offset += elements * element_bytes(tensor->element_type);
  }
  text_append(&json, "}");
  while (json.length % 8) text_append(&json, " "); /* data starts 8-byte aligned */
  uint64_t header_length = json.length - 8;
  for (int i = 0; i < 8; i++) json.text[i] = (char)((header_length >> (8 * i)) & 0xFF);
  writer->header = json.text;
  writer->header_bytes = json.length;
}

void safetensors_writer_set_metadata(SafetensorsWriter *writer, const char *key, const char *value) {
  for (int m = 0; m < writer->num_metadata; m++) {
    if (strcmp(writer->metadata_keys[m], key) != 0) continue;
    assertCheck(strlen(value) == writer->metadata_value_lengths[m] && metadata_value_is_plain(value));
    memcpy(writer->header + writer->metadata_value_offsets[m], value, writer->metadata_value_lengths[m]);
    return;
  }
  perft_fatal_at(__FILE__, __LINE__, "no metadata entry '%s' in the writer of %s", key, writer->path);
}

static int write_all(int fd, const void *data, size_t bytes) {
  const char *cursor = data;
  while (bytes) {
    ssize_t written = write(fd, cursor, bytes);
    if (written < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    cursor += written;
    bytes -= (size_t)written;
  }
  return 1;
}

/* fsync the directory holding path so that the rename itself is durable. */
static void sync_directory_of(const char *path) {
  char directory[4096];
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(directory, sizeof directory, ".");
  else if (slash == path) snprintf(directory, sizeof directory, "/");
  else snprintf(directory, sizeof directory, "%.*s", (int)(slash - path), path);
  int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int safetensors_writer_write(SafetensorsWriter *writer, char *error, size_t error_size) {
  return safetensors_writer_write_as(writer, writer->path, writer->temp_path, error, error_size);
}

int safetensors_writer_write_as(SafetensorsWriter *writer, const char *path, const char *temp_path,
                                char *error, size_t error_size) {
  int fd = open(temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0)
    return fail(error, error_size, "cannot create '%s': %s", temp_path, strerror(errno));
  int ok = write_all(fd, writer->header, writer->header_bytes);
  for (int t = 0; ok && t < writer->num_tensors; t++) {
    const SafetensorsTensor *tensor = &writer->tensors[t];
    size_t elements = 1;
    for (int d = 0; d < tensor->num_dims; d++) elements *= (size_t)tensor->shape[d];
    ok = write_all(fd, tensor->data, elements * element_bytes(tensor->element_type));
  }
  if (ok) ok = fsync(fd) == 0;
  int saved_errno = errno;
  if (close(fd) != 0 && ok) {
    ok = 0;
    saved_errno = errno;
  }
  if (ok && rename(temp_path, path) != 0) {
    ok = 0;
    saved_errno = errno;
  }
  if (!ok) {
    unlink(temp_path);
    return fail(error, error_size, "writing '%s' failed: %s (the previous file, if any, is kept)",
                path, strerror(saved_errno));
  }
  sync_directory_of(path);
  return 1;
}

void safetensors_writer_destroy(SafetensorsWriter *writer) {
  free(writer->path);
  free(writer->temp_path);
  free(writer->header);
  free(writer->tensors);
  for (int m = 0; m < writer->num_metadata; m++) free(writer->metadata_keys[m]);
  free(writer->metadata_keys);
  free(writer->metadata_value_offsets);
  free(writer->metadata_value_lengths);
  memset(writer, 0, sizeof *writer);
}

int safetensors_write_file(const char *path, const SafetensorsTensor *tensors, int num_tensors,
                           char *error, size_t error_size) {
  SafetensorsWriter writer;
  safetensors_writer_create(&writer, path, tensors, num_tensors);
  int ok = safetensors_writer_write(&writer, error, error_size);
  safetensors_writer_destroy(&writer);
  return ok;
}
