/* dataset.c: a JSON array of {"instruction", "input", "output"} objects -> DatasetRecord[]
 * (dataset.h), every refusal naming the file, line:column and record index. */
#include "dataset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define RECORD_FORM "an object with string fields \"instruction\", \"output\" and (optionally) \"input\""

static int fail(const char *path, const JsonValue *at, char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(const char *path, const JsonValue *at, char *error, size_t error_size, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  json_format_error(error, error_size, path, at->line, at->column, format, arguments);
  va_end(arguments);
  return 0;
}

/* Reads object[name] into *text: a string; absent is "" when optional, else an error. */
static int read_field(const char *path, const JsonValue *object, size_t index, const char *name,
                      int optional, const char **text, size_t *length, char *error, size_t error_size) {
  const JsonValue *value = json_object_find(object, name);
  *text = "";
  *length = 0;
  if (!value) {
    if (optional) return 1;
    return fail(path, object, error, error_size, "record %zu (0-based): missing field \"%s\" (a string)",
                index, name);
  }
  if (value->kind != JSON_STRING)
    return fail(path, value, error, error_size, "record %zu (0-based): field \"%s\" is %s, expected a string",
                index, name, json_kind_name(value->kind));
  *text = value->string;
  *length = value->string_length;
  return 1;
}

static int read_record(const char *path, const JsonValue *object, size_t index, DatasetRecord *record,
                       char *error, size_t error_size) {
  if (object->kind != JSON_OBJECT)
    return fail(path, object, error, error_size, "record %zu (0-based): expected " RECORD_FORM ", found %s",
                index, json_kind_name(object->kind));
  PromptFields *fields = &record->fields;
  record->line = object->line;
  record->column = object->column;
  return read_field(path, object, index, "instruction", 0, &fields->instruction, &fields->instruction_length,
                    error, error_size) &&
         read_field(path, object, index, "input", 1, &fields->input, &fields->input_length, error,
                    error_size) &&
         read_field(path, object, index, "output", 0, &fields->output, &fields->output_length, error,
                    error_size);
}

int dataset_load(const char *path, Dataset *dataset, char *error, size_t error_size) {
  *dataset = (Dataset){0};
  if (!json_read_file(path, &dataset->document, error, error_size)) return 0;
  const JsonValue *root = json_document_root(dataset->document);
  int ok = 1;
  if (root->kind != JSON_ARRAY)
    ok = fail(path, root, error, error_size, "expected a JSON array of records (each " RECORD_FORM "), found %s",
              json_kind_name(root->kind));
  else if (root->count == 0)
    ok = fail(path, root, error, error_size, "the array holds no records (nothing to train on)");
  if (ok) {
    dataset->records = DATA_ALLOCATE(root->count, DatasetRecord);
    dataset->count = root->count;
    for (size_t index = 0; ok && index < root->count; index++)
      ok = read_record(path, root->items[index], index, &dataset->records[index], error, error_size);
  }
  if (!ok) dataset_destroy(dataset);
  return ok;
}

void dataset_destroy(Dataset *dataset) {
  json_document_destroy(dataset->document);
  free(dataset->records);
  *dataset = (Dataset){0};
}
