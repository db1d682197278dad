/* graph_io.c - a net_graph in the weight container (docs/format.md, 2).
 *
 * Saving writes the graph as a strict line-based text (one line per tensor,
 * weight and node, names percent-encoded) plus metadata and one F32 tensor
 * per weight. Loading parses that text with no trust in the file: every
 * line's keyword, field count, name and number is checked, every weight is
 * found by name in the tensor table and its dtype/rank/dims compared, and
 * op arities are enforced, so the executor can rely on the ids it gets. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/json.h"
#include "net/graph_io.h"

#define GRAPH_VERSION_LINE "mint-graph 1"
#define GRAPH_MAX_LINES (1 << 20)
#define MAX_FIELDS 32

/* Per-op arity: 0 = must be unused, 1 = required, 2 = optional. */
enum { SLOT_NO = 0, SLOT_REQ = 1, SLOT_OPT = 2 };
enum { ATTR_NONE = 0, ATTR_CONV, ATTR_BN, ATTR_CLIP };

static const struct {
    const char *name; /* on-disk op name (independent of net_op_name) */
    unsigned char in1, w[4], attrs;
} op_spec[NET_OP_COUNT] = {
    [NET_OP_CONV] = { "conv", SLOT_NO, { SLOT_REQ, SLOT_OPT, SLOT_NO, SLOT_NO }, ATTR_CONV },
    [NET_OP_BN] = { "bn", SLOT_NO, { SLOT_REQ, SLOT_REQ, SLOT_REQ, SLOT_REQ }, ATTR_BN },
    [NET_OP_PRELU] = { "prelu", SLOT_NO, { SLOT_REQ, SLOT_NO, SLOT_NO, SLOT_NO }, ATTR_NONE },
    [NET_OP_RELU] = { "relu", SLOT_NO, { SLOT_NO, SLOT_NO, SLOT_NO, SLOT_NO }, ATTR_NONE },
    [NET_OP_CLIP] = { "clip", SLOT_NO, { SLOT_NO, SLOT_NO, SLOT_NO, SLOT_NO }, ATTR_CLIP },
    [NET_OP_ADD] = { "add", SLOT_REQ, { SLOT_NO, SLOT_NO, SLOT_NO, SLOT_NO }, ATTR_NONE },
    [NET_OP_AFFINE] = { "affine", SLOT_NO, { SLOT_OPT, SLOT_OPT, SLOT_NO, SLOT_NO }, ATTR_NONE },
    [NET_OP_FLATTEN] = { "flatten", SLOT_NO, { SLOT_NO, SLOT_NO, SLOT_NO, SLOT_NO }, ATTR_NONE },
    [NET_OP_FC] = { "fc", SLOT_NO, { SLOT_REQ, SLOT_OPT, SLOT_NO, SLOT_NO }, ATTR_NONE },
};

/* Conv attribute keys, in the order written, with their minimum values. */
static const char *const conv_keys[11] = { "kh", "kw", "sh", "sw", "pt", "pl",
                                           "pb", "pr", "dh", "dw", "group" };
static const int conv_min[11] = { 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1 };
#define ATTR_INT_MAX 65535

static int *conv_field(net_conv_attr *a, int k)
{
    int *f[11] = { &a->kh, &a->kw, &a->sh, &a->sw, &a->pt, &a->pl,
                   &a->pb, &a->pr, &a->dh, &a->dw, &a->groups };
    return f[k];
}

/* ---- checks shared by save and load ---- */

/* Why node n of g is not storable, or NULL. */
static const char *node_problem(const net_graph *g, const net_node *n)
{
    if ((unsigned)n->op >= NET_OP_COUNT)
        return "unknown op";
    if (n->in[0] < 0 || n->in[0] >= g->ntensors)
        return "input 0 is not a tensor";
    if (n->out < 0 || n->out >= g->ntensors)
        return "output is not a tensor";
    unsigned char s = op_spec[n->op].in1;
    if (n->in[1] < -1 || n->in[1] >= g->ntensors)
        return "input 1 out of range";
    if (s == SLOT_NO && n->in[1] != -1)
        return "input 1 must be unused for this op";
    if (s == SLOT_REQ && n->in[1] == -1)
        return "input 1 is required for this op";
    for (int k = 0; k < 4; k++) {
        s = op_spec[n->op].w[k];
        if (n->w[k] < -1 || n->w[k] >= g->nweights)
            return "weight id out of range";
        if (s == SLOT_NO && n->w[k] != -1)
            return "a weight slot that must be unused is set";
        if (s == SLOT_REQ && n->w[k] == -1)
            return "a required weight is missing";
    }
    switch (op_spec[n->op].attrs) {
    case ATTR_CONV:
        for (int k = 0; k < 11; k++) {
            int v = *conv_field((net_conv_attr *)&n->conv, k);
            if (v < conv_min[k] || v > ATTR_INT_MAX)
                return "conv attribute out of range";
        }
        break;
    case ATTR_BN:
        if (!isfinite(n->eps) || n->eps < 0)
            return "bn eps must be finite and >= 0";
        break;
    case ATTR_CLIP:
        if (isnan(n->lo) || isnan(n->hi) || n->lo > n->hi)
            return "clip bounds must not be NaN and lo <= hi";
        break;
    }
    return NULL;
}

