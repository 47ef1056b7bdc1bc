/* metrics.c — see metrics.h. */
#include "metrics.h"

#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

MetricsFile metrics_open(const char *path) {
  MetricsFile metrics = {-1, path};
  if (!path) return metrics;
  metrics.fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (metrics.fd < 0) perft_fatal("cannot open metrics file '%s': %s", path, strerror(errno));
  return metrics;
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
