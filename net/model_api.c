/* model.c - the public model API of include/mint.h: a container opened by
 * mmap, its graph, and an executor packed for the active ISA. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net/exec.h"
#include "net/model.h"
#include "net/graph_io.h"

struct mint_model {
    wt_file *file;     /* NULL for graphs built in memory */
    net_graph *g;
    net_exec *exec;
};

enum { MODEL_MAX_BATCH = 16 };

mint_status mint_model_from_graph(mint_model **out, net_graph *g, wt_file *file)
{
    *out = NULL;
    mint_model *m = calloc(1, sizeof *m);
    if (!m) {
        net_graph_free(g);
        wt_close(file);
        return mint_fail(MINT_E_NOMEM, "out of memory");
    }
    m->g = g;
    m->file = file;
    mint_status st;
    if ((st = net_graph_toposort(g)) || (st = net_graph_infer_shapes(g)) ||
        (st = net_graph_check_values(g)) ||
        (st = net_exec_create(&m->exec, g, kern_active(), MODEL_MAX_BATCH))) {
        mint_model_close(m);
        return st;
    }
    if (net_graph_find_tap(g, "embedding") < 0 && (st = net_graph_add_tap(g, "embedding", g->output))) {
        mint_model_close(m);
        return st;
    }
    *out = m;
    return MINT_OK;
}

mint_status mint_model_open(mint_model **out, const char *path)
{
    *out = NULL;
    net_graph *g;
    wt_file *f;
    mint_status st = net_graph_load(&g, &f, path);
    if (st)
        return st;
    if ((st = mint_model_from_graph(out, g, f))) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mint_last_error());
        if (strncmp(msg, path, strlen(path))) /* name the file */
            st = mint_fail(st, "%s: %s", path, msg);
    }
    return st;
}

void mint_model_close(mint_model *m)
{
    if (!m)
        return;
    net_exec_free(m->exec);
    net_graph_free(m->g);
    wt_close(m->file);
    free(m);
}

const net_graph *mint_model_graph(const mint_model *m) { return m->g; }

void mint_model_input_shape(const mint_model *m, int *c, int *h, int *w)
{
    *c = m->g->meta.in_c;
    *h = m->g->meta.in_h;
    *w = m->g->meta.in_w;
}

int mint_model_output_dim(const mint_model *m)
{
    return (int)net_tensor_numel(&m->g->tensors[m->g->output]);
}

/* A tap name is a named tap (layer1.., embedding) or any tensor name; *t
 * gets its tensor id. Refuses names that are absent and tensors that no
 * node computes (rank 0: e.g. the conv output an older mint convert folded
 * a BatchNorm over, left in the file without a producer), so a tap never
 * has an empty or unknown shape. */
static mint_status resolve_tap(const net_graph *g, const char *name, int *t)
{
    *t = net_graph_find_tap(g, name);
    if (*t < 0)
        *t = net_graph_find_tensor(g, name);
    if (*t < 0)
        return mint_fail(MINT_E_NOTFOUND,
                         "no tap or tensor named '%s' in this model (see 'mint info --tensors')",
                         name);
    const net_tensor *x = &g->tensors[*t];
    if (x->rank < 1 || x->rank > 3 || net_tensor_numel(x) <= 0)
        return mint_fail(MINT_E_NOTFOUND,
                         "tensor '%s' is in this model's file but no node computes it, so it "
                         "cannot be tapped (files written by older mint versions fold "
                         "BatchNorm away and keep such names; convert the ONNX model again "
                         "to tap it)",
                         name);
    if (net_tensor_numel(x) > INT32_MAX)
        return mint_fail(MINT_E_UNSUPPORTED, "tensor '%s' is too large to tap (%lld values per image)",
                         name, (long long)net_tensor_numel(x));
    return MINT_OK;
}

mint_status mint_model_tap_shape(const mint_model *m, const char *tap, int *rank, int dims[3])
{
    int t;
    mint_status st = resolve_tap(m->g, tap, &t);
    if (st)
        return st;
    const net_tensor *x = &m->g->tensors[t];
    *rank = x->rank + 1;
    for (int i = 0; i < 3; i++)
        dims[i] = i < x->rank ? (int)x->shape[i] : 0;
    return MINT_OK;
}

mint_status mint_model_run(mint_model *m, const float *in, int n, float *out, int ntaps,
                           const char *const *taps, float *const *tap_out)
{
    if (ntaps < 0 || ntaps > 64)
        return mint_fail(MINT_E_ARG, "too many taps (%d, at most 64)", ntaps);
    int ids[65];
    float *dst[65];
    int k = 0;
    for (int i = 0; i < ntaps; i++) {
        mint_status st = resolve_tap(m->g, taps[i], &ids[k]);
        if (st)
            return st;
        dst[k++] = tap_out[i];
    }
    if (out) {
        ids[k] = m->g->output;
        dst[k++] = out;
    }
    /* the active ISA may have been changed with mint_set_isa: repack */
    if (net_exec_isa(m->exec) != kern_active()) {
        net_exec *e;
        mint_status st = net_exec_create(&e, m->g, kern_active(), MODEL_MAX_BATCH);
        if (st)
            return st;
        net_exec_free(m->exec);
        m->exec = e;
    }
    return net_exec_run(m->exec, in, n, k, ids, dst);
}
