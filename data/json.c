/* json.c: a strict JSON reader with positions (see json.h).
 *
 * Grammar (RFC 8259), one function per production:
 *   value  := object | array | string | number | "true" | "false" | "null"
 *   object := '{' [ string ':' value { ',' string ':' value } ] '}'
 *   array  := '[' [ value { ',' value } ] ']'
 *   number := [ '-' ] ( '0' | [1-9][0-9]* ) [ '.' [0-9]+ ] [ ( 'e' | 'E' ) [ '+' | '-' ] [0-9]+ ]
 * Values live in an arena owned by the document; children are gathered on a shared stack while
 * their parent is open and copied into the arena when it closes.
 */
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "utf8.h"

typedef struct ArenaBlock {
  struct ArenaBlock *next;
  size_t used, size;
  unsigned char *bytes;
} ArenaBlock;

struct JsonDocument {
  char *path;
  ArenaBlock *blocks;
  const JsonValue *root;
};

enum { ARENA_BLOCK_BYTES = 1 << 20, ARENA_ALIGNMENT = 16 };

static void *arena_allocate(JsonDocument *document, size_t bytes) {
  bytes = (bytes + ARENA_ALIGNMENT - 1) / ARENA_ALIGNMENT * ARENA_ALIGNMENT;
  ArenaBlock *block = document->blocks;
  if (!block || block->size - block->used < bytes) {
    block = DATA_ALLOCATE(1, ArenaBlock);
    block->size = bytes > ARENA_BLOCK_BYTES ? bytes : ARENA_BLOCK_BYTES;
    block->bytes = DATA_ALLOCATE(block->size, unsigned char);
    block->next = document->blocks;
    document->blocks = block;
  }
  void *pointer = block->bytes + block->used;
  block->used += bytes;
  return pointer;
}

typedef struct {
  JsonDocument *document;
  const unsigned char *text;
  size_t length;
  size_t position;
  /* The line and column of text[cursor_offset]; positions asked for only move forward, except
   * for keys remembered earlier, so finding one costs the bytes since the last. */
  size_t cursor_offset;
  int cursor_line, cursor_column;
  char *error;
  size_t error_size;
  const JsonValue **item_stack;
  size_t item_count, item_capacity;
  JsonMember *member_stack;
  size_t member_count, member_capacity;
  ByteBuffer string_buffer;
} JsonParser;

static void position_of(JsonParser *parser, size_t offset, int *line, int *column) {
  if (offset < parser->cursor_offset) {
    utf8_line_column(parser->text, offset, line, column);
    return;
  }
  while (parser->cursor_offset < offset) {
    unsigned char byte = parser->text[parser->cursor_offset++];
    if (byte == '\n') {
      parser->cursor_line++;
      parser->cursor_column = 1;
    } else if ((byte & 0xC0) != 0x80) {
      parser->cursor_column++;
    }
  }
  *line = parser->cursor_line;
  *column = parser->cursor_column;
}

void json_format_error(char *error, size_t error_size, const char *path, int line, int column,
                       const char *format, va_list arguments) {
  int written = snprintf(error, error_size, "%s:%d:%d: error: ", path, line, column);
  if (written < 0 || (size_t)written >= error_size) return;
  vsnprintf(error + written, error_size - (size_t)written, format, arguments);
}