static int is_hex_lower(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* ---- text building ---- */

static int needs_escape(unsigned char c)
{
    return c <= 0x20 || c >= 0x7f || c == '%' || c == '=' || c == ';';
}

/* Append the percent-encoding of name; NULL or "" (unused id, unnamed
 * node) is written "-". */
static void sb_name(base_strbuf *b, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!name || !*name) {
        base_strbuf_puts(b, "-");
        return;
    }
    if (strcmp(name, "-") == 0) {
        base_strbuf_puts(b, "%2D");
        return;
    }
    const char *run = name; /* bytes not yet appended */
    for (const char *s = name; *s; s++)
        if (needs_escape((unsigned char)*s)) {
            char e[3] = { '%', hex[(unsigned char)*s >> 4], hex[(unsigned char)*s & 15] };
            base_strbuf_add(b, run, (size_t)(s - run));
            base_strbuf_add(b, e, 3);
            run = s + 1;
        }
    base_strbuf_puts(b, run);
}

static void sb_tensor(base_strbuf *b, const net_graph *g, int id)
{
    base_strbuf_printf(b, " ");
    sb_name(b, id >= 0 ? g->tensors[id].name : NULL);
}

static void sb_weight(base_strbuf *b, const net_graph *g, int id)
{
    base_strbuf_printf(b, " ");
    sb_name(b, id >= 0 ? g->weights[id].name : NULL);
}

