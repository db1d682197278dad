/* onnx_decode.c - ONNX protobuf messages into the importer's decoded form
 * (onnx_ir.h): field numbers follow onnx/onnx.proto. Every length is checked
 * against its buffer (convert/pb.c), only known message types are entered,
 * and counts, name lengths, ranks and element counts are capped. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/half.h"
#include "convert/onnx_ir.h"

const char *ox_dtype_name(int t)
{
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
        "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
        "COMPLEX128", "BFLOAT16", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2",
        "FLOAT8E5M2FNUZ", "UINT4", "INT4",
    };
    return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "unknown";
}

void *ox_alloc(ictx *x, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + 15) & ~(size_t)15;
    ablock *b = x->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = malloc(AHDR + cap);
        if (!b)
            return NULL;
        b->next = x->arena;
        b->used = 0;
        b->cap = cap;
        x->arena = b;
    }
    void *p = (char *)b + AHDR + b->used;
    b->used += n;
    return p;
}


mint_status ox_nomem(void) { return mint_fail(MINT_E_NOMEM, "out of memory importing ONNX"); }

static mint_status ox_pbfail(const char *where, const char *why)
{
    return mint_fail(MINT_E_FORMAT, "ONNX file is truncated or corrupt: %s: %s", where, why ? why : "bad data");
}

/* Copy a string field into the arena (NUL-terminated, no embedded NUL). */
static mint_status ox_get_str(ictx *x, const pb_field *f, const char **out, const char *where)
{
    if (f->wire != PB_LEN)
        return ox_pbfail(where, "string field has the wrong wire type");
    if (f->len > OX_MAX_NAME)
        return mint_fail(MINT_E_FORMAT, "malformed ONNX file: %s: name of %zu bytes is too long",
                         where, f->len);
    if (f->len && memchr(f->data, 0, f->len))
        return ox_pbfail(where, "name contains a NUL byte");
    char *s = ox_alloc(x, f->len + 1);
    if (!s)
        return ox_nomem();
    if (f->len)
        memcpy(s, f->data, f->len);
    s[f->len] = 0;
    *out = s;
    return MINT_OK;
}

