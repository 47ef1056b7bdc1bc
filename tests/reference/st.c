/* Minimal safetensors I/O, see st.h. Written for the independent reference only. */
#include "st.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void seterr(char *err, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

void st_init(StFile *f) { f->n = 0; f->cap = 0; f->t = NULL; }

void st_free(StFile *f) {
    for (int i = 0; i < f->n; i++) { free(f->t[i].name); free(f->t[i].data); }
    free(f->t);
    st_init(f);
}

StTensor *st_add(StFile *f, const char *name, int ndim, const int64_t *shape, const double *data) {
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 16;
        f->t = realloc(f->t, (size_t)f->cap * sizeof(StTensor));
        if (!f->t) { fprintf(stderr, "out of memory\n"); exit(1); }
    }
    StTensor *t = &f->t[f->n++];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) { t->shape[i] = shape[i]; t->numel *= shape[i]; }
    t->data = malloc((size_t)(t->numel ? t->numel : 1) * sizeof(double));
    if (!t->name || !t->data) { fprintf(stderr, "out of memory\n"); exit(1); }
    if (data) memcpy(t->data, data, (size_t)t->numel * sizeof(double));
    else memset(t->data, 0, (size_t)t->numel * sizeof(double));
    return t;
}

StTensor *st_find(const StFile *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

int st_remove(StFile *f, const char *name) {
    for (int i = 0; i < f->n; i++) {
        if (strcmp(f->t[i].name, name) == 0) {
            free(f->t[i].name); free(f->t[i].data);
            memmove(&f->t[i], &f->t[i + 1], (size_t)(f->n - i - 1) * sizeof(StTensor));
            f->n--;
            return 1;
        }
    }
    return 0;
}

const char *st_shape_str(const StTensor *t, char *buf, size_t len) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o, "[");
    for (int i = 0; i < t->ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)t->shape[i]);
    if (o < len) snprintf(buf + o, len - o, "]");
    return buf;
}

/* ---------------- a tiny JSON parser, enough for safetensors headers ---------------- */

typedef struct { const char *s; size_t i, n; char *err; size_t errlen; int failed; } J;

static void jfail(J *j, const char *what) {
    if (!j->failed) seterr(j->err, j->errlen, "bad safetensors header JSON at byte %zu: %s", j->i, what);
    j->failed = 1;
}
static void jws(J *j) {
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}
static int jpeek(J *j) { jws(j); return j->i < j->n ? (unsigned char)j->s[j->i] : -1; }
static int jexpect(J *j, char c) {
    if (jpeek(j) != c) { char m[32]; snprintf(m, sizeof m, "expected '%c'", c); jfail(j, m); return 0; }
    j->i++;
    return 1;
}
/* Parses a string; returns malloc'd content (escapes decoded for the simple cases). */
static char *jstring(J *j) {
    if (!jexpect(j, '"')) return NULL;
    size_t cap = 32, len = 0;
    char *out = malloc(cap);
    while (j->i < j->n && j->s[j->i] != '"') {
        char c = j->s[j->i++];
        if (c == '\\') {
            if (j->i >= j->n) break;
            char e = j->s[j->i++];
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': /* keep non-ASCII escapes as '?': names here are ASCII */
                if (j->i + 4 > j->n) { jfail(j, "short \\u escape"); free(out); return NULL; }
                j->i += 4; c = '?'; break;
            default: c = e; break;
            }
        }
        if (len + 2 > cap) { cap *= 2; out = realloc(out, cap); }
        out[len++] = c;
    }
    if (j->i >= j->n) { jfail(j, "unterminated string"); free(out); return NULL; }
    j->i++;
    out[len] = 0;
    return out;
}
static int jint(J *j, int64_t *v) {
    jws(j);
    size_t st = j->i;
    int neg = 0;
    if (j->i < j->n && j->s[j->i] == '-') { neg = 1; j->i++; }
    int64_t x = 0;
    int digits = 0;
    while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9') { x = x * 10 + (j->s[j->i] - '0'); j->i++; digits++; }
    if (!digits) { j->i = st; jfail(j, "expected an integer"); return 0; }
    *v = neg ? -x : x;
    return 1;
}
/* Skips any JSON value (used for __metadata__ and unknown keys). */
static void jskip(J *j) {
    int c = jpeek(j);
    if (c == '"') { free(jstring(j)); return; }
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->i++;
        if (jpeek(j) == close) { j->i++; return; }
        for (;;) {
            if (c == '{') { free(jstring(j)); if (!jexpect(j, ':')) return; }
            jskip(j);
            if (j->failed) return;
            int d = jpeek(j);
            if (d == ',') { j->i++; continue; }
            if (d == close) { j->i++; return; }
            jfail(j, "expected ',' or closing bracket");
            return;
        }
    }
    /* number, true, false, null */
    size_t st = j->i;
    while (j->i < j->n && strchr(",}] \t\r\n", j->s[j->i]) == NULL) j->i++;
    if (j->i == st) jfail(j, "expected a value");
}

