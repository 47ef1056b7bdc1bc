/* safetensors.c: safetensors reader (mmap + a small JSON parser) and atomic writer. */
#include "safetensors.h"

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
 * Reading */

typedef struct {
  const char *cursor, *end;
  int failed;
} Json;

static void json_skip_space(Json *json) {
  while (json->cursor < json->end &&
         (*json->cursor == ' ' || *json->cursor == '\t' || *json->cursor == '\n' ||
          *json->cursor == '\r'))
    json->cursor++;
}

static int json_expect(Json *json, char c) {
  json_skip_space(json);
  if (json->cursor < json->end && *json->cursor == c) {
    json->cursor++;
    return 1;
  }
  json->failed = 1;
  return 0;
}

static int json_peek(Json *json, char c) {
  json_skip_space(json);
  return json->cursor < json->end && *json->cursor == c;
}

static void append_utf8(char *out, size_t *length, unsigned code) {
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

static int read_hex4(Json *json, unsigned *code) {
  if (json->end - json->cursor < 4) return 0;
  *code = 0;
  for (int i = 0; i < 4; i++) {
    char c = *json->cursor++;
    unsigned digit = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
    if (digit > 15) return 0;
    *code = *code * 16 + digit;
  }
  return 1;
}

/* Returns a malloc'ed, NUL-terminated string, or NULL (json->failed set). */
static char *json_string(Json *json) {
  if (!json_expect(json, '"')) return NULL;
  const char *start = json->cursor;
  while (json->cursor < json->end && *json->cursor != '"') json->cursor += (*json->cursor == '\\') ? 2 : 1;
  if (json->cursor >= json->end) {
    json->failed = 1;
    return NULL;
  }
  json->cursor = start;
  char *out = mallocCheck((size_t)(json->end - start) + 4);
  size_t length = 0;
  while (*json->cursor != '"') {
    char c = *json->cursor++;
    if (c != '\\') {
      out[length++] = c;
      continue;
    }
    c = *json->cursor++;
    switch (c) {
      case '"': case '\\': case '/': out[length++] = c; break;
      case 'b': out[length++] = '\b'; break;
      case 'f': out[length++] = '\f'; break;
      case 'n': out[length++] = '\n'; break;
      case 'r': out[length++] = '\r'; break;
      case 't': out[length++] = '\t'; break;
      case 'u': {
        unsigned code, low;
        if (!read_hex4(json, &code)) goto bad;
        if (code >= 0xD800 && code < 0xDC00 && json->end - json->cursor >= 6 &&
            json->cursor[0] == '\\' && json->cursor[1] == 'u') {
          json->cursor += 2;
          if (!read_hex4(json, &low) || low < 0xDC00 || low > 0xDFFF) goto bad;
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(out, &length, code);
        break;
      }
      default: goto bad;
    }
  }
  json->cursor++; /* closing quote */
  out[length] = '\0';
  return out;
bad:
  free(out);
  json->failed = 1;
  return NULL;
}

static int json_uint64(Json *json, uint64_t *value) {
  json_skip_space(json);
  if (json->cursor >= json->end || *json->cursor < '0' || *json->cursor > '9') {
    json->failed = 1;
    return 0;
  }
  uint64_t result = 0;
  while (json->cursor < json->end && *json->cursor >= '0' && *json->cursor <= '9') {
    uint64_t digit = (uint64_t)(*json->cursor++ - '0');
    if (result > (UINT64_MAX - digit) / 10) {
      json->failed = 1;
      return 0;
    }
    result = result * 10 + digit;
  }
  *value = result;
  return 1;
}

static void json_skip_value(Json *json, int depth) {
  json_skip_space(json);
  if (json->cursor >= json->end || depth > 64) {
    json->failed = 1;
    return;
  }
  char c = *json->cursor;
  if (c == '"') {
    free(json_string(json));
  } else if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    json->cursor++;
    if (json_peek(json, close)) {
      json->cursor++;
      return;
    }
    for (;;) {
      if (c == '{') {
        free(json_string(json));
        if (!json_expect(json, ':')) return;
      }
      json_skip_value(json, depth + 1);
      if (json->failed) return;
      if (json_peek(json, ',')) json->cursor++;
      else {
        json_expect(json, close);
        return;
      }
    }
  } else {
    /* number, true, false, null */
    const char *start = json->cursor;
    while (json->cursor < json->end && *json->cursor != ',' && *json->cursor != '}' &&
           *json->cursor != ']' && *json->cursor != ' ' && *json->cursor != '\n')
      json->cursor++;
    if (json->cursor == start) json->failed = 1;
  }
}

/* [a, b, ...] of non-negative integers, at most max_count. Returns the count or -1. */
static int json_uint64_array(Json *json, uint64_t *values, int max_count) {
  if (!json_expect(json, '[')) return -1;
  int count = 0;
  if (json_peek(json, ']')) {
    json->cursor++;
    return 0;
  }
  for (;;) {
    if (count == max_count) {
      json->failed = 1;
      return -1;
    }
    if (!json_uint64(json, &values[count++])) return -1;
    if (json_peek(json, ',')) json->cursor++;
    else if (json_expect(json, ']')) return count;
    else return -1;
  }
}

static int fail(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *error, size_t error_size, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(error, error_size, format, args);
  va_end(args);
  return 0;
}

/* Parses the header object into file->entries. */
static int parse_header(SafetensorsFile *file, const char *header, size_t header_bytes,
                        char *error, size_t error_size) {
  Json json = {header, header + header_bytes, 0};
  int capacity = 16;
  file->entries = callocCheck((size_t)capacity, sizeof(SafetensorsEntry));
  if (!json_expect(&json, '{'))
    return fail(error, error_size, "%s: header is not a JSON object (not a safetensors file?)",
                file->path);
  if (json_peek(&json, '}')) return 1;
  for (;;) {
    char *key = json_string(&json);
    if (!key || !json_expect(&json, ':')) {
      free(key);
      break;
    }
    if (strcmp(key, "__metadata__") == 0) {
      free(key);
      json_skip_value(&json, 0);
    } else {
      if (file->num_entries == capacity) {
        capacity *= 2;
        SafetensorsEntry *grown = realloc(file->entries, (size_t)capacity * sizeof *grown);
        if (!grown) perft_fatal("out of memory reading the header of %s", file->path);
        file->entries = grown;
      }
      SafetensorsEntry *entry = &file->entries[file->num_entries++];
      memset(entry, 0, sizeof *entry);
      entry->name = key;
      int has_dtype = 0, has_shape = 0, has_offsets = 0;
      if (!json_expect(&json, '{')) break;
      while (!json.failed && !json_peek(&json, '}')) {
        char *field = json_string(&json);
        if (!field || !json_expect(&json, ':')) {
          free(field);
          break;
        }
        if (strcmp(field, "dtype") == 0) {
          char *dtype = json_string(&json);
          if (dtype) {
            snprintf(entry->dtype, sizeof entry->dtype, "%s", dtype);
            has_dtype = 1;
          }
          free(dtype);
        } else if (strcmp(field, "shape") == 0) {
          uint64_t shape[PERFT_MAX_DIMS];
          int count = json_uint64_array(&json, shape, PERFT_MAX_DIMS);
          if (count >= 0) {
            entry->num_dims = count;
            for (int d = 0; d < count; d++) entry->shape[d] = (int64_t)shape[d];
            has_shape = 1;
          }
        } else if (strcmp(field, "data_offsets") == 0) {
          uint64_t offsets[2];
          if (json_uint64_array(&json, offsets, 2) == 2) {
            entry->data_begin = offsets[0];
            entry->data_end = offsets[1];
            has_offsets = 1;
          } else json.failed = 1;
        } else {
          json_skip_value(&json, 0);
        }
        free(field);
        if (json_peek(&json, ',')) json.cursor++;
      }
      if (json.failed || !json_expect(&json, '}')) break;
      if (!has_dtype || !has_shape || !has_offsets)
        return fail(error, error_size, "%s: tensor '%s' lacks dtype, shape or data_offsets",
                    file->path, entry->name);
      if (entry->data_end < entry->data_begin || entry->data_end > file->data_bytes)
        return fail(error, error_size,
                    "%s: tensor '%s' has data_offsets [%llu, %llu] outside the %llu data bytes "
                    "(truncated file?)",
                    file->path, entry->name, (unsigned long long)entry->data_begin,
                    (unsigned long long)entry->data_end, (unsigned long long)file->data_bytes);
    }
    if (json.failed) break;
    if (json_peek(&json, ',')) json.cursor++;
    else if (json_expect(&json, '}')) return 1;
    else break;
  }
  return fail(error, error_size, "%s: malformed JSON header near byte %ld", file->path,
              (long)(json.cursor - header));
}

int safetensors_open(const char *path, SafetensorsFile *file, char *error, size_t error_size) {
  memset(file, 0, sizeof *file);
  file->path = strdupCheck(path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    fail(error, error_size, "cannot open '%s': %s", path, strerror(errno));
    safetensors_close(file);
    return 0;
  }
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(fd);
    fail(error, error_size, "'%s' is not a regular file", path);
    safetensors_close(file);
    return 0;
  }
  if (info.st_size < 8) {
    close(fd);
    fail(error, error_size, "%s: file is %lld bytes, too short for a safetensors header", path,
         (long long)info.st_size);
    safetensors_close(file);
    return 0;
  }
  file->mapping_bytes = (size_t)info.st_size;
  file->mapping = mmap(NULL, file->mapping_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (file->mapping == MAP_FAILED) {
    file->mapping = NULL;
    fail(error, error_size, "cannot mmap '%s': %s", path, strerror(errno));
    safetensors_close(file);
    return 0;
  }
  const unsigned char *bytes = file->mapping;
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; i--) header_bytes = (header_bytes << 8) | bytes[i];
  if (header_bytes > MAX_HEADER_BYTES || header_bytes > file->mapping_bytes - 8) {
    fail(error, error_size,
         "%s: header length %llu does not fit in the %zu-byte file (not a safetensors file, or "
         "truncated)",
         path, (unsigned long long)header_bytes, file->mapping_bytes);
    safetensors_close(file);
    return 0;
  }
  file->data = bytes + 8 + header_bytes;
  file->data_bytes = file->mapping_bytes - 8 - header_bytes;
  if (!parse_header(file, (const char *)bytes + 8, (size_t)header_bytes, error, error_size)) {
    safetensors_close(file);
    return 0;
  }
  return 1;
}

