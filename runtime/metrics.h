/* metrics.h — the --metrics JSONL file: opened once at start-up, one line appended per record
 * with write(2) (no stdio buffer, nothing allocated per step). */
#ifndef PERFT_METRICS_H
#define PERFT_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  int fd;           /* -1: no metrics file */
  const char *path;
} MetricsFile;

/* Opens `path` for appending (outputs.h; a NULL path gives a file that ignores writes); exits on
 * failure. */
MetricsFile metrics_open(const char *path);
/* The file's length in bytes (0 unless it is a regular file): recorded in each checkpoint. */
uint64_t metrics_size(const MetricsFile *metrics);
/* On resume: cuts the lines written after the checkpoint, so that the file reads as if the run
 * had never stopped. */
void metrics_truncate(const MetricsFile *metrics, uint64_t bytes);
/* Appends one line (with its newline) made by printf-style `format`. */
void metrics_append(const MetricsFile *metrics, const char *format, ...) __attribute__((format(printf, 2, 3)));
void metrics_close(MetricsFile *metrics);
/* Writes a JSON number, or null when it is not finite. */
int format_json_number(char *out, size_t out_size, double value);

#endif
