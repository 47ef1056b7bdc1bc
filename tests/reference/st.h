/* Minimal safetensors reader/writer for the independent PERFT reference.
 * Written from the safetensors format description: 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets:[begin,end]}, ...},
 * then the raw little-endian tensor bytes. Shares no code with perft. */
#ifndef PERFT_REF_ST_H
#define PERFT_REF_ST_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8

typedef struct {
    char *name;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    int64_t numel;
    double *data; /* converted to double on read; written as F32 (or I32, see dtype) */
    int dtype;    /* ST_F32 or ST_I32: what st_write writes; st_read sets ST_I32 for integer tensors */
} StTensor;

enum { ST_F32 = 0, ST_I32 = 1 };

typedef struct {
    int n, cap;
    StTensor *t;
} StFile;

/* Reading: returns 0 on success; on failure writes a message into err. */
int st_read(const char *path, StFile *out, char *err, size_t errlen);
/* Writing: every tensor as F32, or as I32 when its dtype is ST_I32. Returns 0 on success. */
int st_write(const char *path, const StFile *f, char *err, size_t errlen);

void st_init(StFile *f);
void st_free(StFile *f);
/* Adds a tensor (copies name and data). Returns the new tensor. */
StTensor *st_add(StFile *f, const char *name, int ndim, const int64_t *shape, const double *data);
StTensor *st_find(const StFile *f, const char *name);
/* Removes the tensor named name; returns 1 if it was there. */
int st_remove(StFile *f, const char *name);
/* "[a,b,c]" into buf. */
const char *st_shape_str(const StTensor *t, char *buf, size_t len);

#endif
