/* test_safetensors.c: round trip, atomic writing under a failing write, every class of malformed
 * file with its exact message, FIFOs and devices, metadata, and the speed of a 200,000-tensor header.
 * Ends with one verdict line: "test_safetensors: PASS" or "test_safetensors: FAIL (n checks)". */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "safetensors.h"

#include "test_check.h"

static char directory[256];

static void path_in(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", directory, name);
}

static long file_size(const char *path) {
  struct stat info;
  return stat(path, &info) == 0 ? (long)info.st_size : -1;
}

static int count_directory_entries(void) {
  DIR *dir = opendir(directory);
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)))
    if (strcmp(entry->d_name, ".") && strcmp(entry->d_name, "..")) count++;
  closedir(dir);
  return count;
}

static double seconds_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
}

static void write_bytes(const char *path, const void *bytes, size_t size) {
  FILE *f = fopen(path, "wb");
  fwrite(bytes, 1, size, f);
  fclose(f);
}

static void test_round_trip(void) {
  int64_t shape_a[2] = {4, 3}, shape_b[1] = {1}, shape_c[3] = {2, 3, 5};
  float a[12], b[1] = {-7.25f}, c[30];
  for (int i = 0; i < 12; i++) a[i] = 0.5f * i - 1.0f;
  for (int i = 0; i < 30; i++) c[i] = 1.0f / (i + 1);
  SafetensorsTensor tensors[3] = {{"layer.0.A", 2, shape_a, a, ELEMENT_F32},
                                  {"odd \"name\"\\", 1, shape_b, b, ELEMENT_F32},
                                  {"bank", 3, shape_c, c, ELEMENT_F32}};
  char path[512], error[1024];
  path_in(path, sizeof path, "round.safetensors");
  CHECK(safetensors_write_file(path, tensors, 3, error, sizeof error));

  SafetensorsFile file;
  CHECK(safetensors_open(path, &file, error, sizeof error));
  CHECK(file.num_entries == 3);
  /* data starts 8-byte aligned */
  CHECK(((const char *)file.data - (const char *)file.mapping) % 8 == 0);
  for (int t = 0; t < 3; t++) {
    const SafetensorsEntry *entry = safetensors_find(&file, tensors[t].name);
    CHECK(entry != NULL);
    if (!entry) continue;
    CHECK(strcmp(entry->dtype, "F32") == 0);
    CHECK(entry->num_dims == tensors[t].num_dims);
    for (int d = 0; d < tensors[t].num_dims; d++) CHECK(entry->shape[d] == tensors[t].shape[d]);
  }
  TensorSpec spec = {"bank", "2x3x5", 3, {2, 3, 5}, 30, ELEMENT_F32, 0};
  float back[30];
  char problems[1024] = "";
  CHECK(safetensors_read_tensor(&file, "bank", &spec, back, problems, sizeof problems));
  CHECK(memcmp(back, c, sizeof c) == 0);
  TensorSpec scalar = {"odd", "1", 1, {1}, 1, ELEMENT_F32, 0};
  CHECK(safetensors_read_tensor(&file, "odd \"name\"\\", &scalar, back, problems, sizeof problems));
  CHECK(back[0] == -7.25f);
  /* wrong shape and missing: both reported, on one line */
  TensorSpec wrong = {"layer.0.A", "3x4", 2, {3, 4}, 12, ELEMENT_F32, 0};
  CHECK(!safetensors_read_tensor(&file, "layer.0.A", &wrong, back, problems, sizeof problems));
  CHECK(!safetensors_read_tensor(&file, "absent", &spec, back, problems, sizeof problems));
  CHECK(strstr(problems, "'layer.0.A' shape mismatch: expected [3x4], found [4x3]") != NULL);
  CHECK(strstr(problems, "'absent' missing (expected shape [2x3x5])") != NULL);
  CHECK(strchr(problems, '\n') == NULL);
  safetensors_close(&file);
}

