/* pb.h - a minimal reader of the protobuf wire format (no protobuf library).
 *
 * Just enough to walk an ONNX ModelProto: fields are read one at a time from a
 * bounded byte range; every varint and length is checked against the end of
 * that range (overflow-safe); groups (wire types 3/4) and the reserved wire
 * types 6/7 are refused. Nothing is copied: a length-delimited field points
 * into the caller's buffer. Message nesting is driven by the caller, which
 * only descends into the message types it knows, so the depth is bounded by
 * the schema rather than by the input.
 *
 * Wire format reference: https://protobuf.dev/programming-guides/encoding/ */
#ifndef MINT_CONVERT_PB_H
#define MINT_CONVERT_PB_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    PB_VARINT = 0,
    PB_I64 = 1,
    PB_LEN = 2,
    PB_SGROUP = 3, /* deprecated groups: refused */
    PB_EGROUP = 4,
    PB_I32 = 5
} pb_wire;

/* A bounded range of bytes being read front to back. */
typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} pb_buf;

/* One field: its number, wire type and value. */
typedef struct {
    uint32_t num;
    pb_wire wire;
    uint64_t u;          /* VARINT, I64 and I32 (low 32 bits) values */
    const uint8_t *data; /* LEN payload (inside the buffer) */
    size_t len;
} pb_field;

/* Results of pb_next / pb_iter_next. */
enum { PB_ERR = -1, PB_END = 0, PB_OK = 1 };

void pb_init(pb_buf *b, const void *data, size_t n);
/* Field payload as a sub-buffer (LEN fields). */
void pb_sub(pb_buf *b, const pb_field *f);

/* Read one varint (at most 10 bytes, value must fit in 64 bits).
 * Returns PB_OK, or PB_ERR (truncated / too long / overflow). */
int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Read the next field. PB_OK: *f filled; PB_END: buffer consumed;
 * PB_ERR: malformed (a short reason is stored in *why, static text). */
int pb_next(pb_buf *b, pb_field *f, const char **why);

/* Iterate the values of a repeated scalar field occurrence, packed (a LEN
 * field holding many values) or unpacked (one value of wire type elem).
 * elem is PB_VARINT, PB_I32 or PB_I64. */
typedef struct {
    const uint8_t *p, *end;
    pb_wire elem;
    int single;          /* unpacked: one value left in v */
    uint64_t v;
} pb_iter;

/* PB_OK, or PB_ERR if the field's wire type fits neither form, or a packed
 * fixed-width payload is not a whole number of values. */
int pb_iter_init(pb_iter *it, const pb_field *f, pb_wire elem);
/* PB_OK with *v, PB_END, PB_ERR (bad varint inside a packed run). */
int pb_iter_next(pb_iter *it, uint64_t *v);
/* Number of values the field holds (validates packed varints). PB_OK/PB_ERR. */
int pb_count(const pb_field *f, pb_wire elem, size_t *n);

/* Reinterpretations of raw values. */
static inline float pb_as_float(uint64_t u)
{
    union { uint32_t u; float f; } c;
    c.u = (uint32_t)u;
    return c.f;
}
static inline double pb_as_double(uint64_t u)
{
    union { uint64_t u; double d; } c;
    c.u = u;
    return c.d;
}
/* int64 / int32 fields are two's complement in a varint */
static inline int64_t pb_as_i64(uint64_t u) { return (int64_t)u; }

#endif
