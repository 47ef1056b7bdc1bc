/* metrics.c — see metrics.h. */
#include "metrics.h"

#include "check.h"
#include "outputs.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

MetricsFile metrics_open(const char *path) {
  MetricsFile metrics = {-1, path};
  if (!path) return metrics;
  metrics.fd = output_append_open("--metrics", path);
  return metrics;
}

uint64_t metrics_size(const MetricsFile *metrics) {
  struct stat info;
  if (metrics->fd < 0 || fstat(metrics->fd, &info) != 0 || !S_ISREG(info.st_mode)) return 0;
  return (uint64_t)info.st_size;
}

void metrics_truncate(const MetricsFile *metrics, uint64_t bytes) {
  struct stat info;
  if (metrics->fd < 0 || fstat(metrics->fd, &info) != 0 || !S_ISREG(info.st_mode)) return;
  if ((uint64_t)info.st_size < bytes) {
    printf("note: metrics file '%s' is shorter than at the checkpoint (%lld < %llu bytes); appending\n",
           metrics->path, (long long)info.st_size, (unsigned long long)bytes);
    return;
  }
  if (ftruncate(metrics->fd, (off_t)bytes) != 0)
    perft_fatal("--metrics '%s': cannot cut back to the checkpoint's %llu bytes: %s", metrics->path,
                (unsigned long long)bytes, strerror(errno));
}

void metrics_append(const MetricsFile *metrics, const char *format, ...) {
  if (metrics->fd < 0) return;
  char line[512];
  va_list args;
  va_start(args, format);
  int length = vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (length < 0 || length >= (int)sizeof line) perft_fatal("a metrics line is longer than %zu bytes", sizeof line);
  if (write(metrics->fd, line, (size_t)length) != length)
    perft_fatal("writing metrics file '%s' failed: %s", metrics->path, strerror(errno));
}

void metrics_close(MetricsFile *metrics) {
  if (metrics->fd >= 0) close(metrics->fd);
  metrics->fd = -1;
}

int format_json_number(char *out, size_t out_size, double value) {
  return isfinite(value) ? snprintf(out, out_size, "%.9g", value) : snprintf(out, out_size, "null");
}
