/* ptx.c — see ptx.h. */
#include "ptx.h"

#include "ir_builder.h"

#include <mlir-c/Dialect/GPU.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PERFT_CUDA_DIR
#define PERFT_CUDA_DIR "/usr/local/cuda"
#endif

typedef struct {
  FILE *out;
  int binaries;
} PtxWalk;

static MlirWalkResult write_binary(MlirOperation op, void *data) {
  PtxWalk *walk = data;
  if (!op_is(op, "gpu.binary")) return MlirWalkResultAdvance;
  MlirAttribute objects = mlirOperationGetAttributeByName(op, str("objects"));
  for (intptr_t i = 0; !mlirAttributeIsNull(objects) && i < mlirArrayAttrGetNumElements(objects); i++) {
    MlirAttribute object = mlirArrayAttrGetElement(objects, i);
    if (!mlirAttributeIsAGPUObjectAttr(object)) continue;
    MlirStringRef text = mlirGPUObjectAttrGetObject(object);
    size_t length = text.length;
    while (length > 0 && text.data[length - 1] == '\0') length--; /* the isa payload ends in a NUL */
    fwrite(text.data, 1, length, walk->out);
    walk->binaries++;
  }
  return MlirWalkResultSkip;
}

static int write_to(MlirModule module, FILE *out) {
  PtxWalk walk = {.out = out, .binaries = 0};
  mlirOperationWalk(mlirModuleGetOperation(module), write_binary, &walk, MlirWalkPreOrder);
  if (walk.binaries == 0) fprintf(stderr, "perftc: error: no GPU kernels to write as PTX\n");
  return walk.binaries > 0;
}

int ptx_write(MlirModule module, const char *path) {
  FILE *out = strcmp(path, "-") ? fopen(path, "w") : stdout;
  if (!out) {
    perror(path);
    return 0;
  }
  int ok = write_to(module, out);
  if (out != stdout && fclose(out) != 0) ok = 0;
  return ok;
}

/* ptxas's verbose lines, one kernel a row:
 *   ptxas info    : Compiling entry function 'NAME' for 'sm_90'
 *   ptxas info    : Function properties for NAME
 *       0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
 *   ptxas info    : Used 18 registers, 380 bytes cmem[0]   (", N bytes smem" when it has some) */
static void print_table(FILE *log, FILE *out) {
  char line[1024], name[256] = "";
  long stack = 0, spill_stores = 0, spill_loads = 0;
  int kernels = 0;
  fprintf(out, "GPU kernels (ptxas -arch=sm_90):\n  %-56s %9s %10s %8s %12s\n", "kernel", "registers", "shared B",
          "stack B", "spills (B)");
  while (fgets(line, sizeof line, log)) {
    char *p;
    if ((p = strstr(line, "Compiling entry function '"))) {
      p += strlen("Compiling entry function '");
      char *end = strchr(p, '\'');
      snprintf(name, sizeof name, "%.*s", end ? (int)(end - p) : 0, p);
      stack = spill_stores = spill_loads = 0;
    } else if ((p = strstr(line, "bytes stack frame"))) {
      sscanf(line, " %ld bytes stack frame, %ld bytes spill stores, %ld bytes spill loads", &stack, &spill_stores,
             &spill_loads);
    } else if ((p = strstr(line, "Used ")) && name[0]) {
      long registers = 0, shared = 0;
      sscanf(p, "Used %ld registers", &registers);
      char *smem = strstr(p, "bytes smem");
      if (smem) {
        while (smem > p && smem[-1] == ' ') smem--;
        while (smem > p && smem[-1] >= '0' && smem[-1] <= '9') smem--;
        shared = strtol(smem, NULL, 10);
      }
      fprintf(out, "  %-56s %9ld %10ld %8ld %12ld\n", name, registers, shared, stack, spill_stores + spill_loads);
      kernels++;
      name[0] = '\0';
    }
  }
  fprintf(out, "  %d kernels, all accepted by ptxas for sm_90\n", kernels);
}

int ptx_report(MlirModule module, FILE *out) {
  char ptx[] = "/tmp/perftc-XXXXXX.ptx", log[] = "/tmp/perftc-XXXXXX.log";
  int ptx_fd = mkstemps(ptx, 4), log_fd = mkstemps(log, 4);
  if (ptx_fd < 0 || log_fd < 0) {
    perror("perftc: cannot create a temporary file");
    return 0;
  }
  FILE *ptx_file = fdopen(ptx_fd, "w");
  int ok = ptx_file && write_to(module, ptx_file);
  if (ptx_file) fclose(ptx_file);
  if (ok) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      dup2(log_fd, 1);
      dup2(log_fd, 2);
      execl(PERFT_CUDA_DIR "/bin/ptxas", "ptxas", "-arch=sm_90", "-O3", "--verbose", ptx, "-o", "/dev/null", (char *)NULL);
      perror("perftc: cannot run " PERFT_CUDA_DIR "/bin/ptxas");
      _exit(127);
    }
    int status = 0;
    ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    FILE *log_file = fopen(log, "r");
    if (log_file) {
      if (ok) print_table(log_file, out);
      else {
        fprintf(stderr, "perftc: error: ptxas refused the generated PTX:\n");
        char line[1024];
        while (fgets(line, sizeof line, log_file)) fputs(line, stderr);
      }
      fclose(log_file);
    }
  }
  close(log_fd);
  unlink(ptx);
  unlink(log);
  return ok;
}