/* The error message for text[offset]; returns NULL for the caller. */
static void *fail_at(JsonParser *parser, size_t offset, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void *fail_at(JsonParser *parser, size_t offset, const char *format, ...) {
  int line, column;
  position_of(parser, offset, &line, &column);
  va_list arguments;
  va_start(arguments, format);
  json_format_error(parser->error, parser->error_size, parser->document->path, line, column, format, arguments);
  va_end(arguments);
  return NULL;
}

/* fail_at for the functions that answer 1 or 0. */
#define FAIL_AT(...) (fail_at(__VA_ARGS__), 0)

/* What stands at offset, for "expected X, found Y" messages. */
static const char *describe_at(const JsonParser *parser, size_t offset, char buffer[32]) {
  if (offset >= parser->length) return "the end of the file";
  unsigned char byte = parser->text[offset];
  if (byte >= 0x20 && byte < 0x7F) snprintf(buffer, 32, "'%c'", byte);
  else snprintf(buffer, 32, "byte 0x%02X", byte);
  return buffer;
}

static void skip_white_space(JsonParser *parser) {
  while (parser->position < parser->length) {
    unsigned char byte = parser->text[parser->position];
    if (byte != ' ' && byte != '\t' && byte != '\n' && byte != '\r') break;
    parser->position++;
  }
}

static JsonValue *new_value(JsonParser *parser, JsonKind kind, size_t offset) {
  JsonValue *value = arena_allocate(parser->document, sizeof(JsonValue));
  memset(value, 0, sizeof *value);
  value->kind = kind;
  position_of(parser, offset, &value->line, &value->column);
  return value;
}

static const JsonValue *parse_value(JsonParser *parser, int depth);

static int hex_digit_value(unsigned char byte) {
  if (byte >= '0' && byte <= '9') return byte - '0';
  if (byte >= 'a' && byte <= 'f') return byte - 'a' + 10;
  if (byte >= 'A' && byte <= 'F') return byte - 'A' + 10;
  return -1;
}

/* The 4 hex digits of a \u escape at text[offset] ('\\' 'u' XXXX), or -1. */
static long read_hex4(const JsonParser *parser, size_t offset) {
  if (offset + 6 > parser->length || parser->text[offset] != '\\' || parser->text[offset + 1] != 'u')
    return -1;
  long value = 0;
  for (size_t index = 2; index < 6; index++) {
    int digit = hex_digit_value(parser->text[offset + index]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/* escape := '\' ( '"' | '\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' | 'u' XXXX [ '\' 'u' XXXX ] ) */
static int parse_escape(JsonParser *parser) {
  size_t start = parser->position;
  if (start + 1 >= parser->length) return FAIL_AT(parser, start, "unterminated string");
  unsigned char letter = parser->text[start + 1];
  static const char simple_letters[] = "\"\\/bfnrt", simple_values[] = "\"\\/\b\f\n\r\t";
  const char *simple = letter ? strchr(simple_letters, letter) : NULL;
  if (simple) {
    byte_buffer_append_byte(&parser->string_buffer, (unsigned char)simple_values[simple - simple_letters]);
    parser->position += 2;
    return 1;
  }
  if (letter != 'u') {
    char found[32];
    return FAIL_AT(parser, start, "invalid escape '\\' followed by %s", describe_at(parser, start + 1, found));
  }
  long unit = read_hex4(parser, start);
  if (unit < 0) return FAIL_AT(parser, start, "a \\u escape needs 4 hex digits");
  parser->position += 6;
  if (unit >= 0xDC00 && unit <= 0xDFFF)
    return FAIL_AT(parser, start, "lone low surrogate \\u%04lX", unit);
  if (unit >= 0xD800 && unit <= 0xDBFF) {
    long low = read_hex4(parser, parser->position);
    if (low < 0xDC00 || low > 0xDFFF)
      return FAIL_AT(parser, start, "lone high surrogate \\u%04lX (a low surrogate \\uDC00..\\uDFFF must follow)", unit);
    parser->position += 6;
    unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
  }
  utf8_append(&parser->string_buffer, (uint32_t)unit);
  return 1;
}

/* string := '"' { character | escape } '"'; leaves the decoded text in parser->string_buffer. */
static int parse_string_text(JsonParser *parser) {
  size_t start = parser->position;
  parser->position++;
  parser->string_buffer.length = 0;
  byte_buffer_append(&parser->string_buffer, "", 0);
  for (;;) {
    size_t run = parser->position;
    while (run < parser->length) {
      unsigned char byte = parser->text[run];
      if (byte == '"' || byte == '\\' || byte < 0x20 || byte >= 0x80) break;
      run++;
    }
    byte_buffer_append(&parser->string_buffer, parser->text + parser->position, run - parser->position);
    parser->position = run;
    if (run >= parser->length) return FAIL_AT(parser, start, "unterminated string");
    unsigned char byte = parser->text[run];
    if (byte == '"') {
      parser->position++;
      return 1;
    }
    if (byte == '\\') {
      if (!parse_escape(parser)) return 0;
    } else if (byte < 0x20) {
      return FAIL_AT(parser, run, "control character U+%04X in a string (write it as \\u%04X)", byte, byte);
    } else {
      uint32_t code_point;
      if (!utf8_decode(parser->text, parser->length, &parser->position, &code_point))
        return FAIL_AT(parser, run, "invalid UTF-8 byte 0x%02X in a string", byte);
      byte_buffer_append(&parser->string_buffer, parser->text + run, parser->position - run);
    }
  }
}

/* The decoded string in string_buffer, copied into the arena (NUL-terminated). */
static const char *keep_string(JsonParser *parser) {
  char *copy = arena_allocate(parser->document, parser->string_buffer.length + 1);
  memcpy(copy, parser->string_buffer.bytes, parser->string_buffer.length + 1);
  return copy;
}

static const JsonValue *parse_string(JsonParser *parser) {
  size_t start = parser->position;
  if (!parse_string_text(parser)) return NULL;
  JsonValue *value = new_value(parser, JSON_STRING, start);
  value->string = keep_string(parser);
  value->string_length = parser->string_buffer.length;
  return value;
}

static size_t skip_digits(const JsonParser *parser, size_t position) {
  while (position < parser->length && parser->text[position] >= '0' && parser->text[position] <= '9')
    position++;
  return position;
}

static const JsonValue *parse_number(JsonParser *parser) {
  size_t start = parser->position, position = start;
  if (parser->text[position] == '-') position++;
  if (position >= parser->length || parser->text[position] < '0' || parser->text[position] > '9')
    return fail_at(parser, position, "expected a digit after '-'");
  if (parser->text[position] == '0' && position + 1 < parser->length &&
      parser->text[position + 1] >= '0' && parser->text[position + 1] <= '9')
    return fail_at(parser, position, "a number may not start with a leading zero");
  position = skip_digits(parser, position);
  int is_integer = 1;
  if (position < parser->length && parser->text[position] == '.') {
    is_integer = 0;
    size_t digits = position + 1;
    position = skip_digits(parser, digits);
    if (position == digits) return fail_at(parser, digits, "expected a digit after '.'");
  }
  if (position < parser->length && (parser->text[position] == 'e' || parser->text[position] == 'E')) {
    is_integer = 0;
    position++;
    if (position < parser->length && (parser->text[position] == '+' || parser->text[position] == '-'))
      position++;
    size_t digits = position;
    position = skip_digits(parser, digits);
    if (position == digits) return fail_at(parser, digits, "expected a digit in the exponent");
  }
  JsonValue *value = new_value(parser, JSON_NUMBER, start);
  char *literal = arena_allocate(parser->document, position - start + 1);
  memcpy(literal, parser->text + start, position - start);
  literal[position - start] = '\0';
  value->string = literal;
  value->string_length = position - start;
  value->number = strtod(literal, NULL);
  if (is_integer) {
    errno = 0;
    long long integer = strtoll(literal, NULL, 10);
    value->is_integer = errno != ERANGE;
    value->integer = integer;
  }
  parser->position = position;
  return value;
}

static const JsonValue *parse_literal(JsonParser *parser) {
  static const struct {
    const char *word;
    JsonKind kind;
    int boolean;
  } literals[] = {{"true", JSON_BOOLEAN, 1}, {"false", JSON_BOOLEAN, 0}, {"null", JSON_NULL, 0}};
  size_t start = parser->position;
  for (size_t index = 0; index < sizeof literals / sizeof literals[0]; index++) {
    size_t length = strlen(literals[index].word);
    if (parser->length - start >= length && memcmp(parser->text + start, literals[index].word, length) == 0) {
      JsonValue *value = new_value(parser, literals[index].kind, start);
      value->boolean = literals[index].boolean;
      parser->position += length;
      return value;
    }
  }
  char found[32];
  return fail_at(parser, start, "expected a value, found %s", describe_at(parser, start, found));
}

static void push_item(JsonParser *parser, const JsonValue *item) {
  if (parser->item_count == parser->item_capacity) {
    parser->item_capacity = parser->item_capacity ? parser->item_capacity * 2 : 256;
    parser->item_stack = DATA_REALLOCATE(parser->item_stack, parser->item_capacity, const JsonValue *);
  }
  parser->item_stack[parser->item_count++] = item;
}

static void push_member(JsonParser *parser, JsonMember member) {
  if (parser->member_count == parser->member_capacity) {
    parser->member_capacity = parser->member_capacity ? parser->member_capacity * 2 : 256;
    parser->member_stack = DATA_REALLOCATE(parser->member_stack, parser->member_capacity, JsonMember);
  }
  parser->member_stack[parser->member_count++] = member;
}

/* After a value inside a container: ',' then more, or the closing byte. Returns 1 for more, 0
 * when closed, -1 on error. */
static int after_element(JsonParser *parser, unsigned char closing) {
  skip_white_space(parser);
  if (parser->position < parser->length && parser->text[parser->position] == ',') {
    size_t comma = parser->position++;
    skip_white_space(parser);
    if (parser->position < parser->length && parser->text[parser->position] == closing) {
      fail_at(parser, comma, "trailing comma before '%c'", closing);
      return -1;
    }
    return 1;
  }
  if (parser->position < parser->length && parser->text[parser->position] == closing) {
    parser->position++;
    return 0;
  }
  char found[32];
  fail_at(parser, parser->position, "expected ',' or '%c', found %s", closing,
          describe_at(parser, parser->position, found));
  return -1;
}

/* Steps over the opening byte of a container; returns 0 when the closing byte follows at once
 * (and steps over it too), 1 when elements follow. */
static int open_container(JsonParser *parser, unsigned char closing) {
  parser->position++;
  skip_white_space(parser);
  if (parser->position < parser->length && parser->text[parser->position] == closing) {
    parser->position++;
    return 0;
  }
  return 1;
}

static const JsonValue *parse_array(JsonParser *parser, int depth) {
  JsonValue *array = new_value(parser, JSON_ARRAY, parser->position);
  size_t base = parser->item_count;
  int more = open_container(parser, ']');
  while (more == 1) {
    const JsonValue *item = parse_value(parser, depth + 1);
    if (!item) return NULL;
    push_item(parser, item);
    more = after_element(parser, ']');
  }
  if (more < 0) return NULL;
  array->count = parser->item_count - base;
  const JsonValue **items = arena_allocate(parser->document, array->count * sizeof *items);
  if (array->count) memcpy(items, parser->item_stack + base, array->count * sizeof *items);
  array->items = items;
  parser->item_count = base;
  return array;
}

static int compare_member_keys(const void *left_pointer, const void *right_pointer) {
  const JsonMember *left = *(const JsonMember *const *)left_pointer;
  const JsonMember *right = *(const JsonMember *const *)right_pointer;
  size_t common = left->key_length < right->key_length ? left->key_length : right->key_length;
  int order = memcmp(left->key, right->key, common);
  if (order) return order;
  if (left->key_length != right->key_length) return left->key_length < right->key_length ? -1 : 1;
  return left < right ? -1 : left > right; /* equal keys: file order */
}

/* The first key (in file order) that repeats an earlier one in members, or NULL. */
static const JsonMember *first_duplicate_key(const JsonMember *members, size_t count) {
  if (count < 2) return NULL;
  const JsonMember **sorted = DATA_ALLOCATE(count, const JsonMember *);
  for (size_t index = 0; index < count; index++) sorted[index] = &members[index];
  qsort(sorted, count, sizeof *sorted, compare_member_keys);
  const JsonMember *first = NULL;
  for (size_t index = 1; index < count; index++) {
    const JsonMember *previous = sorted[index - 1], *current = sorted[index];
    if (previous->key_length == current->key_length &&
        memcmp(previous->key, current->key, current->key_length) == 0 && (!first || current < first))
      first = current;
  }
  free(sorted);
  return first;
}

static const JsonValue *parse_object(JsonParser *parser, int depth) {
  JsonValue *object = new_value(parser, JSON_OBJECT, parser->position);
  size_t base = parser->member_count;
  int more = open_container(parser, '}');
  while (more == 1) {
    char found[32];
    if (parser->position >= parser->length || parser->text[parser->position] != '"')
      return fail_at(parser, parser->position, "expected a string key, found %s",
                     describe_at(parser, parser->position, found));
    JsonMember member;
    member.offset = parser->position;
    position_of(parser, parser->position, &member.line, &member.column);
    if (!parse_string_text(parser)) return NULL;
    member.key = keep_string(parser);
    member.key_length = parser->string_buffer.length;
    skip_white_space(parser);
    if (parser->position >= parser->length || parser->text[parser->position] != ':')
      return fail_at(parser, parser->position, "expected ':' after the key \"%s\", found %s", member.key,
                     describe_at(parser, parser->position, found));
    parser->position++;
    skip_white_space(parser);
    member.value = parse_value(parser, depth + 1);
    if (!member.value) return NULL;
    push_member(parser, member);
    more = after_element(parser, '}');
  }
  if (more < 0) return NULL;
  object->count = parser->member_count - base;
  JsonMember *members = arena_allocate(parser->document, object->count * sizeof *members);
  if (object->count) memcpy(members, parser->member_stack + base, object->count * sizeof *members);
  object->members = members;
  parser->member_count = base;
  const JsonMember *duplicate = first_duplicate_key(members, object->count);
  if (duplicate) return fail_at(parser, duplicate->offset, "duplicate key \"%s\" in one object", duplicate->key);
  return object;
}

static const JsonValue *parse_value(JsonParser *parser, int depth) {
  skip_white_space(parser);
  if (parser->position >= parser->length)
    return fail_at(parser, parser->position, "expected a value, found the end of the file");
  if (depth > JSON_MAX_DEPTH)
    return fail_at(parser, parser->position, "arrays and objects nested deeper than %d", JSON_MAX_DEPTH);
  unsigned char byte = parser->text[parser->position];
  if (byte == '{') return parse_object(parser, depth);
  if (byte == '[') return parse_array(parser, depth);
  if (byte == '"') return parse_string(parser);
  if (byte == '-' || (byte >= '0' && byte <= '9')) return parse_number(parser);
  return parse_literal(parser);
}

int json_parse(const char *path, const char *text, size_t length, JsonDocument **document,
               char *error, size_t error_size) {
  JsonDocument *parsed = DATA_ALLOCATE(1, JsonDocument);
  parsed->path = DATA_ALLOCATE(strlen(path) + 1, char);
  memcpy(parsed->path, path, strlen(path) + 1);
  JsonParser parser = {.document = parsed,
                       .text = (const unsigned char *)text,
                       .length = length,
                       .cursor_line = 1,
                       .cursor_column = 1,
                       .error = error,
                       .error_size = error_size};
  const JsonValue *root = NULL;
  if (length >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
    fail_at(&parser, 0, "a byte order mark (U+FEFF) before the value is not allowed");
  } else {
    root = parse_value(&parser, 0);
    skip_white_space(&parser);
    if (root && parser.position < length) {
      char found[32];
      root = fail_at(&parser, parser.position, "expected the end of the file after the value, found %s",
                     describe_at(&parser, parser.position, found));
    }
  }
  free(parser.item_stack);
  free(parser.member_stack);
  byte_buffer_free(&parser.string_buffer);
  if (!root) {
    json_document_destroy(parsed);
    *document = NULL;
    return 0;
  }
  parsed->root = root;
  *document = parsed;
  return 1;
}

int json_read_file(const char *path, JsonDocument **document, char *error, size_t error_size) {
  *document = NULL;
  FILE *file = fopen(path, "rb");
  if (!file) {
    snprintf(error, error_size, "%s: error: cannot open: %s", path, strerror(errno));
    return 0;
  }
  ByteBuffer contents = {0};
  char chunk[1 << 16];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, file)) > 0) byte_buffer_append(&contents, chunk, got);
  int read_failed = ferror(file);
  fclose(file);
  if (read_failed) {
    snprintf(error, error_size, "%s: error: cannot read (is it a directory?)", path);
    byte_buffer_free(&contents);
    return 0;
  }
  int parsed = json_parse(path, contents.bytes ? contents.bytes : "", contents.length, document, error, error_size);
  byte_buffer_free(&contents);
  return parsed;
}

const JsonValue *json_document_root(const JsonDocument *document) { return document->root; }
const char *json_document_path(const JsonDocument *document) { return document->path; }

void json_document_destroy(JsonDocument *document) {
  if (!document) return;
  while (document->blocks) {
    ArenaBlock *next = document->blocks->next;
    free(document->blocks->bytes);
    free(document->blocks);
    document->blocks = next;
  }
  free(document->path);
  free(document);
}

const JsonValue *json_object_find(const JsonValue *object, const char *key) {
  if (!object || object->kind != JSON_OBJECT) return NULL;
  size_t key_length = strlen(key);
  for (size_t index = 0; index < object->count; index++)
    if (object->members[index].key_length == key_length &&
        memcmp(object->members[index].key, key, key_length) == 0)
      return object->members[index].value;
  return NULL;
}

const char *json_kind_name(JsonKind kind) {
  static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
  return names[kind];
}

void json_write_string(FILE *out, const char *text) {
  fputc('"', out);
  for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(out, "\\%c", *c);
    else if (*c == '\n') fputs("\\n", out);
    else if (*c < 0x20) fprintf(out, "\\u%04x", *c);
    else fputc(*c, out);
  }
  fputc('"', out);
}