int ox_span_eq(span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

void ox_dims_str(char *buf, size_t cap, int rank, const int64_t *dims)
{
    size_t o = 0;
    buf[0] = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (int i = 0; i < rank && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (o < cap)
        snprintf(buf + o, cap - o, "]");
}

/* ------------------------------------------------------------------ */
static uint64_t ox_rd_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ------------------------------------------------------------------ */
/* TensorProto                                                         */

/* What pass 1 over a TensorProto found besides c's metadata. */
typedef struct {
    span raw;
    int has_raw, external, has_segment;
    size_t nfl, ni32, ni64, nother; /* values in float_data, int32_data, int64_data; other
                                     * typed fields */
} tensor_scan;

/* Pass 1: metadata (dims, dtype, name unless given) into c, value counts
 * into k. */
static mint_status scan_tensor(ictx *x, span sp, oconst *c, const char *what, const char *name,
                               tensor_scan *k)
{
    pb_buf b;
    pb_field f;
    const char *why = NULL;
    int r;
    pb_init(&b, sp.p, sp.n);
    while ((r = pb_next(&b, &f, &why)) == PB_OK) {
        size_t cnt;
        mint_status st;
        switch (f.num) {
        case 1: { /* dims */
            pb_iter it;
            uint64_t v;
            if (pb_iter_init(&it, &f, PB_VARINT) != PB_OK)
                return ox_pbfail("TensorProto.dims", "wrong wire type");
            while ((r = pb_iter_next(&it, &v)) == PB_OK) {
                if (c->rank >= OX_MAX_RANK)
                    return mint_fail(MINT_E_UNSUPPORTED, "%s '%s': rank above %d",
                                     what, c->name ? c->name : "?", OX_MAX_RANK);
                c->dims[c->rank++] = pb_as_i64(v);
            }
            if (r == PB_ERR)
                return ox_pbfail("TensorProto.dims", "bad varint");
            break;
        }
        case 2:
            if (f.wire != PB_VARINT || f.u > 1000)
                return ox_pbfail("TensorProto.data_type", "bad value");
            c->dtype = (int)f.u;
            break;
        case 3:
            k->has_segment = 1;
            break;
        case 4:
            if (pb_count(&f, PB_I32, &cnt) != PB_OK)
                return ox_pbfail("TensorProto.float_data", "bad packing");
            k->nfl += cnt;
            break;
        case 5:
            if (pb_count(&f, PB_VARINT, &cnt) != PB_OK)
                return ox_pbfail("TensorProto.int32_data", "bad packing");
            k->ni32 += cnt;
            break;
        case 7:
            if (pb_count(&f, PB_VARINT, &cnt) != PB_OK)
                return ox_pbfail("TensorProto.int64_data", "bad packing");
            k->ni64 += cnt;
            break;
        case 6: case 10: case 11:
            k->nother++;
            break;
        case 8:
            if (!name) {
                if ((st = ox_get_str(x, &f, &c->name, "TensorProto.name")))
                    return st;
            }
            break;
        case 9:
            if (f.wire != PB_LEN)
                return ox_pbfail("TensorProto.raw_data", "wrong wire type");
            k->raw.p = f.data;
            k->raw.n = f.len;
            k->has_raw = 1;
            break;
        case 13:
            k->external = 1;
            break;
        case 14:
            if (f.wire == PB_VARINT && f.u == 1)
                k->external = 1;
            break;
        default:
            break;
        }
    }
    if (r == PB_ERR)
        return ox_pbfail("TensorProto", why);
    return MINT_OK;
}

/* What pass 1 found, checked: a name, data inside the file, a supported
 * dtype, dims within bounds (c->numel), and values in the one field the
 * dtype may use, as many as the dims need. *esize: bytes per raw value. */
static mint_status check_tensor(oconst *c, const char *what, const tensor_scan *k,
                                size_t *esize)
{
    if (!c->name)
        c->name = "";
    if (strcmp(what, "initializer") == 0 && !c->name[0])
        return mint_fail(MINT_E_FORMAT, "malformed ONNX file: an initializer has no name");
    if (k->external)
        return mint_fail(MINT_E_UNSUPPORTED,
                         "%s '%s' uses external data; re-export with the weights inside the .onnx file",
                         what, c->name);
    if (k->has_segment)
        return mint_fail(MINT_E_UNSUPPORTED, "%s '%s' is a segment of a tensor (not supported)",
                         what, c->name);
    int dt = c->dtype;
    if (dt != DT_FLOAT && dt != DT_FLOAT16 && dt != DT_INT64 && dt != DT_INT32 && dt != DT_BOOL)
        return mint_fail(MINT_E_UNSUPPORTED,
                         "%s '%s' has data type %s; mint reads FLOAT, FLOAT16 and INT64 tensors",
                         what, c->name, ox_dtype_name(dt));
    int64_t numel = 1;
    for (int i = 0; i < c->rank; i++) {
        if (c->dims[i] < 0 || c->dims[i] > OX_MAX_NUMEL)
            return mint_fail(MINT_E_FORMAT, "%s '%s': invalid dimension %lld", what, c->name,
                             (long long)c->dims[i]);
        if (c->dims[i] && numel > OX_MAX_NUMEL / c->dims[i]) {
            char ds[200];
            ox_dims_str(ds, sizeof ds, c->rank, c->dims);
            return mint_fail(MINT_E_FORMAT, "%s '%s': dims %s hold more than 2^32 elements",
                             what, c->name, ds);
        }
        numel *= c->dims[i];
    }
    c->numel = numel;
    *esize = dt == DT_FLOAT || dt == DT_INT32 ? 4 : dt == DT_FLOAT16 ? 2 : dt == DT_BOOL ? 1 : 8;
    /* the one typed field this dtype may use */
    size_t ntyped = dt == DT_FLOAT ? k->nfl : dt == DT_INT64 ? k->ni64 : k->ni32;
    size_t nwrong = k->nfl + k->ni32 + k->ni64 - ntyped + k->nother;
    if (nwrong)
        return mint_fail(MINT_E_FORMAT, "%s '%s': data stored in a field that does not match type %s",
                         what, c->name, ox_dtype_name(dt));
    if (k->has_raw && ntyped)
        return mint_fail(MINT_E_FORMAT, "%s '%s' has both raw_data and typed data", what, c->name);
    size_t have = k->has_raw ? k->raw.n / *esize : ntyped;
    if ((k->has_raw && k->raw.n % *esize) || have != (uint64_t)numel) {
        char ds[160];
        ox_dims_str(ds, sizeof ds, c->rank, c->dims);
        return mint_fail(MINT_E_FORMAT, "%s '%s': %s holds %zu values but its dims %s need %lld",
                         what, c->name, k->has_raw ? "raw_data" : "typed data", have, ds,
                         (long long)numel);
    }
    return MINT_OK;
}

/* The values from raw_data (little-endian, esize bytes each). */
static void read_raw(oconst *c, const uint8_t *p, size_t esize)
{
    const int dt = c->dtype;
    const int64_t numel = c->numel;
    if (dt == DT_FLOAT) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (numel)
            memcpy(c->f, p, (size_t)numel * 4);
#else
        for (int64_t k = 0; k < numel; k++)
            c->f[k] = pb_as_float(ox_rd_le(p + 4 * k, 4));
#endif
    } else if (dt == DT_FLOAT16) {
        for (int64_t k = 0; k < numel; k++)
            c->f[k] = base_f16_to_f32((uint16_t)ox_rd_le(p + 2 * k, 2));
    } else {
        for (int64_t k = 0; k < numel; k++) {
            uint64_t v = ox_rd_le(p + esize * (size_t)k, (int)esize);
            c->i[k] = dt == DT_INT32 ? (int64_t)(int32_t)(uint32_t)v : pb_as_i64(v);
        }
    }
}

/* The values from the typed field of the dtype (dst: the buffer of c). */
static mint_status read_typed(oconst *c, span sp, void *dst)
{
    const int dt = c->dtype;
    const int64_t numel = c->numel;
    pb_buf b;
    pb_field f;
    int want = dt == DT_FLOAT ? 4 : dt == DT_INT64 ? 7 : 5;
    int64_t k = 0;
    pb_init(&b, sp.p, sp.n);
    while (pb_next(&b, &f, NULL) == PB_OK) {
        if ((int)f.num != want)
            continue;
        pb_iter it;
        uint64_t v;
        if (pb_iter_init(&it, &f, want == 4 ? PB_I32 : PB_VARINT) != PB_OK) {
            free(dst); /* cannot happen: checked in pass 1 */
            c->f = NULL;
            c->i = NULL;
            return ox_pbfail("TensorProto data", "bad packing");
        }
        while (k < numel && pb_iter_next(&it, &v) == PB_OK) {
            if (dt == DT_FLOAT)
                c->f[k++] = pb_as_float(v);
            else if (dt == DT_FLOAT16) /* int32_data holds the 16 bits */
                c->f[k++] = base_f16_to_f32((uint16_t)v);
            else if (dt == DT_INT64)
                c->i[k++] = pb_as_i64(v);
            else
                c->i[k++] = (int64_t)(int32_t)(uint32_t)v;
        }
    }
    return MINT_OK;
}

/* Read a TensorProto into c (name from the tensor unless given).
 * what: "initializer" or "constant" (for messages). */
mint_status ox_parse_tensor(ictx *x, span sp, oconst *c, const char *what, const char *name)
{
    tensor_scan k;
    memset(&k, 0, sizeof k);
    memset(c, 0, sizeof *c);
    c->wid = -1;
    c->name = name;
    c->dtype = 0;
    size_t esize = 0;
    mint_status st = scan_tensor(x, sp, c, what, name, &k);
    if (!st)
        st = check_tensor(c, what, &k, &esize);
    if (st)
        return st;
    /* pass 2: convert the values once, into the buffer kept for the graph */
    const int dt = c->dtype;
    const int64_t numel = c->numel;
    size_t bytes = (size_t)(numel ? numel : 1) * (dt == DT_FLOAT || dt == DT_FLOAT16 ? 4 : 8);
    void *dst = malloc(bytes);
    if (!dst)
        return mint_fail(MINT_E_NOMEM, "%s '%s': cannot allocate %zu bytes", what, c->name, bytes);
    if (dt == DT_FLOAT || dt == DT_FLOAT16)
        c->f = dst;
    else
        c->i = dst;
    if (k.has_raw) {
        read_raw(c, k.raw.p, esize);
        return MINT_OK;
    }
    return read_typed(c, sp, dst);
}

void ox_const_free(oconst *c)
{
    if (!c->handed)
        free(c->f);
    free(c->i);
    c->f = NULL;
    c->i = NULL;
}

/* ------------------------------------------------------------------ */
/* NodeProto / AttributeProto                                          */

static mint_status ox_parse_attr(ictx *x, span sp, oattr *a)
{
    pb_buf b;
    pb_field f;
    const char *why = NULL;
    int r;
    mint_status st;
    memset(a, 0, sizeof *a);
    a->name = "";
    pb_init(&b, sp.p, sp.n);
    while ((r = pb_next(&b, &f, &why)) == PB_OK) {
        switch (f.num) {
        case 1:
            if ((st = ox_get_str(x, &f, &a->name, "AttributeProto.name")))
                return st;
            break;
        case 20:
            if (f.wire != PB_VARINT || f.u > 100)
                return ox_pbfail("AttributeProto.type", "bad value");
            a->type = (int)f.u;
            break;
        case 2:
            if (f.wire != PB_I32)
                return ox_pbfail("AttributeProto.f", "wrong wire type");
            a->f = pb_as_float(f.u);
            a->has_f = 1;
            break;
        case 3:
            if (f.wire != PB_VARINT)
                return ox_pbfail("AttributeProto.i", "wrong wire type");
            a->i = pb_as_i64(f.u);
            a->has_i = 1;
            break;
        case 4:
            if (f.wire != PB_LEN)
                return ox_pbfail("AttributeProto.s", "wrong wire type");
            a->s = (span){ f.data, f.len };
            a->has_s = 1;
            break;
        case 5:
            if (f.wire != PB_LEN)
                return ox_pbfail("AttributeProto.t", "wrong wire type");
            a->t = (span){ f.data, f.len };
            a->has_t = 1;
            break;
        case 7:
        case 8: {
            pb_iter it;
            uint64_t v;
            if (pb_iter_init(&it, &f, f.num == 7 ? PB_I32 : PB_VARINT) != PB_OK)
                return ox_pbfail(f.num == 7 ? "AttributeProto.floats" : "AttributeProto.ints",
                              "wrong wire type");
            while ((r = pb_iter_next(&it, &v)) == PB_OK) {
                int *n = f.num == 7 ? &a->nfloats : &a->nints;
                if (*n < OX_MAX_LIST) {
                    if (f.num == 7)
                        a->floats[*n] = pb_as_float(v);
                    else
                        a->ints[*n] = pb_as_i64(v);
                }
                if (*n < 1000000000)
                    (*n)++;
            }
            if (r == PB_ERR)
                return ox_pbfail("AttributeProto.ints", "bad varint");
            break;
        }
        default:
            break;
        }
    }
    if (r == PB_ERR)
        return ox_pbfail("AttributeProto", why);
    return MINT_OK;
}

/* Read a list of strings (repeated field num) of a message into the arena. */
mint_status ox_parse_node(ictx *x, span sp, onode *n, int index)
{
    pb_buf b;
    pb_field f;
    const char *why = NULL;
    int r;
    mint_status st;
    size_t nin = 0, nout = 0, nattr = 0;
    memset(n, 0, sizeof *n);
    n->index = index;
    n->name = n->op = n->domain = "";
    pb_init(&b, sp.p, sp.n);
    while ((r = pb_next(&b, &f, &why)) == PB_OK) {
        nin += f.num == 1;
        nout += f.num == 2;
        nattr += f.num == 5;
    }
    if (r == PB_ERR)
        return ox_pbfail("NodeProto", why);
    if (nin > OX_MAX_IO || nout > OX_MAX_IO || nattr > OX_MAX_IO)
        return mint_fail(MINT_E_FORMAT, "malformed ONNX file: node %d has too many fields", index);
    n->in = ox_alloc(x, (nin + 1) * sizeof *n->in);
    n->out = ox_alloc(x, (nout + 1) * sizeof *n->out);
    n->attrs = ox_alloc(x, (nattr + 1) * sizeof *n->attrs);
    if (!n->in || !n->out || !n->attrs)
        return ox_nomem();
    pb_init(&b, sp.p, sp.n);
    while (pb_next(&b, &f, NULL) == PB_OK) {
        switch (f.num) {
        case 1:
            if ((st = ox_get_str(x, &f, &n->in[n->nin++], "NodeProto.input")))
                return st;
            break;
        case 2:
            if ((st = ox_get_str(x, &f, &n->out[n->nout++], "NodeProto.output")))
                return st;
            break;
        case 3:
            if ((st = ox_get_str(x, &f, &n->name, "NodeProto.name")))
                return st;
            break;
        case 4:
            if ((st = ox_get_str(x, &f, &n->op, "NodeProto.op_type")))
                return st;
            break;
        case 7:
            if ((st = ox_get_str(x, &f, &n->domain, "NodeProto.domain")))
                return st;
            break;
        case 5:
            if (f.wire != PB_LEN)
                return ox_pbfail("NodeProto.attribute", "wrong wire type");
            if ((st = ox_parse_attr(x, (span){ f.data, f.len }, &n->attrs[n->nattrs++])))
                return st;
            break;
        default:
            break;
        }
    }
    /* a missing trailing optional input may be written as "" */
    while (n->nin > 0 && !n->in[n->nin - 1][0])
        n->nin--;
    /* default names "<op>_<index>", and unique names for the graph */
    if (!n->name[0]) {
        char buf[OX_MAX_NAME + 32];
        snprintf(buf, sizeof buf, "%s_%d", n->op[0] ? n->op : "node", index);
        char *s = ox_alloc(x, strlen(buf) + 1);
        if (!s)
            return ox_nomem();
        strcpy(s, buf);
        n->name = s;
    }
    if (base_nameidx_get(&x->nmap, n->name) >= 0) {
        /* duplicate: "<name>_<index>", then "<name>_<index>_<k>" (distinct
         * candidates, never truncated: the loop ends) */
        char buf[OX_MAX_NAME + 96];
        const char *base = n->name;
        snprintf(buf, sizeof buf, "%s_%d", base, index);
        for (int k = 1; base_nameidx_get(&x->nmap, buf) >= 0; k++)
            snprintf(buf, sizeof buf, "%s_%d_%d", base, index, k);
        char *s = ox_alloc(x, strlen(buf) + 1);
        if (!s)
            return ox_nomem();
        strcpy(s, buf);
        n->name = s;
    }
    if (base_nameidx_put(&x->nmap, n->name, index))
        return ox_nomem();
    return MINT_OK;
}

/* ------------------------------------------------------------------ */
/* graph input (ValueInfoProto -> TypeProto -> TensorShapeProto)       */


static mint_status ox_parse_shape(span sp, ovinfo *v)
{
    pb_buf b, db;
    pb_field f, df;
    const char *why = NULL;
    int r;
    pb_init(&b, sp.p, sp.n);
    v->has_shape = 1;
    while ((r = pb_next(&b, &f, &why)) == PB_OK) {
        if (f.num != 1)
            continue;
        if (f.wire != PB_LEN)
            return ox_pbfail("TensorShapeProto.dim", "wrong wire type");
        int64_t d = -1;
        pb_sub(&db, &f);
        while ((r = pb_next(&db, &df, &why)) == PB_OK)
            if (df.num == 1 && df.wire == PB_VARINT)
                d = pb_as_i64(df.u);
            else if (df.num == 2)
                d = -1;
        if (r == PB_ERR)
            return ox_pbfail("TensorShapeProto.Dimension", why);
        if (v->rank < 4)
            v->dims[v->rank] = d;
        if (v->rank < 1000)
            v->rank++;
    }
    if (r == PB_ERR)
        return ox_pbfail("TensorShapeProto", why);
    return MINT_OK;
}

mint_status ox_parse_vinfo(ictx *x, span sp, ovinfo *v)
{
    pb_buf b, tb, ttb;
    pb_field f, tf, ttf;
    const char *why = NULL;
    int r;
    mint_status st;
    memset(v, 0, sizeof *v);
    v->name = "";
    pb_init(&b, sp.p, sp.n);
    while ((r = pb_next(&b, &f, &why)) == PB_OK) {
        if (f.num == 1) {
            if ((st = ox_get_str(x, &f, &v->name, "ValueInfoProto.name")))
                return st;
        } else if (f.num == 2) { /* TypeProto */
            if (f.wire != PB_LEN)
                return ox_pbfail("ValueInfoProto.type", "wrong wire type");
            pb_sub(&tb, &f);
            while ((r = pb_next(&tb, &tf, &why)) == PB_OK) {
                if (tf.num != 1) /* tensor_type */
                    continue;
                if (tf.wire != PB_LEN)
                    return ox_pbfail("TypeProto.tensor_type", "wrong wire type");
                pb_sub(&ttb, &tf);
                while ((r = pb_next(&ttb, &ttf, &why)) == PB_OK) {
                    if (ttf.num == 1 && ttf.wire == PB_VARINT)
                        v->elem = (int)(ttf.u & 0xFFFF);
                    else if (ttf.num == 2 && ttf.wire == PB_LEN &&
                             (st = ox_parse_shape((span){ ttf.data, ttf.len }, v)))
                        return st;
                }
                if (r == PB_ERR)
                    return ox_pbfail("TypeProto.Tensor", why);
            }
            if (r == PB_ERR)
                return ox_pbfail("TypeProto", why);
        }
    }
    if (r == PB_ERR)
        return ox_pbfail("ValueInfoProto", why);
    return MINT_OK;
}

/* ------------------------------------------------------------------ */
/* GraphProto and ModelProto                                           */


mint_status ox_collect_graph(ictx *x, span sp, ograph *gr)
{
    pb_buf b;
    pb_field f;
    const char *why = NULL;
    int r;
    memset(gr, 0, sizeof *gr);
    pb_init(&b, sp.p, sp.n);
    while ((r = pb_next(&b, &f, &why)) == PB_OK) {
        if ((f.num == 1 || f.num == 5 || f.num == 11 || f.num == 12) && f.wire != PB_LEN)
            return ox_pbfail("GraphProto", "wrong wire type");
        gr->nnodes += f.num == 1;
        gr->ninits += f.num == 5;
        gr->ninputs += f.num == 11;
        gr->noutputs += f.num == 12;
        if (f.num == 15)
            return mint_fail(MINT_E_UNSUPPORTED, "sparse initializers are not supported");
    }
    if (r == PB_ERR)
        return ox_pbfail("GraphProto", why);
    if (gr->nnodes > OX_MAX_NODES || gr->ninits > OX_MAX_INITS || gr->ninputs > OX_MAX_IO ||
        gr->noutputs > OX_MAX_IO)
        return mint_fail(MINT_E_UNSUPPORTED, "graph is too large (%zu nodes, %zu initializers)",
                         gr->nnodes, gr->ninits);
    gr->nodes = ox_alloc(x, (gr->nnodes + 1) * sizeof(span));
    gr->inits = ox_alloc(x, (gr->ninits + 1) * sizeof(span));
    gr->inputs = ox_alloc(x, (gr->ninputs + 1) * sizeof(span));
    gr->outputs = ox_alloc(x, (gr->noutputs + 1) * sizeof(span));
    if (!gr->nodes || !gr->inits || !gr->inputs || !gr->outputs)
        return ox_nomem();
    size_t a = 0, i = 0, in = 0, o = 0;
    pb_init(&b, sp.p, sp.n);
    while (pb_next(&b, &f, NULL) == PB_OK) {
        span s = { f.data, f.len };
        if (f.num == 1)
            gr->nodes[a++] = s;
        else if (f.num == 5)
            gr->inits[i++] = s;
        else if (f.num == 11)
            gr->inputs[in++] = s;
        else if (f.num == 12)
            gr->outputs[o++] = s;
    }
    return MINT_OK;
}

mint_status ox_read_model(span sp, span *graph, int *opset)
{
    pb_buf b, ob;
    pb_field f, of;
    const char *why = NULL;
    int r, ngraph = 0;
    *opset = -1;
    pb_init(&b, sp.p, sp.n);
    while ((r = pb_next(&b, &f, &why)) == PB_OK) {
        if (f.num == 7) {
            if (f.wire != PB_LEN)
                return ox_pbfail("ModelProto.graph", "wrong wire type");
            *graph = (span){ f.data, f.len };
            ngraph++;
        } else if (f.num == 8) {
            if (f.wire != PB_LEN)
                return ox_pbfail("ModelProto.opset_import", "wrong wire type");
            span dom = { (const uint8_t *)"", 0 };
            int64_t ver = -1;
            pb_sub(&ob, &f);
            while ((r = pb_next(&ob, &of, &why)) == PB_OK) {
                if (of.num == 1 && of.wire == PB_LEN)
                    dom = (span){ of.data, of.len };
                else if (of.num == 2 && of.wire == PB_VARINT)
                    ver = pb_as_i64(of.u);
            }
            if (r == PB_ERR)
                return ox_pbfail("OperatorSetIdProto", why);
            if (ox_span_eq(dom, "") || ox_span_eq(dom, "ai.onnx"))
                *opset = ver > 1000000 ? 1000000 : ver < -1 ? -1 : (int)ver;
        }
    }
    if (r == PB_ERR)
        return ox_pbfail("ModelProto", why);
    if (ngraph != 1)
        return mint_fail(MINT_E_FORMAT, "not an ONNX model: %s", ngraph ? "several graphs" : "no graph");
    return MINT_OK;
}