/* I32 tensors (token ids) round trip; an I32 tensor is not read as F32, nor F32 as I32. */
static void test_i32_round_trip(void) {
  int64_t shape[2] = {2, 3};
  int32_t tokens[6] = {0, 1, -5, 2147483647, 42, 7};
  float values[6] = {0.5f, 1, 2, 3, 4, 5};
  SafetensorsTensor tensors[2] = {{"tokens", 2, shape, tokens, ELEMENT_I32},
                                  {"values", 2, shape, values, ELEMENT_F32}};
  char path[512], error[1024];
  path_in(path, sizeof path, "i32.safetensors");
  CHECK(safetensors_write_file(path, tensors, 2, error, sizeof error));
  SafetensorsFile file;
  CHECK(safetensors_open(path, &file, error, sizeof error));
  const SafetensorsEntry *entry = safetensors_find(&file, "tokens");
  CHECK(entry && strcmp(entry->dtype, "I32") == 0 && entry->data_end - entry->data_begin == 24);
  CHECK(safetensors_find(&file, "values") && !strcmp(safetensors_find(&file, "values")->dtype, "F32"));
  TensorSpec as_i32 = {"tokens", "2x3", 2, {2, 3}, 6, ELEMENT_I32, 0};
  TensorSpec as_f32 = {"tokens", "2x3", 2, {2, 3}, 6, ELEMENT_F32, 0};
  int32_t back[6];
  char problems[512] = "";
  CHECK(safetensors_read_tensor(&file, "tokens", &as_i32, back, problems, sizeof problems));
  CHECK(memcmp(back, tokens, sizeof tokens) == 0);
  CHECK(!safetensors_read_tensor(&file, "tokens", &as_f32, back, problems, sizeof problems));
  CHECK(strstr(problems, "'tokens' has dtype I32, expected F32") != NULL);
  problems[0] = '\0';
  CHECK(!safetensors_read_tensor(&file, "values", &as_i32, back, problems, sizeof problems));
  CHECK(strstr(problems, "'values' has dtype F32, expected I32") != NULL);
  safetensors_close(&file);
}

/* A write that fails half-way (file size limit) must keep the old file and leave no temp file. */
static void test_atomic_failure(void) {
  char path[512], error[1024];
  path_in(path, sizeof path, "atomic.safetensors");
  int64_t small_shape[1] = {4};
  float small[4] = {1, 2, 3, 4};
  SafetensorsTensor old_tensor = {"w", 1, small_shape, small, ELEMENT_F32};
  CHECK(safetensors_write_file(path, &old_tensor, 1, error, sizeof error));
  long old_size = file_size(path);
  int entries_before = count_directory_entries();

  pid_t child = fork();
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {4096, 4096};
    setrlimit(RLIMIT_FSIZE, &limit);
    static float big[100000];
    int64_t big_shape[1] = {100000};
    SafetensorsTensor new_tensor = {"w", 1, big_shape, big, ELEMENT_F32};
    int ok = safetensors_write_file(path, &new_tensor, 1, error, sizeof error);
    if (!ok) fprintf(stderr, "expected failure: %s\n", error);
    _exit(ok ? 1 : 0); /* success of the write would be the bug */
  }
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(file_size(path) == old_size);
  CHECK(count_directory_entries() == entries_before); /* no temp file left behind */
  SafetensorsFile file;
  CHECK(safetensors_open(path, &file, error, sizeof error));
  TensorSpec spec = {"w", "4", 1, {4}, 4, ELEMENT_F32, 0};
  float back[4];
  char problems[256] = "";
  CHECK(safetensors_read_tensor(&file, "w", &spec, back, problems, sizeof problems));
  CHECK(memcmp(back, small, sizeof small) == 0);
  safetensors_close(&file);

  /* a directory that does not exist: clean error, nothing created */
  char missing[600];
  snprintf(missing, sizeof missing, "%s/no/such/dir/x.safetensors", directory);
  CHECK(!safetensors_write_file(missing, &old_tensor, 1, error, sizeof error));
  CHECK(strstr(error, "no/such/dir") != NULL);
}