typedef struct { char *name; char dtype[16]; int ndim; int64_t shape[ST_MAX_DIMS]; int64_t b, e; } Entry;

static int parse_entry(J *j, Entry *en) {
    int have_dtype = 0, have_shape = 0, have_off = 0;
    if (!jexpect(j, '{')) return 0;
    if (jpeek(j) == '}') { j->i++; jfail(j, "empty tensor entry"); return 0; }
    for (;;) {
        char *key = jstring(j);
        if (!key || !jexpect(j, ':')) { free(key); return 0; }
        if (strcmp(key, "dtype") == 0) {
            char *v = jstring(j);
            if (!v) { free(key); return 0; }
            snprintf(en->dtype, sizeof en->dtype, "%s", v);
            free(v);
            have_dtype = 1;
        } else if (strcmp(key, "shape") == 0) {
            if (!jexpect(j, '[')) { free(key); return 0; }
            en->ndim = 0;
            if (jpeek(j) == ']') j->i++;
            else for (;;) {
                int64_t v;
                if (!jint(j, &v)) { free(key); return 0; }
                if (en->ndim >= ST_MAX_DIMS) { jfail(j, "too many dims"); free(key); return 0; }
                en->shape[en->ndim++] = v;
                int d = jpeek(j);
                if (d == ',') { j->i++; continue; }
                if (d == ']') { j->i++; break; }
                jfail(j, "bad shape list"); free(key); return 0;
            }
            have_shape = 1;
        } else if (strcmp(key, "data_offsets") == 0) {
            if (!jexpect(j, '[') || !jint(j, &en->b) || !jexpect(j, ',') || !jint(j, &en->e) || !jexpect(j, ']')) {
                free(key); return 0;
            }
            have_off = 1;
        } else {
            jskip(j);
        }
        free(key);
        if (j->failed) return 0;
        int d = jpeek(j);
        if (d == ',') { j->i++; continue; }
        if (d == '}') { j->i++; break; }
        jfail(j, "expected ',' or '}' in tensor entry");
        return 0;
    }
    if (!have_dtype || !have_shape || !have_off) { jfail(j, "tensor entry lacks dtype, shape or data_offsets"); return 0; }
    return 1;
}

static double half_to_double(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0) v = m * (1.0 / (1 << 24));
    else if (e == 31) v = m ? (0.0 / 0.0) : (1.0 / 0.0);
    else { v = (1.0 + m / 1024.0); int x = e - 15; while (x > 0) { v *= 2; x--; } while (x < 0) { v /= 2; x++; } }
    return s ? -v : v;
}