void safetensors_close(SafetensorsFile *file) {
  if (file->mapping) munmap(file->mapping, file->mapping_bytes);
  for (int i = 0; file->entries && i < file->num_entries; i++) free(file->entries[i].name);
  free(file->entries);
  free(file->path);
  memset(file, 0, sizeof *file);
}

const SafetensorsEntry *safetensors_find(const SafetensorsFile *file, const char *name) {
  for (int i = 0; i < file->num_entries; i++)
    if (strcmp(file->entries[i].name, name) == 0) return &file->entries[i];
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
  int64_t found_elements = 1;
  for (int d = 0; d < entry->num_dims; d++) found_elements *= entry->shape[d];
  int shapes_match = entry->num_dims == expected->num_dims;
  for (int d = 0; shapes_match && d < entry->num_dims; d++)
    shapes_match = entry->shape[d] == expected->dims[d];
  if (!shapes_match && entry->num_dims == 0 && expected->num_elements == 1) shapes_match = 1;
  if (!shapes_match) {
    append_problem(problems, problems_size, "%s'%s' shape mismatch: expected [%s], found [%s]",
                   problems[0] ? "; " : "", name, wanted, entry->num_dims ? found : "");
    return 0;
  }
  const char *wanted_dtype = expected->element_type == ELEMENT_I32 ? "I32" : "F32";
  if (strcmp(entry->dtype, wanted_dtype) != 0) {
    append_problem(problems, problems_size,
                   "%s'%s' has dtype %s, expected %s (convert the file to %s)",
                   problems[0] ? "; " : "", name, entry->dtype, wanted_dtype,
                   expected->element_type == ELEMENT_I32 ? "int32" : "float32");
    return 0;
  }
  uint64_t bytes = (uint64_t)found_elements * 4; /* F32 and I32 are both 4 bytes */
  if (entry->data_end - entry->data_begin != bytes) {
    append_problem(problems, problems_size,
                   "%s'%s' holds %llu bytes, shape [%s] of %s needs %llu",
                   problems[0] ? "; " : "", name,
                   (unsigned long long)(entry->data_end - entry->data_begin), wanted, wanted_dtype,
                   (unsigned long long)bytes);
    return 0;
  }
  memcpy(out, file->data + entry->data_begin, (size_t)bytes);
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
  memset(writer, 0, sizeof *writer);
  writer->path = strdupCheck(path);
  size_t temp_size = strlen(path) + 32;
  writer->temp_path = mallocCheck(temp_size);
  snprintf(writer->temp_path, temp_size, "%s.tmp.%ld", path, (long)getpid());
  writer->num_tensors = num_tensors;
  writer->tensors = mallocCheck((size_t)(num_tensors ? num_tensors : 1) * sizeof *tensors);
  memcpy(writer->tensors, tensors, (size_t)num_tensors * sizeof *tensors);

  Text json = {mallocCheck(256), 8, 256}; /* 8 bytes reserved for the length */
  text_append(&json, "{\"__metadata__\":{\"format\":\"pt\"}");
  uint64_t offset = 0;
  for (int t = 0; t < num_tensors; t++) {
    const SafetensorsTensor *tensor = &tensors[t];
    uint64_t elements = 1;
    for (int d = 0; d < tensor->num_dims; d++) elements *= (uint64_t)tensor->shape[d];
    text_append(&json, ",");
    text_append_json_string(&json, tensor->name);
    text_append(&json, ":{\"dtype\":\"%s\",\"shape\":[",
                tensor->element_type == ELEMENT_I32 ? "I32" : "F32");
    for (int d = 0; d < tensor->num_dims; d++)
      text_append(&json, d ? ",%lld" : "%lld", (long long)tensor->shape[d]);
    text_append(&json, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                (unsigned long long)(offset + elements * sizeof(float)));
    offset += elements * sizeof(float);
  }
  text_append(&json, "}");
  while (json.length % 8) text_append(&json, " "); /* data starts 8-byte aligned */
  uint64_t header_length = json.length - 8;
  for (int i = 0; i < 8; i++) json.text[i] = (char)((header_length >> (8 * i)) & 0xFF);
  writer->header = json.text;
  writer->header_bytes = json.length;
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
  int fd = open(writer->temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(error, error_size, "cannot create '%s': %s", writer->temp_path, strerror(errno));
  int ok = write_all(fd, writer->header, writer->header_bytes);
  for (int t = 0; ok && t < writer->num_tensors; t++) {
    const SafetensorsTensor *tensor = &writer->tensors[t];
    size_t elements = 1;
    for (int d = 0; d < tensor->num_dims; d++) elements *= (size_t)tensor->shape[d];
    ok = write_all(fd, tensor->data, elements * 4); /* F32 and I32 are both 4 bytes */
  }
  if (ok) ok = fsync(fd) == 0;
  int saved_errno = errno;
  if (close(fd) != 0 && ok) {
    ok = 0;
    saved_errno = errno;
  }
  if (ok && rename(writer->temp_path, writer->path) != 0) {
    ok = 0;
    saved_errno = errno;
  }
  if (!ok) {
    unlink(writer->temp_path);
    return fail(error, error_size, "writing '%s' failed: %s (the previous file, if any, is kept)",
                writer->path, strerror(saved_errno));
  }
  sync_directory_of(writer->path);
  return 1;
}

void safetensors_writer_destroy(SafetensorsWriter *writer) {
  free(writer->path);
  free(writer->temp_path);
  free(writer->header);
  free(writer->tensors);
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