/* Writes a safetensors file by hand: the 8-byte length of header, header, data_bytes zero bytes. */
static void write_safetensors(const char *path, const char *header, size_t header_length,
                              size_t data_bytes) {
  size_t size = 8 + header_length + data_bytes;
  unsigned char *bytes = calloc(size, 1);
  for (int i = 0; i < 8; i++) bytes[i] = (unsigned char)((uint64_t)header_length >> (8 * i));
  memcpy(bytes + 8, header, header_length);
  write_bytes(path, bytes, size);
  free(bytes);
}

/* Opening path must fail with exactly `expected`. */
static void expect_open_error(const char *label, const char *path, const char *expected) {
  char error[2048] = "";
  SafetensorsFile file;
  if (safetensors_open(path, &file, error, sizeof error)) {
    fprintf(stderr, "%s: accepted, expected: %s\n", label, expected);
    safetensors_close(&file);
    failures++;
  } else if (strcmp(error, expected) != 0) {
    fprintf(stderr, "%s:\n  expected: %s\n  found:    %s\n", label, expected, error);
    failures++;
  }
}

/* One malformed header: CASE.safetensors with `header` and data_bytes of data must be refused with
 * "PATH: message". */
typedef struct {
  const char *name;
  const char *header;
  size_t data_bytes;
  const char *message;
} MalformedCase;