int st_read(const char *path, StFile *out, char *err, size_t errlen) {
    st_init(out);
    FILE *fp = fopen(path, "rb");
    if (!fp) { seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return 1; }
    if (fseek(fp, 0, SEEK_END) != 0) { fclose(fp); seterr(err, errlen, "%s: cannot seek", path); return 1; }
    long fsz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char hb[8];
    if (fsz < 8 || fread(hb, 1, 8, fp) != 8) { fclose(fp); seterr(err, errlen, "%s: too short to be safetensors", path); return 1; }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | hb[i];
    if (hlen > (uint64_t)(fsz - 8)) { fclose(fp); seterr(err, errlen, "%s: header length %llu exceeds file size %ld", path, (unsigned long long)hlen, fsz); return 1; }
    char *hdr = malloc(hlen + 1);
    if (fread(hdr, 1, hlen, fp) != hlen) { free(hdr); fclose(fp); seterr(err, errlen, "%s: short read of header", path); return 1; }
    hdr[hlen] = 0;
    int64_t dsz = fsz - 8 - (int64_t)hlen;
    unsigned char *data = malloc((size_t)(dsz ? dsz : 1));
    if ((int64_t)fread(data, 1, (size_t)dsz, fp) != dsz) { free(hdr); free(data); fclose(fp); seterr(err, errlen, "%s: short read of data", path); return 1; }
    fclose(fp);

    char jerr[256] = "";
    J j = { hdr, 0, hlen, jerr, sizeof jerr, 0 };
    int rc = 1;
    if (!jexpect(&j, '{')) goto done;
    if (jpeek(&j) == '}') { j.i++; rc = 0; goto done; }
    for (;;) {
        char *key = jstring(&j);
        if (!key || !jexpect(&j, ':')) { free(key); goto done; }
        if (strcmp(key, "__metadata__") == 0) {
            jskip(&j);
            free(key);
        } else {
            Entry en;
            memset(&en, 0, sizeof en);
            if (!parse_entry(&j, &en)) { free(key); goto done; }
            int esz;
            if (strcmp(en.dtype, "F32") == 0) esz = 4;
            else if (strcmp(en.dtype, "F64") == 0) esz = 8;
            else if (strcmp(en.dtype, "F16") == 0 || strcmp(en.dtype, "BF16") == 0) esz = 2;
            else if (strcmp(en.dtype, "I32") == 0) esz = -4;
            else if (strcmp(en.dtype, "I64") == 0) esz = -8;
            else { seterr(jerr, sizeof jerr, "tensor %s: unsupported dtype %s", key, en.dtype); j.failed = 1; free(key); goto done; }
            int64_t numel = 1;
            for (int i = 0; i < en.ndim; i++) {
                if (en.shape[i] < 0) { seterr(jerr, sizeof jerr, "tensor %s: negative dim", key); j.failed = 1; free(key); goto done; }
                numel *= en.shape[i];
            }
            if (en.b < 0 || en.e < en.b || en.e > dsz || en.e - en.b != numel * (esz < 0 ? -esz : esz)) {
                seterr(jerr, sizeof jerr, "tensor %s: data_offsets [%lld,%lld] inconsistent with %lld elements of %s (data size %lld)",
                       key, (long long)en.b, (long long)en.e, (long long)numel, en.dtype, (long long)dsz);
                j.failed = 1; free(key); goto done;
            }
            if (st_find(out, key)) { seterr(jerr, sizeof jerr, "tensor %s appears twice", key); j.failed = 1; free(key); goto done; }
            StTensor *t = st_add(out, key, en.ndim, en.shape, NULL);
            const unsigned char *p = data + en.b;
            if (esz < 0) { /* integers: two's complement little endian */
                t->dtype = ST_I32;
                for (int64_t k = 0; k < numel; k++) {
                    const unsigned char *q = p + k * -esz;
                    uint64_t u = 0;
                    for (int b = -esz - 1; b >= 0; b--) u = (u << 8) | q[b];
                    t->data[k] = esz == -4 ? (double)(int32_t)(uint32_t)u : (double)(int64_t)u;
                }
                free(key);
                goto next;
            }
            for (int64_t k = 0; k < numel; k++) {
                const unsigned char *q = p + k * esz;
                if (esz == 4) {
                    uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
                    float f; memcpy(&f, &u, 4); t->data[k] = f;
                } else if (esz == 8) {
                    uint64_t u = 0;
                    for (int b = 7; b >= 0; b--) u = (u << 8) | q[b];
                    double d; memcpy(&d, &u, 8); t->data[k] = d;
                } else if (en.dtype[0] == 'B') {
                    uint32_t u = ((uint32_t)q[0] | (uint32_t)q[1] << 8) << 16;
                    float f; memcpy(&f, &u, 4); t->data[k] = f;
                } else {
                    t->data[k] = half_to_double((uint16_t)(q[0] | q[1] << 8));
                }
            }
            free(key);
        }
    next:
        if (j.failed) goto done;
        int d = jpeek(&j);
        if (d == ',') { j.i++; continue; }
        if (d == '}') { j.i++; break; }
        jfail(&j, "expected ',' or '}' at top level");
        goto done;
    }
    rc = 0;
done:
    if (rc) { seterr(err, errlen, "%s: %s", path, jerr[0] ? jerr : "malformed header"); st_free(out); }
    free(hdr);
    free(data);
    return rc;
}

int st_write(const char *path, const StFile *f, char *err, size_t errlen) {
    size_t cap = 256 + (size_t)f->n * 256, len = 0;
    char *h = malloc(cap);
    int64_t off = 0;
    len += (size_t)snprintf(h + len, cap - len, "{");
    for (int i = 0; i < f->n; i++) {
        const StTensor *t = &f->t[i];
        if (len + strlen(t->name) + 256 > cap) { cap = 2 * cap + strlen(t->name) + 256; h = realloc(h, cap); }
        len += (size_t)snprintf(h + len, cap - len, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", t->name,
                                t->dtype == ST_I32 ? "I32" : "F32");
        for (int d = 0; d < t->ndim; d++) len += (size_t)snprintf(h + len, cap - len, "%s%lld", d ? "," : "", (long long)t->shape[d]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%lld,%lld]}", (long long)off, (long long)(off + 4 * t->numel));
        off += 4 * t->numel;
    }
    if (len + 16 > cap) { cap += 16; h = realloc(h, cap); }
    h[len++] = '}';
    while (len % 8) h[len++] = ' ';
    FILE *fp = fopen(path, "wb");
    if (!fp) { free(h); seterr(err, errlen, "%s: cannot create: %s", path, strerror(errno)); return 1; }
    unsigned char lb[8];
    for (int i = 0; i < 8; i++) lb[i] = (unsigned char)((uint64_t)len >> (8 * i));
    int ok = fwrite(lb, 1, 8, fp) == 8 && fwrite(h, 1, len, fp) == len;
    for (int i = 0; ok && i < f->n; i++) {
        const StTensor *t = &f->t[i];
        for (int64_t k = 0; ok && k < t->numel; k++) {
            uint32_t u;
            if (t->dtype == ST_I32) u = (uint32_t)(int32_t)t->data[k];
            else { float v = (float)t->data[k]; memcpy(&u, &v, 4); }
            unsigned char b[4] = { (unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16), (unsigned char)(u >> 24) };
            ok = fwrite(b, 1, 4, fp) == 4;
        }
    }
    if (fclose(fp) != 0) ok = 0;
    free(h);
    if (!ok) { seterr(err, errlen, "%s: write failed", path); return 1; }
    return 0;
}