mint_status net_graph_text(const net_graph *g, char **graph_text, char **taps_text)
{
    if (!g || !graph_text || !taps_text)
        return mint_fail(MINT_E_ARG, "net_graph_text: NULL argument");
    *graph_text = *taps_text = NULL;
    for (int i = 0; i < g->ntensors; i++) {
        const net_tensor *t = &g->tensors[i];
        if (!t->name || !*t->name)
            return mint_fail(MINT_E_ARG, "graph tensor %d has an empty name", i);
        if (net_graph_find_tensor(g, t->name) != i)
            return mint_fail(MINT_E_ARG, "graph tensor name '%s' is used twice", t->name);
        if (t->rank < 0 || t->rank > 3)
            return mint_fail(MINT_E_ARG, "graph tensor '%s' has rank %d", t->name, t->rank);
        for (int d = 0; d < t->rank; d++)
            if (t->shape[d] < 0 || t->shape[d] > INT32_MAX)
                return mint_fail(MINT_E_ARG, "graph tensor '%s' has dim %lld", t->name,
                                 (long long)t->shape[d]);
    }
    for (int i = 0; i < g->nweights; i++) {
        const net_weight *w = &g->weights[i];
        if (!w->name || !*w->name)
            return mint_fail(MINT_E_ARG, "graph weight %d has an empty name", i);
        if (net_graph_find_weight(g, w->name) != i)
            return mint_fail(MINT_E_ARG, "graph weight name '%s' is used twice", w->name);
        if (w->rank < 0 || w->rank > 4)
            return mint_fail(MINT_E_ARG, "graph weight '%s' has rank %d", w->name, w->rank);
        for (int d = 0; d < w->rank; d++)
            if (w->dims[d] < 0 || w->dims[d] > ((int64_t)1 << 62))
                return mint_fail(MINT_E_ARG, "graph weight '%s' has dim %lld", w->name,
                                 (long long)w->dims[d]);
    }
    for (int i = 0; i < g->nnodes; i++) {
        const char *why = node_problem(g, &g->nodes[i]);
        if (why)
            return mint_fail(MINT_E_ARG, "graph node %d '%s': %s", i,
                             g->nodes[i].name ? g->nodes[i].name : "", why);
    }
    if (g->input < -1 || g->input >= g->ntensors || g->output < -1 || g->output >= g->ntensors)
        return mint_fail(MINT_E_ARG, "graph input/output id out of range");
    if (g->ntensors > GRAPH_MAX_LINES || g->nweights > GRAPH_MAX_LINES ||
        g->nnodes > GRAPH_MAX_LINES || g->ntaps > GRAPH_MAX_LINES)
        return mint_fail(MINT_E_ARG, "graph too large to store (more than %d entries)",
                         GRAPH_MAX_LINES);
    for (int i = 0; i < g->ntaps; i++) {
        if (!g->taps[i].name || !*g->taps[i].name)
            return mint_fail(MINT_E_ARG, "graph tap %d has an empty name", i);
        if (g->taps[i].tensor < 0 || g->taps[i].tensor >= g->ntensors)
            return mint_fail(MINT_E_ARG, "graph tap '%s' names no tensor", g->taps[i].name);
        for (int j = 0; j < i; j++)
            if (strcmp(g->taps[j].name, g->taps[i].name) == 0)
                return mint_fail(MINT_E_ARG, "graph tap '%s' appears twice", g->taps[i].name);
    }

    base_strbuf b = { 0 }, t = { 0 };
    base_strbuf_printf(&b, GRAPH_VERSION_LINE "\n");
    for (int i = 0; i < g->ntensors; i++) {
        const net_tensor *x = &g->tensors[i];
        base_strbuf_printf(&b, "tensor ");
        sb_name(&b, x->name);
        base_strbuf_printf(&b, " %d", x->rank);
        for (int d = 0; d < x->rank; d++)
            base_strbuf_printf(&b, " %lld", (long long)x->shape[d]);
        base_strbuf_printf(&b, "\n");
    }
    for (int i = 0; i < g->nweights; i++) {
        const net_weight *w = &g->weights[i];
        base_strbuf_printf(&b, "weight ");
        sb_name(&b, w->name);
        base_strbuf_printf(&b, " %d", w->rank);
        for (int d = 0; d < w->rank; d++)
            base_strbuf_printf(&b, " %lld", (long long)w->dims[d]);
        base_strbuf_printf(&b, "\n");
    }
    base_strbuf_printf(&b, "input");
    sb_tensor(&b, g, g->input);
    base_strbuf_printf(&b, "\noutput");
    sb_tensor(&b, g, g->output);
    base_strbuf_printf(&b, "\n");
    for (int i = 0; i < g->nnodes; i++) {
        const net_node *n = &g->nodes[i];
        base_strbuf_printf(&b, "%s ", op_spec[n->op].name);
        sb_name(&b, n->name);
        sb_tensor(&b, g, n->in[0]);
        sb_tensor(&b, g, n->in[1]);
        sb_tensor(&b, g, n->out);
        for (int k = 0; k < 4; k++)
            sb_weight(&b, g, n->w[k]);
        switch (op_spec[n->op].attrs) {
        case ATTR_CONV:
            for (int k = 0; k < 11; k++)
                base_strbuf_printf(&b, " %s=%d", conv_keys[k], *conv_field((net_conv_attr *)&n->conv, k));
            break;
        case ATTR_BN:
            base_strbuf_printf(&b, " eps=%.9g", (double)n->eps);
            break;
        case ATTR_CLIP:
            base_strbuf_printf(&b, " lo=%.9g hi=%.9g", (double)n->lo, (double)n->hi);
            break;
        }
        base_strbuf_printf(&b, "\n");
    }
    base_strbuf_printf(&t, "%s", "");
    for (int i = 0; i < g->ntaps; i++) {
        if (i)
            base_strbuf_printf(&t, ";");
        sb_name(&t, g->taps[i].name);
        base_strbuf_printf(&t, "=");
        sb_name(&t, g->tensors[g->taps[i].tensor].name);
    }
    if (b.oom || t.oom) {
        free(b.p);
        free(t.p);
        return mint_fail(MINT_E_NOMEM, "out of memory writing the graph text");
    }
    *graph_text = b.p;
    *taps_text = t.p;
    return MINT_OK;
}

