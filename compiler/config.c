/* config.c — perftc --config FILE.json: the sizes of a Hugging Face model's config.json as dims.
 *
 * A dim declared `dim D = 2048 config hidden_size` takes the number under "hidden_size"; a boolean
 * is 0 or 1; a number must be a whole number from 0 to 2^31-1. -DNAME=VALUE still wins over the file.
 * The values are handed to the elaborator as overrides, after those from -D, so -D comes first.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ast.h"
#include "json.h"

int config_read_dims(const AstProgram *program, const char *path, DimOverride *overrides, int *num_overrides,
                     int capacity) {
  JsonDocument *document = NULL;
  char error[1024];
  if (!json_read_file(path, &document, error, sizeof error)) {
    fprintf(stderr, "%s\n", error);
    return 0;
  }
  const JsonValue *root = json_document_root(document);
  int ok = 1, used = 0;
  if (root->kind != JSON_OBJECT) {
    fprintf(stderr, "%s:%d:%d: error: a config is a JSON object, this is %s\n", path, root->line, root->column,
            json_kind_name(root->kind));
    ok = 0;
  }
  for (int i = 0; ok && i < program->decls.count; i++) {
    const AstDecl *decl = program->decls.items[i];
    if (decl->kind != DECL_DIM || !decl->config_key) continue;
    used = 1;
    int given = 0;
    for (int j = 0; j < *num_overrides; j++) given |= strcmp(overrides[j].name, decl->name) == 0;
    if (given) continue; /* -D wins */
    const JsonValue *value = json_object_find(root, decl->config_key);
    long long number = -1;
    if (!value) {
      fprintf(stderr, "perftc: error: %s has no \"%s\" (dim %s at %s:%d reads it)\n", path, decl->config_key,
              decl->name, decl->loc.file, decl->loc.line);
      ok = 0;
      continue;
    }
    if (value->kind == JSON_BOOLEAN) number = value->boolean;
    else if (value->kind == JSON_NUMBER && value->number >= 0 && value->number < 2147483648.0 &&
             floor(value->number) == value->number)
      number = (long long)value->number;
    if (number < 0) {
      fprintf(stderr, "%s:%d:%d: error: \"%s\" is %s%s%s, but dim %s needs a whole number from 0 to 2^31-1\n", path,
              value->line, value->column, decl->config_key, json_kind_name(value->kind),
              value->kind == JSON_NUMBER ? " " : "", value->kind == JSON_NUMBER ? value->string : "", decl->name);
      ok = 0;
      continue;
    }
    if (*num_overrides == capacity) {
      fprintf(stderr, "perftc: error: more than %d dims given by -D and --config\n", capacity);
      ok = 0;
      break;
    }
    overrides[(*num_overrides)++] = (DimOverride){strdup(decl->name), number};
  }
  if (ok && !used) {
    fprintf(stderr, "perftc: error: --config %s: the program reads no config key (write `dim NAME = VALUE config KEY`)\n",
            path);
    ok = 0;
  }
  json_document_destroy(document);
  return ok;
}
