/* tokenizer_load.c: reads a Hugging Face tokenizer.json into a Tokenizer (see tokenizer.h).
 *
 * The file is read with json.c, then every part is checked against what tokenizer.c implements
 * and refused otherwise, with the position of the value that is not implemented:
 *   tokenizer.json:12:17: error: normalizer type "NFKC" is not supported (supported: null, NFC)
 * Ids follow the tokenizers library (serialization.rs, added_vocabulary.rs): an added token whose
 * content is in the vocabulary has that id, the others the next ids after the vocabulary, and a
 * file whose "id" says otherwise is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt2_split.h"
#include "json.h"
#include "tokenizer.h"
#include "unicode.h"

typedef struct {
  const char *path;
  char *error;
  size_t error_size;
  Tokenizer *tokenizer;
} Loader;

/* "PATH:LINE:COLUMN: error: MESSAGE" at value; returns 0 for the caller. */
static int fail(Loader *loader, const JsonValue *at, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(Loader *loader, const JsonValue *at, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  json_format_error(loader->error, loader->error_size, loader->path, at->line, at->column, format, arguments);
  va_end(arguments);
  return 0;
}

static char *copy_bytes(const char *bytes, size_t length) {
  char *copy = DATA_ALLOCATE(length + 1, char);
  if (length) memcpy(copy, bytes, length);
  return copy;
}

static int expect_kind(Loader *loader, const JsonValue *value, JsonKind kind, const char *what) {
  if (value->kind == kind) return 1;
  return fail(loader, value, "%s must be %s, not %s", what, json_kind_name(kind), json_kind_name(value->kind));
}

/* Refuses any key of object that is not in allowed (NULL-terminated). */
static int check_keys(Loader *loader, const JsonValue *object, const char *what, const char *const *allowed) {
  for (size_t index = 0; index < object->count; index++) {
    const JsonMember *member = &object->members[index];
    int known = 0;
    for (const char *const *key = allowed; *key && !known; key++)
      known = strlen(*key) == member->key_length && memcmp(*key, member->key, member->key_length) == 0;
    if (!known) {
      JsonValue at = {.line = member->line, .column = member->column};
      return fail(loader, &at, "%s has the key \"%s\", which is not supported", what, member->key);
    }
  }
  return 1;
}

/* The member key of object (an object) as *value: NULL when absent (or null, when nullable).
 * A required member that is absent, or one of another kind, is an error. */
static int find_member(Loader *loader, const JsonValue *object, const char *what, const char *key,
                       JsonKind kind, int required, int nullable, const JsonValue **value) {
  *value = json_object_find(object, key);
  if (!*value) {
    if (required) return fail(loader, object, "%s has no \"%s\"", what, key);
    return 1;
  }
  if (nullable && (*value)->kind == JSON_NULL) {
    *value = NULL;
    return 1;
  }
  char description[160];
  snprintf(description, sizeof description, "\"%s\" of %s", key, what);
  return expect_kind(loader, *value, kind, description);
}

static int read_flag(Loader *loader, const JsonValue *object, const char *what, const char *key,
                     int required, int default_value, int *flag) {
  const JsonValue *value;
  if (!find_member(loader, object, what, key, JSON_BOOLEAN, required, !required, &value)) return 0;
  *flag = value ? value->boolean : default_value;
  return 1;
}

/* The "type" of a component object (normalizer, pre-tokenizer, ...). */
static int read_type(Loader *loader, const JsonValue *object, const char *what, const char **type) {
  const JsonValue *value;
  if (!expect_kind(loader, object, JSON_OBJECT, what)) return 0;
  if (!find_member(loader, object, what, "type", JSON_STRING, 1, 0, &value)) return 0;
  *type = value->string;
  return 1;
}

static int read_id(Loader *loader, const JsonValue *value, const char *what, int32_t *id) {
  if (value->kind != JSON_NUMBER || !value->is_integer || value->integer < 0)
    return fail(loader, value, "%s must be a non-negative integer", what);
  if (value->integer > TOKENIZER_MAX_ID)
    return fail(loader, value, "%s %lld is above the largest supported id %d", what,
                (long long)value->integer, TOKENIZER_MAX_ID);
  *id = (int32_t)value->integer;
  return 1;
}

/* ---- model: {"type": "BPE", "vocab": {...}, "merges": [...], ...} ---- */

static int load_vocabulary(Loader *loader, const JsonValue *vocabulary, int32_t *largest_id) {
  BpeModel *model = &loader->tokenizer->model;
  int32_t id;
  *largest_id = -1;
  for (size_t index = 0; index < vocabulary->count; index++) {
    if (!read_id(loader, vocabulary->members[index].value, "a vocabulary id", &id)) return 0;
    if (id > *largest_id) *largest_id = id;
  }
  const char **text_of_id = DATA_ALLOCATE((size_t)(*largest_id + 1), const char *);
  int ok = 1;
  for (size_t index = 0; index < vocabulary->count && ok; index++) {
    const JsonMember *member = &vocabulary->members[index];
    id = (int32_t)member->value->integer;
    if (text_of_id[id])
      ok = fail(loader, member->value, "id %d is given to both \"%s\" and \"%s\"", id, text_of_id[id], member->key);
    text_of_id[id] = member->key;
    bpe_add_token(model, member->key, member->key_length, id);
  }
  free(text_of_id);
  return ok;
}

/* One merge: left and right must be tokens, and so must left followed by right. */
static int add_merge(Loader *loader, const JsonValue *at, const char *left, size_t left_length,
                     const char *right, size_t right_length, uint32_t rank) {
  BpeModel *model = &loader->tokenizer->model;
  int32_t left_id = bpe_find_token(model, left, left_length);
  int32_t right_id = bpe_find_token(model, right, right_length);
  if (left_id < 0) return fail(loader, at, "merge %u: \"%.*s\" is not in the vocabulary", rank, (int)left_length, left);
  if (right_id < 0) return fail(loader, at, "merge %u: \"%.*s\" is not in the vocabulary", rank, (int)right_length, right);
  char *joined = DATA_ALLOCATE(left_length + right_length + 1, char);
  memcpy(joined, left, left_length);
  memcpy(joined + left_length, right, right_length);
  int32_t merged = bpe_find_token(model, joined, left_length + right_length);
  free(joined);
  if (merged < 0)
    return fail(loader, at, "merge %u: \"%.*s%.*s\" is not in the vocabulary", rank, (int)left_length,
                left, (int)right_length, right);
  bpe_set_merge(model, left_id, right_id, rank, merged);
  return 1;
}

/* "merges": ["a b", ...] (lines starting "#version" skipped, as the library does) or
 * [["a", "b"], ...]; the rank of a merge is its index. */
static int load_merges(Loader *loader, const JsonValue *merges) {
  int as_pairs = merges->count > 0 && merges->items[0]->kind == JSON_ARRAY;
  uint32_t rank = 0;
  for (size_t index = 0; index < merges->count; index++) {
    const JsonValue *merge = merges->items[index];
    if (as_pairs) {
      if (merge->kind != JSON_ARRAY || merge->count != 2 || merge->items[0]->kind != JSON_STRING ||
          merge->items[1]->kind != JSON_STRING)
        return fail(loader, merge, "a merge must be [\"left\", \"right\"] like the first one");
      if (!add_merge(loader, merge, merge->items[0]->string, merge->items[0]->string_length,
                     merge->items[1]->string, merge->items[1]->string_length, rank++))
        return 0;
      continue;
    }
    if (merge->kind != JSON_STRING)
      return fail(loader, merge, "a merge must be a string \"left right\" like the first one");
    if (merge->string_length >= 8 && memcmp(merge->string, "#version", 8) == 0) continue;
    const char *space = memchr(merge->string, ' ', merge->string_length);
    const char *end = merge->string + merge->string_length;
    if (!space || memchr(space + 1, ' ', (size_t)(end - space - 1)))
      return fail(loader, merge, "the merge \"%s\" must be two tokens separated by one space", merge->string);
    if (!add_merge(loader, merge, merge->string, (size_t)(space - merge->string), space + 1,
                   (size_t)(end - space - 1), rank++))
      return 0;
  }
  return 1;
}

/* Options of the library's BPE that byte-level BPE does not use must be null or false. */
static int check_model_options(Loader *loader, const JsonValue *model_value) {
  static const char *const must_be_null[] = {"continuing_subword_prefix", "end_of_word_suffix"};
  for (size_t index = 0; index < 2; index++) {
    const JsonValue *value = json_object_find(model_value, must_be_null[index]);
    if (value && value->kind != JSON_NULL)
      return fail(loader, value, "model \"%s\" is not supported (only null)", must_be_null[index]);
  }
  const JsonValue *dropout = json_object_find(model_value, "dropout");
  if (dropout && dropout->kind != JSON_NULL && !(dropout->kind == JSON_NUMBER && dropout->number == 0.0))
    return fail(loader, dropout, "model \"dropout\" is not supported (only null: encoding would be random)");
  int byte_fallback;
  if (!read_flag(loader, model_value, "the model", "byte_fallback", 0, 0, &byte_fallback)) return 0;
  if (byte_fallback)
    return fail(loader, json_object_find(model_value, "byte_fallback"),
                "model \"byte_fallback\": true is not supported (only false)");
  return 1;
}

static int load_model(Loader *loader, const JsonValue *model_value, int32_t *largest_id) {
  static const char *const keys[] = {"type", "dropout", "unk_token", "continuing_subword_prefix",
                                     "end_of_word_suffix", "fuse_unk", "byte_fallback",
                                     "ignore_merges", "vocab", "merges", NULL};
  const char *type;
  if (!read_type(loader, model_value, "the model", &type)) return 0;
  if (strcmp(type, "BPE") != 0)
    return fail(loader, model_value, "model type \"%s\" is not supported (supported: BPE)", type);
  if (!check_keys(loader, model_value, "the BPE model", keys) || !check_model_options(loader, model_value))
    return 0;
  BpeModel *model = &loader->tokenizer->model;
  const JsonValue *vocabulary, *merges, *unknown;
  if (!read_flag(loader, model_value, "the model", "fuse_unk", 0, 0, &model->fuse_unknown) ||
      !read_flag(loader, model_value, "the model", "ignore_merges", 0, 0, &model->ignore_merges) ||
      !find_member(loader, model_value, "the model", "vocab", JSON_OBJECT, 1, 0, &vocabulary) ||
      !find_member(loader, model_value, "the model", "merges", JSON_ARRAY, 1, 0, &merges) ||
      !find_member(loader, model_value, "the model", "unk_token", JSON_STRING, 0, 1, &unknown))
    return 0;
  if (!load_vocabulary(loader, vocabulary, largest_id) || !load_merges(loader, merges)) return 0;
  model->unknown_id = -1;
  if (unknown) {
    model->unknown_id = bpe_find_token(model, unknown->string, unknown->string_length);
    if (model->unknown_id < 0)
      return fail(loader, unknown, "unk_token \"%s\" is not in the vocabulary", unknown->string);
  }
  bpe_prepare(model);
  return 1;
}

/* ---- normalizer: null or {"type": "NFC"} ---- */

static int load_normalizer(Loader *loader, const JsonValue *normalizer) {
  loader->tokenizer->normalizer = NORMALIZER_NONE;
  if (!normalizer || normalizer->kind == JSON_NULL) return 1;
  const char *type;
  if (!read_type(loader, normalizer, "the normalizer", &type)) return 0;
  if (strcmp(type, "NFC") != 0)
    return fail(loader, normalizer, "normalizer type \"%s\" is not supported (supported: null, NFC)", type);
  static const char *const keys[] = {"type", NULL};
  if (!check_keys(loader, normalizer, "the NFC normalizer", keys)) return 0;
  loader->tokenizer->normalizer = NORMALIZER_NFC;
  return 1;
}

/* ---- pre_tokenizer: ByteLevel, or Sequence [Split (GPT-2 pattern), ..., ByteLevel] ---- */

static int add_step(Loader *loader, const JsonValue *at, PreTokenizeStep step) {
  Tokenizer *tokenizer = loader->tokenizer;
  if (tokenizer->pre_tokenize_step_count == TOKENIZER_MAX_PRE_TOKENIZE_STEPS)
    return fail(loader, at, "more than %d pre-tokenizer steps are not supported", TOKENIZER_MAX_PRE_TOKENIZE_STEPS);
  tokenizer->pre_tokenize_steps[tokenizer->pre_tokenize_step_count++] = step;
  return 1;
}

/* {"type": "ByteLevel", "add_prefix_space": B, "trim_offsets": B, "use_regex": B}: also the
 * post-processor's and the decoder's form, where only the type matters. */
static int read_byte_level(Loader *loader, const JsonValue *object, const char *what,
                           int *add_prefix_space, int *use_regex) {
  static const char *const keys[] = {"type", "add_prefix_space", "trim_offsets", "use_regex", NULL};
  int trim_offsets;
  return check_keys(loader, object, what, keys) &&
         read_flag(loader, object, what, "add_prefix_space", 0, 1, add_prefix_space) &&
         read_flag(loader, object, what, "trim_offsets", 0, 1, &trim_offsets) &&
         read_flag(loader, object, what, "use_regex", 0, 1, use_regex);
}

static int load_split(Loader *loader, const JsonValue *split) {
  static const char *const keys[] = {"type", "pattern", "behavior", "invert", NULL};
  const JsonValue *pattern, *behavior, *regex;
  int invert;
  if (!check_keys(loader, split, "the Split pre-tokenizer", keys) ||
      !find_member(loader, split, "the Split pre-tokenizer", "pattern", JSON_OBJECT, 1, 0, &pattern) ||
      !find_member(loader, split, "the Split pre-tokenizer", "behavior", JSON_STRING, 1, 0, &behavior) ||
      !read_flag(loader, split, "the Split pre-tokenizer", "invert", 1, 0, &invert))
    return 0;
  regex = json_object_find(pattern, "Regex");
  if (pattern->count != 1 || !regex || regex->kind != JSON_STRING ||
      strcmp(regex->string, gpt2_split_pattern) != 0)
    return fail(loader, pattern, "Split pattern is not supported: only {\"Regex\": \"%s\"} (GPT-2's) is implemented",
                gpt2_split_pattern);
  if (strcmp(behavior->string, "Isolated") != 0)
    return fail(loader, behavior, "Split behavior \"%s\" is not supported (supported: Isolated)", behavior->string);
  if (invert) return fail(loader, split, "Split with \"invert\": true is not supported");
  return add_step(loader, split, PRE_TOKENIZE_GPT2_SPLIT);
}

static int load_byte_level_pre_tokenizer(Loader *loader, const JsonValue *byte_level) {
  int add_prefix_space, use_regex;
  if (!read_byte_level(loader, byte_level, "the ByteLevel pre-tokenizer", &add_prefix_space, &use_regex))
    return 0;
  if (add_prefix_space && !add_step(loader, byte_level, PRE_TOKENIZE_PREFIX_SPACE)) return 0;
  return !use_regex || add_step(loader, byte_level, PRE_TOKENIZE_GPT2_SPLIT);
}

static int load_pre_tokenizer(Loader *loader, const JsonValue *root) {
  static const char *const supported = "supported: ByteLevel, Sequence of Split (GPT-2 pattern) then ByteLevel";
  const JsonValue *pre_tokenizer = json_object_find(root, "pre_tokenizer");
  const char *type;
  if (!pre_tokenizer || pre_tokenizer->kind == JSON_NULL)
    return fail(loader, pre_tokenizer ? pre_tokenizer : root,
                "byte-level BPE needs a pre_tokenizer (%s)", supported);
  if (!read_type(loader, pre_tokenizer, "the pre_tokenizer", &type)) return 0;
  if (strcmp(type, "ByteLevel") == 0) return load_byte_level_pre_tokenizer(loader, pre_tokenizer);
  if (strcmp(type, "Sequence") != 0)
    return fail(loader, pre_tokenizer, "pre_tokenizer type \"%s\" is not supported (%s)", type, supported);
  static const char *const keys[] = {"type", "pretokenizers", NULL};
  const JsonValue *steps;
  if (!check_keys(loader, pre_tokenizer, "the Sequence pre-tokenizer", keys) ||
      !find_member(loader, pre_tokenizer, "the Sequence pre-tokenizer", "pretokenizers", JSON_ARRAY, 1, 0, &steps))
    return 0;
  for (size_t index = 0; index < steps->count; index++) {
    const JsonValue *step = steps->items[index];
    int last = index + 1 == steps->count;
    if (!read_type(loader, step, "a pre-tokenizer of the Sequence", &type)) return 0;
    if (strcmp(type, "Split") == 0 && !last) {
      if (!load_split(loader, step)) return 0;
    } else if (strcmp(type, "ByteLevel") == 0 && last) {
      if (!load_byte_level_pre_tokenizer(loader, step)) return 0;
    } else {
      return fail(loader, step, "pre-tokenizer \"%s\" at place %zu of the Sequence is not supported (%s)", type,
                  index + 1, supported);
    }
  }
  if (steps->count == 0)
    return fail(loader, steps, "an empty pre-tokenizer Sequence is not supported (%s)", supported);
  return 1;
}

/* ---- added_tokens: [{"id", "content", "single_word", "lstrip", "rstrip", "normalized",
 * "special"}, ...] ---- */

/* The id the library gives the next added token whose content is not in the vocabulary. */
static int32_t next_added_id(const Tokenizer *tokenizer, size_t vocabulary_size) {
  int32_t largest = -1;
  for (size_t index = 0; index < tokenizer->added_token_count; index++)
    if (tokenizer->added_tokens[index].id > largest) largest = tokenizer->added_tokens[index].id;
  if (largest < 0) return (int32_t)vocabulary_size;
  return ((size_t)largest >= vocabulary_size || vocabulary_size == 0) ? largest + 1 : (int32_t)vocabulary_size;
}

static int load_added_token(Loader *loader, const JsonValue *entry) {
  static const char *const keys[] = {"id", "content", "single_word", "lstrip", "rstrip",
                                     "normalized", "special", NULL};
  Tokenizer *tokenizer = loader->tokenizer;
  const JsonValue *id_value, *content;
  AddedToken token = {0};
  int single_word;
  if (!expect_kind(loader, entry, JSON_OBJECT, "an added token") ||
      !check_keys(loader, entry, "an added token", keys) ||
      !find_member(loader, entry, "an added token", "id", JSON_NUMBER, 1, 0, &id_value) ||
      !find_member(loader, entry, "an added token", "content", JSON_STRING, 1, 0, &content) ||
      !read_flag(loader, entry, "an added token", "single_word", 1, 0, &single_word) ||
      !read_flag(loader, entry, "an added token", "lstrip", 1, 0, &token.lstrip) ||
      !read_flag(loader, entry, "an added token", "rstrip", 1, 0, &token.rstrip) ||
      !read_flag(loader, entry, "an added token", "normalized", 1, 0, &token.normalized) ||
      !read_flag(loader, entry, "an added token", "special", 1, 0, &token.special))
    return 0;
  int32_t file_id;
  if (!read_id(loader, id_value, "an added token's id", &file_id)) return 0;
  if (content->string_length == 0) return fail(loader, content, "an added token's content may not be empty");
  if (single_word)
    return fail(loader, entry, "added token \"%s\": \"single_word\": true is not supported", content->string);
  for (size_t index = 0; index < tokenizer->added_token_count; index++)
    if (tokenizer->added_tokens[index].content_length == content->string_length &&
        memcmp(tokenizer->added_tokens[index].content, content->string, content->string_length) == 0)
      return fail(loader, content, "added token \"%s\" appears twice", content->string);
  int32_t id = bpe_find_token(&tokenizer->model, content->string, content->string_length);
  if (id < 0) id = next_added_id(tokenizer, tokenizer->model.vocabulary.count);
  if (id != file_id)
    return fail(loader, id_value, "added token \"%s\" has id %d here, but the tokenizers library gives it id %d "
                "(%s)", content->string, file_id, id,
                bpe_find_token(&tokenizer->model, content->string, content->string_length) >= 0
                    ? "its content is in the vocabulary with that id"
                    : "added tokens not in the vocabulary take the ids after it, in order");
  token.id = id;
  token.content = copy_bytes(content->string, content->string_length);
  token.content_length = content->string_length;
  ByteBuffer pattern = {0};
  if (token.normalized && tokenizer->normalizer == NORMALIZER_NFC)
    unicode_append_nfc(&pattern, (const unsigned char *)content->string, content->string_length);
  else
    byte_buffer_append(&pattern, content->string, content->string_length);
  token.pattern = pattern.bytes;
  token.pattern_length = pattern.length;
  tokenizer->added_tokens[tokenizer->added_token_count++] = token;
  return 1;
}

static int load_added_tokens(Loader *loader, const JsonValue *added_tokens) {
  Tokenizer *tokenizer = loader->tokenizer;
  added_token_matcher_init(&tokenizer->raw_matcher);
  added_token_matcher_init(&tokenizer->normalized_matcher);
  if (!added_tokens) return 1;
  tokenizer->added_tokens = DATA_ALLOCATE(added_tokens->count, AddedToken);
  for (size_t index = 0; index < added_tokens->count; index++)
    if (!load_added_token(loader, added_tokens->items[index])) return 0;
  /* The library's order of patterns: the special tokens, then the others, each in file order. */
  for (int special = 1; special >= 0; special--)
    for (size_t index = 0; index < tokenizer->added_token_count; index++) {
      const AddedToken *token = &tokenizer->added_tokens[index];
      if (token->special != special) continue;
      added_token_matcher_add(token->normalized ? &tokenizer->normalized_matcher : &tokenizer->raw_matcher,
                              tokenizer->added_tokens, (int32_t)index);
    }
  return 1;
}

/* ---- post_processor: null, ByteLevel, TemplateProcessing, or a Sequence of them ---- */

/* {"Sequence": {"id": "A", "type_id": N}} or {"SpecialToken": {"id": NAME, "type_id": N}} */
static int load_template_piece(Loader *loader, const JsonValue *piece_value,
                               const JsonValue *special_tokens, TemplatePiece *piece) {
  if (!expect_kind(loader, piece_value, JSON_OBJECT, "a template piece")) return 0;
  const JsonValue *sequence = json_object_find(piece_value, "Sequence");
  const JsonValue *special = json_object_find(piece_value, "SpecialToken");
  const JsonValue *body = sequence ? sequence : special, *name;
  if (piece_value->count != 1 || !body)
    return fail(loader, piece_value, "a template piece must be {\"Sequence\": ...} or {\"SpecialToken\": ...}");
  if (!expect_kind(loader, body, JSON_OBJECT, "a template piece") ||
      !find_member(loader, body, "a template piece", "id", JSON_STRING, 1, 0, &name))
    return 0;
  if (sequence) {
    if (strcmp(name->string, "A") != 0)
      return fail(loader, name, "the single template uses sequence \"%s\"; only \"A\" is supported", name->string);
    piece->is_sequence = 1;
    return 1;
  }
  const JsonValue *definition = json_object_find(special_tokens, name->string), *ids;
  if (!definition)
    return fail(loader, name, "template special token \"%s\" is not in \"special_tokens\"", name->string);
  if (!expect_kind(loader, definition, JSON_OBJECT, "a template special token") ||
      !find_member(loader, definition, "a template special token", "ids", JSON_ARRAY, 1, 0, &ids))
    return 0;
  piece->ids = DATA_ALLOCATE(ids->count, int32_t);
  piece->id_count = ids->count;
  for (size_t index = 0; index < ids->count; index++) {
    if (!read_id(loader, ids->items[index], "a template special token's id", &piece->ids[index])) return 0;
    const Tokenizer *tokenizer = loader->tokenizer;
    int32_t id = piece->ids[index];
    if ((size_t)id >= tokenizer->id_count || !tokenizer->id_texts[id])
      return fail(loader, ids->items[index], "template special token \"%s\" has id %d, which is not a token",
                  name->string, id);
  }
  return 1;
}

static int load_template(Loader *loader, const JsonValue *processor) {
  static const char *const keys[] = {"type", "single", "pair", "special_tokens", NULL};
  const JsonValue *single, *pair, *special_tokens;
  if (!check_keys(loader, processor, "the TemplateProcessing post-processor", keys) ||
      !find_member(loader, processor, "the template", "single", JSON_ARRAY, 1, 0, &single) ||
      !find_member(loader, processor, "the template", "pair", JSON_ARRAY, 1, 0, &pair) ||
      !find_member(loader, processor, "the template", "special_tokens", JSON_OBJECT, 1, 0, &special_tokens))
    return 0;
  Tokenizer *tokenizer = loader->tokenizer;
  tokenizer->templates = DATA_REALLOCATE(tokenizer->templates, tokenizer->template_count + 1, PostTemplate);
  PostTemplate *template = &tokenizer->templates[tokenizer->template_count++];
  template->pieces = DATA_ALLOCATE(single->count, TemplatePiece);
  template->count = single->count;
  for (size_t index = 0; index < single->count; index++)
    if (!load_template_piece(loader, single->items[index], special_tokens, &template->pieces[index])) return 0;
  return 1;
}

static int load_post_processor(Loader *loader, const JsonValue *processor) {
  if (!processor || processor->kind == JSON_NULL) return 1;
  const char *type;
  int add_prefix_space, use_regex;
  if (!read_type(loader, processor, "the post_processor", &type)) return 0;
  if (strcmp(type, "ByteLevel") == 0)
    return read_byte_level(loader, processor, "the ByteLevel post-processor", &add_prefix_space, &use_regex);
  if (strcmp(type, "TemplateProcessing") == 0) return load_template(loader, processor);
  if (strcmp(type, "Sequence") != 0)
    return fail(loader, processor, "post_processor type \"%s\" is not supported (supported: null, ByteLevel, "
                "TemplateProcessing, Sequence of them)", type);
  static const char *const keys[] = {"type", "processors", NULL};
  const JsonValue *processors;
  if (!check_keys(loader, processor, "the Sequence post-processor", keys) ||
      !find_member(loader, processor, "the Sequence post-processor", "processors", JSON_ARRAY, 1, 0, &processors))
    return 0;
  for (size_t index = 0; index < processors->count; index++)
    if (!load_post_processor(loader, processors->items[index])) return 0;
  return 1;
}

/* ---- decoder: null (token texts joined with " ") or ByteLevel ---- */

static int load_decoder(Loader *loader, const JsonValue *decoder) {
  loader->tokenizer->byte_level_decoder = 0;
  if (!decoder || decoder->kind == JSON_NULL) return 1;
  const char *type;
  int add_prefix_space, use_regex;
  if (!read_type(loader, decoder, "the decoder", &type)) return 0;
  if (strcmp(type, "ByteLevel") != 0)
    return fail(loader, decoder, "decoder type \"%s\" is not supported (supported: null, ByteLevel)", type);
  loader->tokenizer->byte_level_decoder = 1;
  return read_byte_level(loader, decoder, "the ByteLevel decoder", &add_prefix_space, &use_regex);
}

/* ---- the id table: text and special flag of every id ---- */

static void build_id_table(Tokenizer *tokenizer, int32_t largest_vocabulary_id) {
  int32_t largest = largest_vocabulary_id;
  for (size_t index = 0; index < tokenizer->added_token_count; index++)
    if (tokenizer->added_tokens[index].id > largest) largest = tokenizer->added_tokens[index].id;
  tokenizer->id_count = (size_t)(largest + 1);
  tokenizer->id_texts = DATA_ALLOCATE(tokenizer->id_count, char *);
  tokenizer->id_text_lengths = DATA_ALLOCATE(tokenizer->id_count, size_t);
  tokenizer->id_is_special = DATA_ALLOCATE(tokenizer->id_count, unsigned char);
  const StringMap *vocabulary = &tokenizer->model.vocabulary;
  for (size_t slot = 0; slot < vocabulary->capacity; slot++) {
    const StringMapSlot *entry = &vocabulary->slots[slot];
    if (!entry->key) continue;
    tokenizer->id_texts[entry->value] = copy_bytes(entry->key, entry->length);
    tokenizer->id_text_lengths[entry->value] = entry->length;
  }
  for (size_t index = 0; index < tokenizer->added_token_count; index++) {
    const AddedToken *token = &tokenizer->added_tokens[index];
    free(tokenizer->id_texts[token->id]);
    tokenizer->id_texts[token->id] = copy_bytes(token->content, token->content_length);
    tokenizer->id_text_lengths[token->id] = token->content_length;
    tokenizer->id_is_special[token->id] = (unsigned char)token->special;
  }
}

static int load_document(Loader *loader, const JsonValue *root) {
  static const char *const keys[] = {"version", "truncation", "padding", "added_tokens", "normalizer",
                                     "pre_tokenizer", "post_processor", "decoder", "model", NULL};
  const JsonValue *version, *model, *added_tokens;
  if (!expect_kind(loader, root, JSON_OBJECT, "a tokenizer.json") ||
      !check_keys(loader, root, "the tokenizer", keys) ||
      !find_member(loader, root, "the tokenizer", "version", JSON_STRING, 1, 0, &version) ||
      !find_member(loader, root, "the tokenizer", "model", JSON_OBJECT, 1, 0, &model) ||
      !find_member(loader, root, "the tokenizer", "added_tokens", JSON_ARRAY, 0, 1, &added_tokens))
    return 0;
  if (strcmp(version->string, "1.0") != 0)
    return fail(loader, version, "tokenizer version \"%s\" is not supported (supported: 1.0)", version->string);
  static const char *const must_be_null[] = {"truncation", "padding"};
  for (size_t index = 0; index < 2; index++) {
    const JsonValue *value = json_object_find(root, must_be_null[index]);
    if (value && value->kind != JSON_NULL)
      return fail(loader, value, "\"%s\" is not supported (only null: it would change the ids)", must_be_null[index]);
  }
  int32_t largest_id = -1;
  if (!load_model(loader, model, &largest_id) ||
      !load_normalizer(loader, json_object_find(root, "normalizer")) ||
      !load_added_tokens(loader, added_tokens) ||
      !load_pre_tokenizer(loader, root) ||
      !load_decoder(loader, json_object_find(root, "decoder")))
    return 0;
  build_id_table(loader->tokenizer, largest_id);
  return load_post_processor(loader, json_object_find(root, "post_processor"));
}

int tokenizer_load(const char *path, Tokenizer **tokenizer, char *error, size_t error_size) {
  *tokenizer = NULL;
  JsonDocument *document;
  if (!json_read_file(path, &document, error, error_size)) return 0;
  Tokenizer *loaded = DATA_ALLOCATE(1, Tokenizer);
  loaded->path = copy_bytes(path, strlen(path));
  Loader loader = {path, error, error_size, loaded};
  int ok = load_document(&loader, json_document_root(document));
  json_document_destroy(document);
  if (!ok) {
    tokenizer_destroy(loaded);
    return 0;
  }
  *tokenizer = loaded;
  return 1;
}