static int bounded_str(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

mint_status net_graph_add_to_writer(wt_writer *w, const net_graph *g)
{
    if (!w || !g)
        return mint_fail(MINT_E_ARG, "net_graph_add_to_writer: NULL argument");
    const net_meta *m = &g->meta;
    if (!bounded_str(m->arch, sizeof m->arch) || !bounded_str(m->source_name, sizeof m->source_name) ||
        !bounded_str(m->channel_order, sizeof m->channel_order) ||
        !bounded_str(m->source_sha256, sizeof m->source_sha256))
        return mint_fail(MINT_E_ARG, "graph metadata string not NUL-terminated");
    if (strcmp(m->channel_order, "RGB") && strcmp(m->channel_order, "BGR"))
        return mint_fail(MINT_E_ARG, "graph channel order '%s' is not RGB or BGR", m->channel_order);
    size_t hl = strlen(m->source_sha256);
    if (hl != 0 && (hl != 64 || !is_hex_lower(m->source_sha256, 64)))
        return mint_fail(MINT_E_ARG, "graph source_sha256 is not 64 lower-case hex digits");
    int64_t shape[3] = { m->in_c, m->in_h, m->in_w };
    for (int i = 0; i < 3; i++)
        if (shape[i] < 1 || shape[i] > 65536)
            return mint_fail(MINT_E_ARG, "graph input shape %dx%dx%d outside 1..65536", m->in_c,
                             m->in_h, m->in_w);
    for (int i = 0; i < 3; i++)
        if (!isfinite(m->mean[i]) || !isfinite(m->std[i]) || m->std[i] == 0)
            return mint_fail(MINT_E_ARG, "graph input mean/std must be finite, std non-zero");
    for (int i = 0; i < g->nweights; i++)
        if (!g->weights[i].data && net_weight_numel(&g->weights[i]) > 0)
            return mint_fail(MINT_E_ARG, "graph weight '%s' has no data", g->weights[i].name);

    char *text, *taps;
    mint_status st = net_graph_text(g, &text, &taps);
    if (st)
        return st;
    if ((st = wt_writer_meta_str(w, "mint.arch", m->arch)) ||
        (st = wt_writer_meta_i64_arr(w, "mint.input_shape", shape, 3)) ||
        (st = wt_writer_meta_f32_arr(w, "mint.input_mean", m->mean, 3)) ||
        (st = wt_writer_meta_f32_arr(w, "mint.input_std", m->std, 3)) ||
        (st = wt_writer_meta_str(w, "mint.channel_order", m->channel_order)) ||
        (st = wt_writer_meta_str(w, "mint.source_name", m->source_name)) ||
        (st = wt_writer_meta_str(w, "mint.source_sha256", m->source_sha256)) ||
        (st = wt_writer_meta_str(w, "mint.taps", taps)) ||
        (st = wt_writer_meta_str(w, "mint.graph", text)))
        goto out;
    for (int i = 0; i < g->nweights; i++) {
        const net_weight *x = &g->weights[i];
        if ((st = wt_writer_tensor(w, x->name, BASE_F32, x->rank, x->dims, x->data)))
            goto out;
    }
out:
    free(text);
    free(taps);
    return st;
}

mint_status net_graph_save(const net_graph *g, const char *path)
{
    if (!g || !path)
        return mint_fail(MINT_E_ARG, "net_graph_save: NULL argument");
    wt_writer *w = wt_writer_new();
    if (!w)
        return mint_fail(MINT_E_NOMEM, "%s: out of memory", path);
    mint_status st = net_graph_add_to_writer(w, g);
    if (!st)
        st = wt_writer_write(w, path);
    wt_writer_free(w);
    return st;
}

/* ---- text parsing ---- */

typedef struct {
    net_graph *g;
    const wt_file *f;
    int line;
    char *dec;        /* decode buffer, as long as the longest line + 1 */
    char *dec2;
} parser;

static mint_status perr(const parser *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static mint_status perr(const parser *p, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mint_fail(MINT_E_FORMAT, "mint.graph line %d: %s", p->line, msg);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decode field [s, s+n) into out (NUL-terminated). -1 if malformed. */
static int decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n)
                return -1;
            int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
            if (a < 0 || b < 0 || (a == 0 && b == 0))
                return -1;
            out[o++] = (char)(a * 16 + b);
            i += 2;
        } else if (s[i] == '=' || s[i] == ';' || (unsigned char)s[i] <= 0x20 ||
                   (unsigned char)s[i] >= 0x7f) {
            return -1;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return o ? 0 : -1;
}

typedef struct {
    const char *s;
    size_t n;
} field;

static int field_is(field f, const char *w)
{
    return strlen(w) == f.n && memcmp(f.s, w, f.n) == 0;
}

/* Strict unsigned decimal: no sign, no leading zeros; 0..max. */
static int parse_uint(field f, int64_t max, int64_t *v)
{
    if (f.n == 0 || f.n > 19 || (f.n > 1 && f.s[0] == '0'))
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i < f.n; i++) {
        if (f.s[i] < '0' || f.s[i] > '9')
            return -1;
        int d = f.s[i] - '0';
        if (d > max || x > (max - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

static int parse_float(field f, float *v)
{
    char buf[64];
    if (f.n == 0 || f.n >= sizeof buf)
        return -1;
    memcpy(buf, f.s, f.n);
    buf[f.n] = '\0';
    char *end;
    errno = 0;
    float x = strtof(buf, &end);
    if (end != buf + f.n || isnan(x))
        return -1;
    *v = x;
    return 0;
}

/* Tensor id named by field ('-' = -1 when allow_dash). */
static mint_status tensor_ref(parser *p, field f, int allow_dash, const char *what, int *id)
{
    if (field_is(f, "-")) {
        if (!allow_dash)
            return perr(p, "%s must name a tensor, not '-'", what);
        *id = -1;
        return MINT_OK;
    }
    if (decode(f.s, f.n, p->dec))
        return perr(p, "%s: malformed name", what);
    *id = net_graph_find_tensor(p->g, p->dec);
    if (*id < 0)
        return perr(p, "%s: unknown tensor '%.100s'", what, p->dec);
    return MINT_OK;
}

static mint_status weight_ref(parser *p, field f, int *id)
{
    if (field_is(f, "-")) {
        *id = -1;
        return MINT_OK;
    }
    if (decode(f.s, f.n, p->dec))
        return perr(p, "malformed weight name");
    *id = net_graph_find_weight(p->g, p->dec);
    if (*id < 0)
        return perr(p, "unknown weight '%.100s'", p->dec);
    return MINT_OK;
}

static mint_status parse_decl(parser *p, field *fl, int nf, int is_weight)
{
    int64_t rank, dims[4] = { 0 };
    int maxrank = is_weight ? 4 : 3;
    if (nf < 3 || parse_uint(fl[2], maxrank, &rank))
        return perr(p, "%s: expected name and rank 0..%d", is_weight ? "weight" : "tensor", maxrank);
    if (nf != 3 + rank)
        return perr(p, "%s: rank %d needs %d fields, got %d", is_weight ? "weight" : "tensor",
                    (int)rank, (int)(3 + rank), nf);
    for (int d = 0; d < rank; d++)
        if (parse_uint(fl[3 + d], is_weight ? ((int64_t)1 << 62) : INT32_MAX, &dims[d]))
            return perr(p, "dim %d out of range", d);
    if (decode(fl[1].s, fl[1].n, p->dec))
        return perr(p, "malformed name");
    const char *name = p->dec;
    net_graph *g = p->g;
    if (!is_weight) {
        if (net_graph_find_tensor(g, name) >= 0)
            return perr(p, "tensor '%.100s' declared twice", name);
        int id = net_graph_tensor(g, name);
        if (id < 0)
            return mint_fail(MINT_E_NOMEM, "out of memory loading the graph");
        g->tensors[id].rank = (int)rank;
        for (int d = 0; d < rank; d++)
            g->tensors[id].shape[d] = dims[d];
        return MINT_OK;
    }
    if (net_graph_find_weight(g, name) >= 0)
        return perr(p, "weight '%.100s' declared twice", name);
    const wt_tensor *t = wt_tensor_find(p->f, name);
    if (!t)
        return perr(p, "weight '%.100s' is not in the tensor table", name);
    if (t->dtype != BASE_F32)
        return perr(p, "weight '%.100s' is not f32 in the tensor table", name);
    if (t->rank != rank)
        return perr(p, "weight '%.100s' has rank %d in the tensor table, %d here", name, t->rank,
                    (int)rank);
    for (int d = 0; d < rank; d++)
        if (t->dims[d] != dims[d])
            return perr(p, "weight '%.100s' dim %d is %lld in the tensor table, %lld here", name, d,
                        (long long)t->dims[d], (long long)dims[d]);
    if (net_graph_add_weight(g, name, (int)rank, dims, (float *)(uintptr_t)t->data, 0) < 0)
        return mint_fail(MINT_E_NOMEM, "out of memory loading the graph");
    return MINT_OK;
}

static mint_status parse_node(parser *p, net_op op, field *fl, int nf)
{
    if (nf < 9)
        return perr(p, "%s: expected at least 9 fields, got %d", op_spec[op].name, nf);
    int in0, in1, out, w[4];
    mint_status st;
    if ((st = tensor_ref(p, fl[2], 0, "input 0", &in0)) ||
        (st = tensor_ref(p, fl[3], 1, "input 1", &in1)) ||
        (st = tensor_ref(p, fl[4], 0, "output", &out)))
        return st;
    for (int k = 0; k < 4; k++)
        if ((st = weight_ref(p, fl[5 + k], &w[k])))
            return st;
    const char *name = "";
    if (!field_is(fl[1], "-")) {
        if (decode(fl[1].s, fl[1].n, p->dec2))
            return perr(p, "malformed node name");
        name = p->dec2;
    }
    net_node tmp = { .op = op, .in = { in0, in1 }, .out = out, .w = { w[0], w[1], w[2], w[3] } };
    tmp.conv = (net_conv_attr){ 0 };
    tmp.eps = 0;
    tmp.lo = tmp.hi = 0;
    /* attributes: each expected key exactly once */
    const char *keys[11];
    int nkeys = 0;
    switch (op_spec[op].attrs) {
    case ATTR_CONV:
        for (int k = 0; k < 11; k++)
            keys[nkeys++] = conv_keys[k];
        break;
    case ATTR_BN:
        keys[nkeys++] = "eps";
        break;
    case ATTR_CLIP:
        keys[nkeys++] = "lo";
        keys[nkeys++] = "hi";
        break;
    }
    if (nf - 9 != nkeys)
        return perr(p, "%s: expected %d attributes, got %d", op_spec[op].name, nkeys, nf - 9);
    int seen[11] = { 0 };
    for (int a = 9; a < nf; a++) {
        const char *eq = memchr(fl[a].s, '=', fl[a].n);
        if (!eq)
            return perr(p, "attribute %d is not key=value", a - 8);
        field key = { fl[a].s, (size_t)(eq - fl[a].s) };
        field val = { eq + 1, fl[a].n - key.n - 1 };
        int k;
        for (k = 0; k < nkeys; k++)
            if (field_is(key, keys[k]))
                break;
        if (k == nkeys)
            return perr(p, "unknown attribute '%.*s' for %s", (int)(key.n > 40 ? 40 : key.n), key.s,
                        op_spec[op].name);
        if (seen[k]++)
            return perr(p, "attribute '%s' given twice", keys[k]);
        if (op_spec[op].attrs == ATTR_CONV) {
            int64_t v;
            if (parse_uint(val, ATTR_INT_MAX, &v) || v < conv_min[k])
                return perr(p, "attribute %s out of range %d..%d", keys[k], conv_min[k], ATTR_INT_MAX);
            *conv_field(&tmp.conv, k) = (int)v;
        } else {
            float v;
            if (parse_float(val, &v))
                return perr(p, "attribute %s is not a number", keys[k]);
            if (op_spec[op].attrs == ATTR_BN)
                tmp.eps = v;
            else if (k == 0)
                tmp.lo = v;
            else
                tmp.hi = v;
        }
    }
    const char *why = node_problem(p->g, &tmp);
    if (why)
        return perr(p, "%s node: %s", op_spec[op].name, why);
    int id = net_graph_add_node(p->g, op, name, in0, in1, out, w);
    if (id < 0)
        return mint_fail(MINT_E_NOMEM, "out of memory loading the graph");
    net_node *n = &p->g->nodes[id];
    switch (op_spec[op].attrs) {
    case ATTR_CONV:
        n->conv = tmp.conv;
        break;
    case ATTR_BN:
        n->eps = tmp.eps;
        break;
    case ATTR_CLIP:
        n->lo = tmp.lo;
        n->hi = tmp.hi;
        break;
    }
    return MINT_OK;
}

static mint_status parse_graph(parser *p, const char *text, size_t len)
{
    if (len == 0 || memchr(text, '\0', len))
        return mint_fail(MINT_E_FORMAT, "mint.graph is empty or contains a NUL byte");
    if (text[len - 1] != '\n')
        return mint_fail(MINT_E_FORMAT, "mint.graph does not end with a newline");
    int have_in = 0, have_out = 0, counts[4] = { 0 };
    mint_status st;
    const char *s = text, *end = text + len;
    for (p->line = 1; s < end; p->line++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = (size_t)(nl - s);
        field fl[MAX_FIELDS];
        int nf = 0;
        if (n == 0)
            return perr(p, "empty line");
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x20 || c > 0x7e)
                return perr(p, "control or non-ASCII byte");
        }
        for (size_t i = 0; i <= n;) {
            const char *sp = memchr(s + i, ' ', n - i);
            size_t e = sp ? (size_t)(sp - s) : n;
            if (e == i)
                return perr(p, "empty field (leading, trailing or double space)");
            if (nf == MAX_FIELDS)
                return perr(p, "too many fields");
            fl[nf++] = (field){ s + i, e - i };
            i = e + 1;
            if (!sp)
                break;
            if (i == n)
                return perr(p, "trailing space");
        }
        if (p->line == 1) {
            if (n != strlen(GRAPH_VERSION_LINE) || memcmp(s, GRAPH_VERSION_LINE, n))
                return perr(p, "expected '" GRAPH_VERSION_LINE "' (unknown graph text version)");
        } else if (field_is(fl[0], "tensor") || field_is(fl[0], "weight")) {
            int w = field_is(fl[0], "weight");
            if (++counts[w] > GRAPH_MAX_LINES)
                return perr(p, "too many %s lines", w ? "weight" : "tensor");
            if ((st = parse_decl(p, fl, nf, w)))
                return st;
        } else if (field_is(fl[0], "input") || field_is(fl[0], "output")) {
            int o = field_is(fl[0], "output");
            int *have = o ? &have_out : &have_in;
            if ((*have)++)
                return perr(p, "second '%s' line", o ? "output" : "input");
            if (nf != 2)
                return perr(p, "'%s' takes one field", o ? "output" : "input");
            int id;
            if ((st = tensor_ref(p, fl[1], 1, o ? "output" : "input", &id)))
                return st;
            if (o)
                p->g->output = id;
            else
                p->g->input = id;
        } else {
            int op;
            for (op = 0; op < NET_OP_COUNT; op++)
                if (field_is(fl[0], op_spec[op].name))
                    break;
            if (op == NET_OP_COUNT)
                return perr(p, "unknown keyword or op '%.*s'", (int)(fl[0].n > 40 ? 40 : fl[0].n),
                            fl[0].s);
            if (++counts[2] > GRAPH_MAX_LINES)
                return perr(p, "too many node lines");
            if ((st = parse_node(p, (net_op)op, fl, nf)))
                return st;
        }
        s = nl + 1;
    }
    if (!have_in || !have_out)
        return mint_fail(MINT_E_FORMAT, "mint.graph has no '%s' line", have_in ? "output" : "input");
    return MINT_OK;
}

static mint_status parse_taps(parser *p, const char *s, size_t len)
{
    if (memchr(s, '\0', len))
        return mint_fail(MINT_E_FORMAT, "mint.taps contains a NUL byte");
    const char *end = s + len;
    for (int i = 0; s < end; i++) {
        const char *semi = memchr(s, ';', (size_t)(end - s));
        const char *e = semi ? semi : end;
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (!eq || memchr(eq + 1, '=', (size_t)(e - eq - 1)))
            return mint_fail(MINT_E_FORMAT, "mint.taps entry %d is not name=tensor", i);
        if (decode(s, (size_t)(eq - s), p->dec2) || decode(eq + 1, (size_t)(e - eq - 1), p->dec))
            return mint_fail(MINT_E_FORMAT, "mint.taps entry %d: malformed name", i);
        if (net_graph_find_tap(p->g, p->dec2) >= 0)
            return mint_fail(MINT_E_FORMAT, "mint.taps: tap '%.100s' given twice", p->dec2);
        int t = net_graph_find_tensor(p->g, p->dec);
        if (t < 0)
            return mint_fail(MINT_E_FORMAT, "mint.taps: tap '%.100s' names unknown tensor '%.100s'",
                             p->dec2, p->dec);
        mint_status st = net_graph_add_tap(p->g, p->dec2, t);
        if (st)
            return st;
        if (!semi)
            break;
        s = semi + 1;
        if (s == end)
            return mint_fail(MINT_E_FORMAT, "mint.taps ends with ';'");
    }
    return MINT_OK;
}

static mint_status get_meta(const wt_file *f, const char *key, wt_meta_type type,
                            const wt_meta **out)
{
    const wt_meta *m = wt_meta_find(f, key);
    if (!m)
        return mint_fail(MINT_E_FORMAT, "missing metadata '%s'", key);
    if (m->type != type)
        return mint_fail(MINT_E_FORMAT, "metadata '%s' has type %d, expected %d", key, (int)m->type,
                         (int)type);
    *out = m;
    return MINT_OK;
}

/* A STR value copied into dst[cap] (no NUL inside, shorter than cap). */
static mint_status get_str(const wt_file *f, const char *key, char *dst, size_t cap)
{
    const wt_meta *m;
    mint_status st = get_meta(f, key, WT_META_STR, &m);
    if (st)
        return st;
    if (m->len >= cap || memchr(m->str, '\0', (size_t)m->len))
        return mint_fail(MINT_E_FORMAT, "metadata '%s' is longer than %zu bytes or has a NUL", key,
                         cap - 1);
    memcpy(dst, m->str, (size_t)m->len + 1);
    return MINT_OK;
}

static mint_status read_meta(const wt_file *f, net_meta *nm)
{
    mint_status st;
    const wt_meta *m;
    if ((st = get_str(f, "mint.arch", nm->arch, sizeof nm->arch)) ||
        (st = get_str(f, "mint.channel_order", nm->channel_order, sizeof nm->channel_order)) ||
        (st = get_str(f, "mint.source_name", nm->source_name, sizeof nm->source_name)) ||
        (st = get_str(f, "mint.source_sha256", nm->source_sha256, sizeof nm->source_sha256)))
        return st;
    if (strcmp(nm->channel_order, "RGB") && strcmp(nm->channel_order, "BGR"))
        return mint_fail(MINT_E_FORMAT, "metadata 'mint.channel_order' is not RGB or BGR");
    size_t hl = strlen(nm->source_sha256);
    if (hl && (hl != 64 || !is_hex_lower(nm->source_sha256, 64)))
        return mint_fail(MINT_E_FORMAT, "metadata 'mint.source_sha256' is not 64 hex digits");
    if ((st = get_meta(f, "mint.input_shape", WT_META_I64_ARR, &m)))
        return st;
    if (m->count != 3)
        return mint_fail(MINT_E_FORMAT, "metadata 'mint.input_shape' has %llu values, expected 3",
                         (unsigned long long)m->count);
    for (int i = 0; i < 3; i++)
        if (m->i64s[i] < 1 || m->i64s[i] > 65536)
            return mint_fail(MINT_E_FORMAT, "metadata 'mint.input_shape'[%d] = %lld outside 1..65536",
                             i, (long long)m->i64s[i]);
    nm->in_c = (int)m->i64s[0];
    nm->in_h = (int)m->i64s[1];
    nm->in_w = (int)m->i64s[2];
    for (int k = 0; k < 2; k++) {
        const char *key = k ? "mint.input_std" : "mint.input_mean";
        if ((st = get_meta(f, key, WT_META_F32_ARR, &m)))
            return st;
        if (m->count != 3)
            return mint_fail(MINT_E_FORMAT, "metadata '%s' has %llu values, expected 3", key,
                             (unsigned long long)m->count);
        for (int i = 0; i < 3; i++) {
            float v = m->f32[i];
            if (!isfinite(v) || (k && v == 0))
                return mint_fail(MINT_E_FORMAT, "metadata '%s'[%d] is not finite%s", key, i,
                                 k ? " and non-zero" : "");
            (k ? nm->std : nm->mean)[i] = v;
        }
    }
    return MINT_OK;
}

mint_status net_graph_from_file(net_graph **out, const wt_file *f)
{
    if (!out || !f)
        return mint_fail(MINT_E_ARG, "net_graph_from_file: NULL argument");
    *out = NULL;
    const wt_meta *gm, *tm;
    mint_status st;
    /* a MINT (auditing) model given where a network goes (--model) */
    const wt_meta *kind = wt_meta_find(f, "mint.kind");
    if (!wt_meta_find(f, "mint.graph") && kind && kind->type == WT_META_STR)
        return mint_fail(MINT_E_ARG, "this is a MINT model (%.16s, from 'mint train'), not a network: "
                         "it goes to --mint of 'mint audit'/'mint eval'; --model takes the network "
                         "it audits (from 'mint convert')", kind->str);
    if ((st = get_meta(f, "mint.graph", WT_META_STR, &gm)) ||
        (st = get_meta(f, "mint.taps", WT_META_STR, &tm)))
        return st;
    net_graph *g = net_graph_new();
    size_t cap = (size_t)(gm->len > tm->len ? gm->len : tm->len) + 1;
    parser p = { g, f, 0, malloc(cap), malloc(cap) };
    if (!g || !p.dec || !p.dec2) {
        st = mint_fail(MINT_E_NOMEM, "out of memory loading the graph");
        goto out;
    }
    if ((st = read_meta(f, &g->meta)) || (st = parse_graph(&p, gm->str, (size_t)gm->len)) ||
        (st = parse_taps(&p, tm->str, (size_t)tm->len)))
        goto out;
out:
    free(p.dec);
    free(p.dec2);
    if (st) {
        net_graph_free(g);
        return st;
    }
    *out = g;
    return MINT_OK;
}

mint_status net_graph_load(net_graph **out, wt_file **file_out, const char *path)
{
    if (!out || !file_out || !path)
        return mint_fail(MINT_E_ARG, "net_graph_load: NULL argument");
    *out = NULL;
    *file_out = NULL;
    wt_file *f;
    mint_status st = wt_open(&f, path);
    if (st)
        return st;
    if ((st = net_graph_from_file(out, f))) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mint_last_error());
        wt_close(f);
        return mint_fail(st, "%s: %s", path, msg);
    }
    *file_out = f;
    return MINT_OK;
}
