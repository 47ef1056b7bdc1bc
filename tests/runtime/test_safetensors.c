/* test_safetensors.c: round trip, atomic writing under a failing write, and bad files.
 * Ends with one verdict line: "test_safetensors: PASS" or "test_safetensors: FAIL (n checks)". */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safetensors.h"

static int failures;
#define CHECK(condition)                                                        \
  do {                                                                          \
    if (!(condition)) {                                                         \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      failures++;                                                               \
    }                                                                           \
  } while (0)

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

/* Bad files give an error, never a crash. */
static void test_bad_files(void) {
  char path[512], error[1024];
  SafetensorsFile file;
  path_in(path, sizeof path, "bad.safetensors");
  CHECK(!safetensors_open(path, &file, error, sizeof error)); /* does not exist */

  write_bytes(path, "abc", 3);
  CHECK(!safetensors_open(path, &file, error, sizeof error));
  CHECK(strstr(error, "too short") != NULL);

  unsigned char huge[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
  write_bytes(path, huge, sizeof huge);
  CHECK(!safetensors_open(path, &file, error, sizeof error));

  const char *bad_headers[] = {
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",  /* unclosed */
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,800]}}", /* past the end */
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}",                        /* no offsets */
      "[1,2]",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},}",
      "{\"a\\u12",
  };
  for (size_t i = 0; i < sizeof bad_headers / sizeof *bad_headers; i++) {
    unsigned char bytes[256] = {0};
    size_t length = strlen(bad_headers[i]);
    bytes[0] = (unsigned char)length;
    memcpy(bytes + 8, bad_headers[i], length);
    write_bytes(path, bytes, 8 + length + 8); /* 8 data bytes */
    int opened = safetensors_open(path, &file, error, sizeof error);
    if (opened) {
      fprintf(stderr, "bad header %zu was accepted\n", i);
      safetensors_close(&file);
    }
    CHECK(!opened);
  }

  /* metadata is skipped; a BF16 tensor opens but cannot be read as F32 */
  const char *header = "{\"__metadata__\":{\"format\":\"pt\",\"n\":[1,{\"x\":null}]},"
                       "\"h\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}";
  unsigned char bytes[256] = {0};
  size_t length = strlen(header);
  bytes[0] = (unsigned char)length;
  memcpy(bytes + 8, header, length);
  write_bytes(path, bytes, 8 + length + 8);
  CHECK(safetensors_open(path, &file, error, sizeof error));
  TensorSpec spec = {"h", "4", 1, {4}, 4, ELEMENT_F32, 0};
  float back[4];
  char problems[256] = "";
  CHECK(!safetensors_read_tensor(&file, "h", &spec, back, problems, sizeof problems));
  CHECK(strstr(problems, "BF16") != NULL);
  safetensors_close(&file);
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
  test_bad_files();
  char command[512];
  snprintf(command, sizeof command, "rm -rf '%s'", directory);
  if (system(command) != 0) fprintf(stderr, "could not remove %s\n", directory);
  if (failures) printf("test_safetensors: FAIL (%d checks)\n", failures);
  else printf("test_safetensors: PASS\n");
  return failures ? 1 : 0;
}
