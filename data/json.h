/* json.h: a small, strict JSON reader (RFC 8259) that remembers where every value stands.
 *
 * Strict: no comments, trailing commas, NaN/Infinity, leading zeros, byte order mark, raw control
 * characters in strings, invalid UTF-8, lone surrogate escapes, duplicate keys in one object,
 * nesting deeper than JSON_MAX_DEPTH, or anything after the value. Every error is one line:
 *   PATH:LINE:COLUMN: error: MESSAGE
 * with 1-based lines and columns that count characters.
 */
#ifndef PERFT_DATA_JSON_H
#define PERFT_DATA_JSON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { JSON_MAX_DEPTH = 256 };

typedef enum { JSON_NULL, JSON_BOOLEAN, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } JsonKind;

typedef struct JsonValue JsonValue;

typedef struct {
  const char *key;   /* decoded, NUL-terminated (may also hold NUL: see key_length) */
  size_t key_length;
  int line, column;  /* of the key */
  size_t offset;     /* of the key, in bytes */
  const JsonValue *value;
} JsonMember;

struct JsonValue {
  JsonKind kind;
  int line, column;             /* where the value starts */
  int boolean;                  /* JSON_BOOLEAN */
  const char *string;           /* JSON_STRING: decoded, NUL-terminated; JSON_NUMBER: its text */
  size_t string_length;
  int is_integer;               /* JSON_NUMBER without fraction or exponent that fits int64_t */
  int64_t integer;
  double number;                /* JSON_NUMBER */
  size_t count;                 /* items or members */
  const JsonValue **items;      /* JSON_ARRAY: (count) */
  const JsonMember *members;    /* JSON_OBJECT: (count) in file order, keys unique */
};

typedef struct JsonDocument JsonDocument;

/* Parses text (length bytes); path names it in messages. On failure returns 0, *document NULL,
 * and the message in error. */
int json_parse(const char *path, const char *text, size_t length, JsonDocument **document,
               char *error, size_t error_size);
/* Reads the file at path and parses it. */
int json_read_file(const char *path, JsonDocument **document, char *error, size_t error_size);
const JsonValue *json_document_root(const JsonDocument *document);
const char *json_document_path(const JsonDocument *document);
void json_document_destroy(JsonDocument *document);

/* The member called key of object, or NULL. Linear: for the small objects of a configuration. */
const JsonValue *json_object_find(const JsonValue *object, const char *key);
/* Writes "PATH:LINE:COLUMN: error: " and the formatted message into error: the one form of
 * every message about a JSON file, from this reader or from what interprets its values. */
void json_format_error(char *error, size_t error_size, const char *path, int line, int column,
                       const char *format, va_list arguments);

/* Writes text (NUL-terminated UTF-8) to out as a JSON string: quotes, \" \\ \n escaped, other
 * control characters as \u00XX. */
void json_write_string(FILE *out, const char *text);

/* "null", "a boolean", "a number", "a string", "an array", "an object": for messages. */
const char *json_kind_name(JsonKind kind);

#endif