static const MalformedCase MALFORMED[] = {
    /* the header is not one JSON object */
    {"not_json", "PK\x03\x04 a zip file", 0,
     "malformed JSON at header byte 0: expected '{' opening the header (not a safetensors "
     "file?), found 'P'"},
    {"not_object", "[1,2]", 0,
     "malformed JSON at header byte 0: expected '{' opening the header (not a safetensors "
     "file?), found '['"},
    {"unclosed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8,
     "malformed JSON at header byte 53: expected ',' or '}' after a header member, found the end "
     "of the header"},
    {"trailing_comma", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},}", 8,
     "malformed JSON at header byte 54: expected a tensor name, found '}'"},
    {"trailing_garbage", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} xyz", 8,
     "trailing garbage after the header's JSON object: 3 bytes from header byte 55"},
    {"second_object", "{}{}", 0, "trailing garbage after the header's JSON object: 2 bytes from header byte 2"},
    {"unterminated_string", "{\"a", 0,
     "malformed JSON: a tensor name runs to the end of the header without its closing quote"},
    {"bad_escape", "{\"a\\q\":{}}", 0,
     "malformed JSON at header byte 4: expected an escape (one of \\\" \\\\ \\/ \\b \\f \\n \\r "
     "\\t \\u), found 'q'"},
    {"short_unicode_escape", "{\"a\\u12", 0,
     "malformed JSON at header byte 7: expected a hex digit of a \\u escape, found the end of the "
     "header"},
    /* names */
    {"duplicate_name",
     "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16,
     "tensor 'w': named twice in the header (members 1 and 2)"},
    {"nul_in_name",
     "{\"w\\u0000x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
     "a tensor name contains \\u0000 (NUL) at header byte 3 (it would read as 'w')"},
    {"lone_high_surrogate", "{\"w\\ud800\":{}}", 0,
     "a tensor name has a lone surrogate \\uD800 at header byte 3 (not a character)"},
    {"lone_low_surrogate", "{\"w\\udc00x\":{}}", 0,
     "a tensor name has a lone surrogate \\uDC00 at header byte 3 (not a character)"},
    {"invalid_utf8", "{\"w\xff\":{}}", 0, "a tensor name is not valid UTF-8 at header byte 3"},
    {"overlong_utf8", "{\"w\xc0\xaf\":{}}", 0, "a tensor name is not valid UTF-8 at header byte 3"},
    {"encoded_surrogate", "{\"w\xed\xa0\x80\":{}}", 0, "a tensor name is not valid UTF-8 at header byte 3"},
    {"control_byte_in_name", "{\"w\n\":{}}", 0,
     "a tensor name holds the control byte 0x0a at header byte 3 (JSON needs it escaped)"},
    /* an entry's fields */
    {"missing_fields", "{\"a\":{\"dtype\":\"F32\"}}", 0,
     "tensor 'a': lacks shape, data_offsets (an entry needs dtype, shape and data_offsets)"},
    {"empty_entry", "{\"a\":{}}", 0,
     "tensor 'a': lacks dtype, shape, data_offsets (an entry needs dtype, shape and data_offsets)"},
    {"entry_not_object", "{\"a\":[1]}", 0,
     "tensor 'a': malformed JSON at header byte 5: expected '{' opening the tensor's entry, found '['"},
    {"unknown_field",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"offsets\":[0,8]}}", 8,
     "tensor 'a': unknown field 'offsets' (an entry has dtype, shape and data_offsets only)"},
    {"field_twice", "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"I32\"}}", 0,
     "tensor 'a': field 'dtype' given twice"},
    {"unknown_dtype", "{\"a\":{\"dtype\":\"F31\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': unknown dtype 'F31' (known: BOOL U8 I8 F8_E5M2 F8_E4M3 F8_E8M0 U16 I16 F16 BF16 "
     "U32 I32 F32 U64 I64 F64 C64 F4 F6_E2M3 F6_E3M2)"},
    {"dtype_not_string", "{\"a\":{\"dtype\":4}}", 0,
     "tensor 'a': malformed JSON at header byte 14: expected dtype (a string), found '4'"},
    {"negative_dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': shape at header byte 29 is negative"},
    {"fractional_dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': shape at header byte 29 is not an integer"},
    {"leading_zero", "{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': shape at header byte 29 has a leading zero (not JSON)"},
    {"shape_not_array", "{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': malformed JSON at header byte 28: expected '[' opening shape, found '2'"},
    {"too_many_dims",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': shape has more than 8 numbers"},
    {"offsets_three", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", 8,
     "tensor 'a': data_offsets has more than 2 numbers"},
    {"offsets_one", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}", 8,
     "tensor 'a': data_offsets must be [BEGIN, END], found 1 number"},
    /* sizes: overflow */
    {"dim_above_2_64",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': shape at header byte 29 is above 2^64 - 1"},
    {"dim_above_2_63",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': shape dim 0 is 9223372036854775808, above 2^63 - 1"},
    {"shape_overflow",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': shape [4294967296x4294967296] has 2^63 or more elements (overflow)"},
    {"bits_overflow",
     "{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': shape [2305843009213693952] of F64 takes 2^64 or more bits (overflow)"},
    /* offsets against the data */
    {"offsets_past_end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,800]}}", 8,
     "tensor 'a': data_offsets [0, 800] reach past the 8 bytes of data (truncated file?)"},
    {"begin_after_end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
     "tensor 'a': data_offsets [8, 0] begin after they end"},
    {"byte_count", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
     "tensor 'a': data_offsets [0, 8] hold 8 bytes, but shape [3] of F32 needs 12"},
    {"scalar_byte_count", "{\"a\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
     "tensor 'a': data_offsets [0, 4] hold 4 bytes, but shape [] of F64 needs 8"},
    {"partial_byte", "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2,
     "tensor 'a': shape [3] of F4 is 12 bits, not a whole number of bytes"},
    {"misaligned",
     "{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
     "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1,5]}}", 5,
     "tensor 'a': data_offsets begin 1 is not a multiple of 4, the size of F32 (misaligned)"},
    {"overlap",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
     "tensor 'b': data_offsets [4, 12] overlap those of tensor 'a' [0, 8]"},
    {"same_bytes",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
     "tensor 'b': data_offsets [0, 8] overlap those of tensor 'a' [0, 8]"},
    {"empty_inside_other",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8,
     "tensor 'e': data_offsets [4, 4] overlap those of tensor 'a' [0, 8]"},
    {"hole",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}", 20,
     "tensor 'b': data_offsets [12, 20] leave data bytes [8, 12) to no tensor (a hole, after "
     "tensor 'a')"},
    {"hole_at_start", "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16,
     "tensor 'b': data_offsets [8, 16] leave data bytes [0, 8) to no tensor (a hole, after the "
     "start)"},
    {"bytes_after_last", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 16,
     "data bytes [8, 16) belong to no tensor (after tensor 'a'; the format allows no unused bytes)"},
    {"data_without_tensors", "{}", 8,
     "data bytes [0, 8) belong to no tensor (after the header; the format allows no unused bytes)"},
    /* __metadata__ */
    {"metadata_number", "{\"__metadata__\":{\"format\":\"pt\",\"n\":1}}", 0,
     "__metadata__ 'n' is not a string (the format allows string values only)"},
    {"metadata_nested", "{\"__metadata__\":{\"n\":[1,{\"x\":null}]}}", 0,
     "__metadata__ 'n' is not a string (the format allows string values only)"},
    {"metadata_not_object", "{\"__metadata__\":\"pt\"}", 0,
     "malformed JSON at header byte 16: expected '{' opening __metadata__ (an object of strings), "
     "found '\"'"},
    {"metadata_twice", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ given twice"},
    {"metadata_key_twice", "{\"__metadata__\":{\"k\":\"1\",\"j\":\"2\",\"k\":\"3\"}}", 0,
     "__metadata__ key 'k' given twice"},
    {"metadata_nul", "{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0,
     "a __metadata__ value contains \\u0000 (NUL) at header byte 23 (it would read as 'a')"},
};

/* Files that end before their header does, byte for byte. */
typedef struct {
  const char *name;
  const char *bytes;
  size_t size;
  const char *message;
} ShortFileCase;

static const ShortFileCase SHORT_FILES[] = {
    {"empty", "", 0,
     "file is 0 bytes, too short for a safetensors file (it starts with an 8-byte header length)"},
    {"truncated_length", "\x05\x00\x00", 3,
     "file is 3 bytes, too short for a safetensors file (it starts with an 8-byte header length)"},
    {"header_past_end", "\x64\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dt", 17,
     "header length 100 runs past the end of the file (9 bytes after the length; truncated, or not "
     "a safetensors file)"},
    {"huge_header_length", "\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10,
     "header length 9223372036854775807 runs past the end of the file (2 bytes after the length; "
     "truncated, or not a safetensors file)"},
};

static void case_path(const char *name, char *out, size_t size) {
  snprintf(out, size, "%s/%s.safetensors", directory, name);
}

/* NAME.safetensors, just written, must be refused with exactly "PATH: message". */
static void expect_refused(const char *name, const char *message) {
  char path[512], expected[2048];
  case_path(name, path, sizeof path);
  snprintf(expected, sizeof expected, "%s: %s", path, message);
  expect_open_error(name, path, expected);
}

/* Each malformed class is refused with its exact message, naming the file and the tensor. */
static void test_malformed_files(void) {
  char path[512];
  for (size_t i = 0; i < sizeof MALFORMED / sizeof *MALFORMED; i++) {
    case_path(MALFORMED[i].name, path, sizeof path);
    write_safetensors(path, MALFORMED[i].header, strlen(MALFORMED[i].header), MALFORMED[i].data_bytes);
    expect_refused(MALFORMED[i].name, MALFORMED[i].message);
  }
  for (size_t i = 0; i < sizeof SHORT_FILES / sizeof *SHORT_FILES; i++) {
    case_path(SHORT_FILES[i].name, path, sizeof path);
    write_bytes(path, SHORT_FILES[i].bytes, SHORT_FILES[i].size);
    expect_refused(SHORT_FILES[i].name, SHORT_FILES[i].message);
  }
}

/* Paths that are not safetensors files at all, and a header over the limit. */
static void test_bad_files(void) {
  char path[512], expected[1024];
  path_in(path, sizeof path, "absent.safetensors");
  snprintf(expected, sizeof expected, "cannot open '%s': No such file or directory", path);
  expect_open_error("absent", path, expected);

  /* a header over 100 MiB in a (sparse) file that long: refused before anything is allocated */
  case_path("too_large", path, sizeof path);
  uint64_t length = 100u * 1024u * 1024u + 1u;
  unsigned char prefix[8];
  for (int i = 0; i < 8; i++) prefix[i] = (unsigned char)(length >> (8 * i));
  write_bytes(path, prefix, 8);
  CHECK(truncate(path, (off_t)(8 + length)) == 0);
  expect_refused("too_large", "header length 104857601 is above the reader's limit of 104857600 "
                 "bytes (100 MiB)");
  unlink(path);

  case_path("a_directory", path, sizeof path);
  CHECK(mkdir(path, 0700) == 0);
  expect_refused("a_directory", "is a directory, not a regular file (only regular files are read)");
  rmdir(path);

  expect_open_error("character device", "/dev/zero",
                    "/dev/zero: is a character device, not a regular file (only regular files are read)");
}

/* A FIFO is refused at once: opening it must not wait for a writer, nor read it. */
static void test_fifo(void) {
  char path[512];
  case_path("fifo", path, sizeof path);
  CHECK(mkfifo(path, 0600) == 0);
  alarm(10); /* a reader that blocks dies here instead of hanging the test */
  double start = seconds_now();
  expect_refused("fifo", "is a FIFO (named pipe), not a regular file (only regular files are read)");
  double elapsed = seconds_now() - start;
  alarm(0);
  CHECK(elapsed < 1.0);
  unlink(path);
}

/* Accepted files: metadata, escapes, empty and zero-size tensors, header order unlike data order. */
static void test_good_headers(void) {
  const char *header =
      "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"caf\\u00e9 \\ud83d\\ude00\",\"empty\":\"\"},"
      "\"second\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]},"
      "\"caf\\u00e9\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
      "\"nothing\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]},"
      "\"scalar\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[8,12]},"
      "\"nibbles\":{\"dtype\":\"F4\",\"shape\":[4],\"data_offsets\":[20,22]}}    \n";
  char path[512], error[1024];
  path_in(path, sizeof path, "good.safetensors");
  write_safetensors(path, header, strlen(header), 22);
  SafetensorsFile file;
  int opened = safetensors_open(path, &file, error, sizeof error);
  if (!opened) fprintf(stderr, "good header refused: %s\n", error);
  CHECK(opened);
  if (!opened) return;
  CHECK(file.num_entries == 5 && file.num_metadata == 3);
  CHECK(strcmp(file.entries[0].name, "second") == 0); /* header order */
  CHECK(safetensors_metadata(&file, "format") && !strcmp(safetensors_metadata(&file, "format"), "pt"));
  CHECK(safetensors_metadata(&file, "note") &&
        !strcmp(safetensors_metadata(&file, "note"), "caf\xc3\xa9 \xf0\x9f\x98\x80"));
  CHECK(safetensors_metadata(&file, "empty") && !strcmp(safetensors_metadata(&file, "empty"), ""));
  CHECK(safetensors_metadata(&file, "absent") == NULL);
  const SafetensorsEntry *accented = safetensors_find(&file, "caf\xc3\xa9");
  CHECK(accented && !strcmp(accented->dtype, "BF16") && accented->num_elements == 4);
  const SafetensorsEntry *nothing = safetensors_find(&file, "nothing");
  CHECK(nothing && nothing->num_elements == 0 && nothing->num_dims == 2);
  CHECK(safetensors_find(&file, "scalar") && safetensors_find(&file, "scalar")->num_elements == 1);
  CHECK(safetensors_find(&file, "absent") == NULL && safetensors_find(&file, "") == NULL);
  /* a BF16 tensor opens but is not read as F32; a [] scalar reads as [1] */
  TensorSpec as_f32 = {"caf\xc3\xa9", "2x2", 2, {2, 2}, 4, ELEMENT_F32, 0};
  TensorSpec scalar = {"scalar", "1", 1, {1}, 1, ELEMENT_I32, 0};
  float back[4];
  char problems[256] = "";
  CHECK(!safetensors_read_tensor(&file, "caf\xc3\xa9", &as_f32, back, problems, sizeof problems));
  CHECK(strstr(problems, "has dtype BF16, expected F32") != NULL);
  CHECK(safetensors_read_tensor(&file, "scalar", &scalar, back, problems, sizeof problems));
  safetensors_close(&file);

  /* no tensors, no data */
  path_in(path, sizeof path, "nothing.safetensors");
  write_safetensors(path, "{}", 2, 0);
  CHECK(safetensors_open(path, &file, error, sizeof error));
  CHECK(file.num_entries == 0 && safetensors_find(&file, "a") == NULL);
  safetensors_close(&file);
}

/* The same bytes from memory: safetensors_parse_buffer names the file as told. */
static void test_parse_buffer(void) {
  const char text[] = "\x35\0\0\0\0\0\0\0{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}\x07\x09";
  CHECK(sizeof text - 1 == 8 + 53 + 2);
  SafetensorsFile file;
  char error[512];
  CHECK(safetensors_parse_buffer("memory", text, sizeof text - 1, &file, error, sizeof error));
  CHECK(file.mapping == NULL && file.num_entries == 1 && file.data[1] == 0x09);
  safetensors_close(&file);
  CHECK(!safetensors_parse_buffer("memory", text, sizeof text - 2, &file, error, sizeof error));
  CHECK(strcmp(error, "memory: tensor 'a': data_offsets [0, 2] reach past the 1 bytes of data "
                      "(truncated file?)") == 0);
}

/* Builds a header of `count` one-element F32 tensors "t0", "t1", ... into a malloc'ed buffer
 * (8-byte length first); returns its size with count * 4 data bytes. */
static size_t many_tensors_file(int count, char **out) {
  size_t capacity = 64 + (size_t)count * 80, used = 8;
  char *bytes = malloc(capacity + (size_t)count * 4);
  used += (size_t)snprintf(bytes + used, capacity - used, "{\"__metadata__\":{\"format\":\"pt\"}");
  for (int t = 0; t < count; t++)
    used += (size_t)snprintf(bytes + used, capacity - used,
                             ",\"t%d\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[%d,%d]}",
                             t, 4 * t, 4 * t + 4);
  used += (size_t)snprintf(bytes + used, capacity - used, "}");
  uint64_t header_length = used - 8;
  for (int i = 0; i < 8; i++) bytes[i] = (char)(header_length >> (8 * i));
  memset(bytes + used, 0, (size_t)count * 4);
  *out = bytes;
  return used + (size_t)count * 4;
}

/* 200,000 tensors (a 13 MB header) parse in well under a second; 1,000,001 are refused. */
static void test_many_tensors(void) {
  char *bytes, path[512], error[1024];
  size_t size = many_tensors_file(200000, &bytes);
  path_in(path, sizeof path, "many.safetensors");
  write_bytes(path, bytes, size);
  free(bytes);
  SafetensorsFile file;
  double start = seconds_now();
  int opened = safetensors_open(path, &file, error, sizeof error);
  int found = 0;
  for (int t = 0; opened && t < 200000; t += 7) {
    char name[32];
    snprintf(name, sizeof name, "t%d", t);
    const SafetensorsEntry *entry = safetensors_find(&file, name);
    found += entry && entry->data_begin == (uint64_t)t * 4;
  }
  double elapsed = seconds_now() - start;
  printf("200000 tensors (%ld-byte file): open and 28572 lookups in %.3f s\n", file_size(path),
         elapsed);
  CHECK(opened && file.num_entries == 200000 && found == 28572);
  CHECK(elapsed < 1.0);
  if (opened) safetensors_close(&file);
  unlink(path);

  size = many_tensors_file(1000001, &bytes);
  start = seconds_now();
  CHECK(!safetensors_parse_buffer("many.safetensors", bytes, size, &file, error, sizeof error));
  elapsed = seconds_now() - start;
  CHECK(strcmp(error, "many.safetensors: more than 1000000 tensors (the reader's limit)") == 0);
  printf("1000001 tensors refused in %.3f s\n", elapsed);
  free(bytes);
}

int main(void) {
  snprintf(directory, sizeof directory, "/tmp/perft_test_safetensors.XXXXXX");
  if (!mkdtemp(directory)) {
    perror("mkdtemp");
    return 1;
  }
  test_round_trip();
  test_i32_round_trip();
  test_atomic_failure();
  test_malformed_files();
  test_bad_files();
  test_fifo();
  test_good_headers();
  test_parse_buffer();
  test_many_tensors();
  char command[512];
  snprintf(command, sizeof command, "rm -rf '%s'", directory);
  if (system(command) != 0) fprintf(stderr, "could not remove %s\n", directory);
  if (failures) printf("test_safetensors: FAIL (%d checks)\n", failures);
  else printf("test_safetensors: PASS\n");
  return failures ? 1 : 0;
}
