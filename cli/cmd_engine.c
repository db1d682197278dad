/* cmd_engine.c - engine subcommands: convert, info, embed, demo. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cli.h"
#include "io/align.h"
#include "io/dataset.h"
#include "io/npy.h"
#include "kernels/kernels.h"
#include "mint/extract.h"
#include "mint/model.h"
#include "net/exec.h"
#include "net/iresnet.h"
#include "net/model.h"
#include "net/graph_io.h"
#include "convert/onnx.h"

/* ---------------- convert ---------------- */

static int parse3(const char *s, float v[3])
{
    char extra;
    return sscanf(s, "%f,%f,%f%c", &v[0], &v[1], &v[2], &extra) == 3 ? 0 : -1;
}

const char cli_help_convert[] =
    "usage: mint convert [options] IN.onnx OUT.mint\n"
    "Import an ONNX model (InsightFace recognition op set) into a mint weight file.\n"
    "The graph is stored as it is; a BatchNorm that directly follows a Conv/Gemm is\n"
    "folded into it when the model runs (exact), unless its input is tapped.\n"
    "  --mean a,b,c          input mean per channel, pixels in [0,1] (default 0.5,0.5,0.5)\n"
    "  --std a,b,c           input std per channel (default 0.5,0.5,0.5)\n"
    "                        A graph that normalises 0..255 pixels itself (its input goes\n"
    "                        first through Sub/Mul/Div by constants, e.g. InsightFace's\n"
    "                        MXNet models: _minusscalar0, _mulscalar0) is detected and\n"
    "                        gets mean 0,0,0 and std 1/255 (raw pixels, as InsightFace\n"
    "                        feeds it) unless --mean or --std is given\n"
    "  --channel-order RGB|BGR  channel order the model expects (default RGB)\n"
    "  --arch NAME           architecture label stored in the file (default onnx)\n"
    "  --stage-taps a,b,c,d  name four graph tensors layer1..layer4 (any network; see\n"
    "                        'mint info', which proposes them), so --taps layer1 works;\n"
    "                        an IResNet gets them without this (last residual Add at\n"
    "                        each of its four resolutions)\n"
    "A model with 1 input channel gets the BT.601 luma of colour images (mean[0],\n"
    "std[0]); 3 channels get RGB or BGR; other channel counts take .npy input only.\n";

int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {
        { "mean", required_argument, 0, 'm' }, { "std", required_argument, 0, 's' },
        { "channel-order", required_argument, 0, 'c' }, { "arch", required_argument, 0, 'a' },
        { "stage-taps", required_argument, 0, 'S' }, { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    float mean[3] = { 0.5f, 0.5f, 0.5f }, std[3] = { 0.5f, 0.5f, 0.5f };
    const char *order = "RGB", *arch = NULL, *stage_taps = NULL;
    int o, norm_given = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'm': if (parse3(optarg, mean)) return cli_usage_error("convert", "--mean wants three numbers a,b,c"); norm_given = 1; break;
        case 's':
            norm_given = 1;
            if (parse3(optarg, std) || !(std[0] > 0 && std[1] > 0 && std[2] > 0))
                return cli_usage_error("convert", "--std wants three positive numbers a,b,c");
            break;
        case 'c':
            if (strcmp(optarg, "RGB") && strcmp(optarg, "BGR"))
                return cli_usage_error("convert", "--channel-order is RGB or BGR");
            order = optarg;
            break;
        case 'a': arch = optarg; break;
        case 'S': stage_taps = optarg; break;
        case 'h': fputs(cli_help_convert, stdout); return CLI_OK;
        default: return cli_usage_error("convert", "bad option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("convert", "needs IN.onnx and OUT.mint");
    char *stage[5], *stagebuf = NULL;
    if (stage_taps && cli_split(stage_taps, stage, 5, &stagebuf) != 4) {
        free(stagebuf);
        return cli_usage_error("convert", "--stage-taps wants four comma-separated tensor names "
                               "(layer1..layer4; 'mint info' proposes them)");
    }
    net_graph *g;
    mint_status st = convert_onnx_import(&g, argv[optind]);
    if (!st && stage_taps)
        st = net_graph_set_stage_taps(g, (const char *const *)stage);
    free(stagebuf);
    if (st) {
        net_graph_free(g);
        return cli_error("convert", st);
    }
    char norm[512];
    if (net_graph_normalises_pixels(g, norm, sizeof norm)) {
        if (!norm_given) { /* as the InsightFace package: input_mean 0, input_std 1 */
            for (int k = 0; k < 3; k++)
                mean[k] = 0.0f, std[k] = 1.0f / 255.0f;
            printf("the graph normalises its input itself (%s): stored mean 0,0,0 std 1/255, so it "
                   "gets raw 0..255 pixels; --mean/--std set others\n", norm);
        } else {
            fprintf(stderr, "mint convert: warning: the graph normalises its input itself (%s); "
                    "the given --mean/--std are applied before it (--mean 0,0,0 --std "
                    "0.00392157,0.00392157,0.00392157 would give it raw 0..255 pixels)\n", norm);
        }
    }
    memcpy(g->meta.mean, mean, sizeof mean);
    memcpy(g->meta.std, std, sizeof std);
    snprintf(g->meta.channel_order, sizeof g->meta.channel_order, "%s", order);
    if (arch)
        snprintf(g->meta.arch, sizeof g->meta.arch, "%s", arch);
    st = net_graph_save(g, argv[optind + 1]);
    if (!st) {
        int nconv = 0;
        for (int i = 0; i < g->nnodes; i++)
            nconv += g->nodes[i].op == NET_OP_CONV;
        printf("%s: %d nodes (%d conv), %d weights, input %dx%dx%d, taps:", argv[optind + 1],
               g->nnodes, nconv, g->nweights, g->meta.in_c, g->meta.in_h, g->meta.in_w);
        for (int i = 0; i < g->ntaps; i++)
            printf(" %s", g->taps[i].name);
        printf("\n");
    }
    net_graph_free(g);
    return st ? cli_error("convert", st) : CLI_OK;
}

/* ---------------- info ---------------- */

static const char *dtype_name(base_dtype t)
{
    static const char *const n[] = { "f32", "f16", "i64", "i32", "u8" };
    return (unsigned)t < 5 ? n[t] : "?";
}

/* "[N,a,b,c]" for tensor t. */
static void print_shape(const net_tensor *t)
{
    printf("[N");
    for (int k = 0; k < t->rank; k++)
        printf(",%lld", (long long)t->shape[k]);
    printf("]");
}

/* Every tensor a tap can name, in execution order: the input, then each
 * node's output; then the names the file holds that no node computes. */
static void print_graph_tensors(const net_graph *g)
{
    printf("\ngraph tensors (any can be tapped by name):\n");
    printf("  %-48s %-20s ", g->tensors[g->input].name, "input");
    print_shape(&g->tensors[g->input]);
    printf("\n");
    for (int i = 0; i < g->nnodes; i++) {
        const net_tensor *t = &g->tensors[g->nodes[i].out];
        printf("  %-48s %-20s ", t->name, net_op_name(g->nodes[i].op));
        print_shape(t);
        printf("\n");
    }
    int orphans = 0;
    for (int i = 0; i < g->ntensors; i++) {
        if (g->tensors[i].rank != 0)
            continue;
        if (orphans++ == 0)
            printf("\nnot computed by any node, cannot be tapped (names an older mint left\n"
                   "behind when it folded a BatchNorm into the conv before it):\n");
        printf("  %s\n", g->tensors[i].name);
    }
}

/* The stage taps proposed for any network (net_graph_stage_tensors), as a
 * ready --stage-taps for 'mint convert'. */
static void print_stage_proposal(const net_graph *g)
{
    int ids[32];
    const int n = net_graph_stage_tensors(g, ids, 32), k = n < 32 ? n : 32;
    if (n == 0) {
        printf("stages:  none (no feature map below the input resolution)\n");
        return;
    }
    printf("stages:  last tensor at each resolution that all later ones depend on:\n");
    for (int r = 0; r < k; r++) {
        const net_tensor *t = &g->tensors[ids[r]];
        char res[48];
        snprintf(res, sizeof res, "%lldx%lld", (long long)t->shape[1], (long long)t->shape[2]);
        printf("  %-10s %-40s ", res, t->name);
        print_shape(t);
        printf("\n");
    }
    if (k < 4) {
        printf("  (%d resolution%s: --stage-taps names four; tap these by name with --taps)\n", k,
               k == 1 ? "" : "s");
        return;
    }
    int same = 1;
    for (int r = 0; r < 4; r++) {
        char name[16];
        snprintf(name, sizeof name, "layer%d", r + 1);
        same &= net_graph_find_tap(g, name) == ids[k - 4 + r];
    }
    if (same) {
        printf("  (the deepest four are this file's layer1..layer4)\n");
        return;
    }
    printf("  as layer1..layer4%s: mint convert --stage-taps ", k > 4 ? " (the deepest four)" : "");
    for (int r = k - 4; r < k; r++)
        printf("%s%s", r > k - 4 ? "," : "", g->tensors[ids[r]].name);
    printf(" IN.onnx OUT.mint\n");
}

/* A MINT (auditing) model's summary: what it reads and what it was
 * calibrated on (the metadata list above has it, but scattered). */
static mint_status print_mint_model(const char *path)
{
    mint_tm *tm;
    mint_status st = mint_tm_load(&tm, path);
    if (st)
        return st;
    const mint_tm_config *c = &tm->cfg;
    printf("\nMINT model: %s", mint_tm_kind_name(c->kind));
    if (c->kind == MINT_TM_CNN)
        printf(" (Conv %d 3x3 -> MaxPool 2x2 -> Dense %d -> ReLU -> Dense 1)\n", MINT_TM_FILTERS,
               tm->hidden);
    else if (c->kind == MINT_TM_CNN2)
        printf(" (Conv %d 3x3 -> MaxPool 2x2 -> Conv %d 3x3 -> MaxPool 2x2 -> Dense %d -> ReLU -> "
               "Dense 1)\n", MINT_TM_CNN2_FILTERS1, MINT_TM_CNN2_FILTERS2, tm->hidden);
    else
        printf(" (Dense %d -> ReLU -> BatchNorm -> Dense 1)\n", tm->hidden);
    printf("taps:    %s\n", c->taps[0] ? c->taps : "not recorded (give --taps to eval/audit)");
    if (mint_tm_kind_is_conv(c->kind))
        printf("input:   [%d,%d,%d] (the raw map of one tap)\n", c->in_dims[0], c->in_dims[1],
               c->in_dims[2]);
    else
        printf("input:   [%d] (%s)\n", c->in_dims[0], c->kind == MINT_TM_OUTCOME
                                                          ? "the network's embedding"
                                                          : "per-channel maxima of the taps, concatenated");
    printf("network: %s\n", c->network_sha256[0] ? c->network_sha256
                                                 : "not recorded (audits cannot check it)");
    if (tm->n_cal_member || tm->n_cal_external)
        printf("calibration: %lld member scores, %lld external scores (%s), threshold %.4f\n",
               (long long)tm->n_cal_member, (long long)tm->n_cal_external,
               tm->cal_external_heldout ? "held out of training" : "trained on", tm->threshold);
    else
        printf("calibration: none (audits need --reference)\n");
    if (tm->n_cal_external) {
        if (tm->cal_ref_identities >= 0)
            printf("audit reference: %lld images of %lld identities, held out by %s\n",
                   (long long)tm->n_cal_external, (long long)tm->cal_ref_identities,
                   !strcmp(tm->cal_holdout_by, "label") ? "identity" : "image");
        else
            printf("audit reference: %lld images, identities unknown (each counts as one)\n",
                   (long long)tm->n_cal_external);
    }
    if (tm->has_quality)
        printf("validated: AUC %.4f, TPR %.4f at 1%% FPR, balanced accuracy %.4f, on %lld members "
               "+ %lld external (%s; %s)\n", tm->q_auc, tm->q_tpr_1pct, tm->q_bacc,
               (long long)tm->q_n_members, (long long)tm->q_n_external, tm->q_data, tm->q_date);
    else
        printf("validated: never (mint eval --store records the held-out AUC for audits)\n");
    if (tm->trainset.recorded)
        printf("training images: SHA-256 keys of %lld members, %lld external, %lld held out\n",
               (long long)tm->trainset.n[MINT_TS_MEMBERS], (long long)tm->trainset.n[MINT_TS_EXTERNAL],
               (long long)tm->trainset.n[MINT_TS_REFERENCE]);
    if (tm->train_epochs)
        printf("trained: %lld epoch%s, batch %lld, seed %llu, last-epoch accuracy %.4f\n",
               (long long)tm->train_epochs, cli_plural((size_t)tm->train_epochs),
               (long long)tm->train_batch, (unsigned long long)tm->train_seed, tm->train_accuracy);
    mint_tm_free(tm);
    return MINT_OK;
}

const char cli_help_info[] =
    "usage: mint info [--brief] [--tensors] FILE.mint\n"
    "Print a weight file's SHA-256, metadata, graph summary, named taps with their\n"
    "tensors and shapes, the proposed stage taps (for any network: the last tensor\n"
    "at each resolution below the input's that all later tensors depend on, the\n"
    "last residual Add there if any; the deepest four as a ready 'mint convert\n"
    "--stage-taps'), and the table of stored tensors (weights). For a MINT model\n"
    "('mint train'): its kind, taps, input dims, the network's SHA-256 and the\n"
    "calibration counts.\n"
    "  --brief     leave out the table of stored tensors\n"
    "  --tensors   also list every graph tensor (activation) with its producing op\n"
    "              and shape [N,C,H,W] or [N,D]: each can be given to --taps\n";

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        { "brief", no_argument, 0, 'b' }, { "tensors", no_argument, 0, 't' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    int brief = 0, tensors = 0, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'b': brief = 1; break;
        case 't': tensors = 1; break;
        case 'h': fputs(cli_help_info, stdout); return CLI_OK;
        default: return cli_usage_error("info", "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("info", "needs one FILE");
    const char *path = argv[optind];
    wt_file *f;
    mint_status st = wt_open(&f, path);
    if (st)
        return cli_error("info", st);
    char hex[65];
    wt_file_sha256(f, hex);
    printf("file:    %s\nsha256:  %s\n\nmetadata:\n", path, hex);
    for (int i = 0; i < wt_meta_count(f); i++) {
        const wt_meta *m = wt_meta_at(f, i);
        printf("  %-22s ", m->key);
        switch (m->type) {
        case WT_META_STR:
            if (m->len > 80 || strchr(m->str, '\n'))
                printf("<text, %llu bytes>\n", (unsigned long long)m->len);
            else
                printf("%s\n", m->str);
            break;
        case WT_META_I64: printf("%lld\n", (long long)m->i64); break;
        case WT_META_F64: printf("%g\n", m->f64); break;
        case WT_META_F32_ARR:
            for (uint64_t k = 0; k < m->count && k < 16; k++)
                printf("%s%g", k ? "," : "", (double)m->f32[k]);
            printf("%s\n", m->count > 16 ? ",..." : "");
            break;
        case WT_META_I64_ARR:
            for (uint64_t k = 0; k < m->count && k < 16; k++)
                printf("%s%lld", k ? "," : "", (long long)m->i64s[k]);
            printf("%s\n", m->count > 16 ? ",..." : "");
            break;
        }
    }
    net_graph *g = NULL;
    if (wt_meta_find(f, "mint.graph")) {
        st = net_graph_from_file(&g, f);
        if (!st && !(st = net_graph_toposort(g)))
            st = net_graph_infer_shapes(g);
        if (st) {
            net_graph_free(g);
            wt_close(f);
            return cli_error("info", st);
        }
        int count[NET_OP_COUNT] = { 0 };
        for (int i = 0; i < g->nnodes; i++)
            count[g->nodes[i].op]++;
        printf("\ngraph:   %d nodes:", g->nnodes);
        for (int k = 0; k < NET_OP_COUNT; k++)
            if (count[k])
                printf(" %d %s", count[k], net_op_name((net_op)k));
        printf("\ninput:   %s [N,%d,%d,%d]\ntaps:\n", g->tensors[g->input].name, g->meta.in_c,
               g->meta.in_h, g->meta.in_w);
        for (int i = 0; i < g->ntaps; i++) {
            const net_tensor *t = &g->tensors[g->taps[i].tensor];
            printf("  %-10s %-40s ", g->taps[i].name, t->name);
            print_shape(t);
            printf("\n");
        }
        print_stage_proposal(g);
        if (tensors)
            print_graph_tensors(g);
        else
            printf("(mint info --tensors lists every tensor that can be tapped)\n");
    } else if (wt_meta_find(f, "mint.kind")) {
        if ((st = print_mint_model(path))) {
            wt_close(f);
            return cli_error("info", st);
        }
    } else if (tensors) {
        printf("\n(no graph in this file: nothing to tap)\n");
    }
    uint64_t total = 0;
    for (int i = 0; i < wt_tensor_count(f); i++)
        total += wt_tensor_at(f, i)->nelem * base_dtype_size(wt_tensor_at(f, i)->dtype);
    printf("\ntensors: %d, %.1f MB\n", wt_tensor_count(f), (double)total / 1e6);
    for (int i = 0; !brief && i < wt_tensor_count(f); i++) {
        const wt_tensor *t = wt_tensor_at(f, i);
        printf("  %-48s %s [", t->name, dtype_name(t->dtype));
        for (int k = 0; k < t->rank; k++)
            printf("%s%lld", k ? "," : "", (long long)t->dims[k]);
        printf("]\n");
    }
    net_graph_free(g);
    wt_close(f);
    return CLI_OK;
}

/* ---------------- embed ---------------- */

#define MAX_TAPS 16

const char cli_help_embed[] =
    "usage: mint embed --model M.mint --input X.npy --output Y.npy\n"
    "                  [--taps layer1,...,embedding --tap-dir DIR] [--batch N] [--threads T]\n"
    "       mint embed --model M.mint --input X.npy --taps LIST --tap-dir DIR [...]\n"
    "Run the model on X (float32 [N,C,H,W], already normalised; or uint8 crops\n"
    "[N,H,W,C] with --layout nhwc) and write the\n"
    "embeddings Y (float32 [N,D]). Each tap (layer1..layer4, embedding, or any\n"
    "tensor listed by 'mint info --tensors') is written to DIR/<tap>.npy, float32\n"
    "NCHW (or [N,D]); a tap may be named once. Outputs are streamed batch by batch\n"
    "and renamed into place at the end. Progress goes to stderr (one line, or a\n"
    "line every 5 s when stderr is not a terminal).\n"
    "  --layout nhwc X is uint8 [N,H,W,C] face crops (0..255, as InsightFace's\n"
    "                norm_crop gives them) that mint normalises with the model's\n"
    "                mean/std ('mint info'); default nchw: float32, already normalised\n"
    "  --channel-order RGB|BGR  channel order of nhwc crops (default: the model's,\n"
    "                'mint info'; OpenCV crops are BGR); swapped when they differ\n"
    "  --taps LIST   comma-separated tap names (needs --tap-dir)\n"
    "  --tap-dir DIR directory for the taps (created if missing; needs --taps)\n"
    "  --batch N     images per forward pass (default 8)\n"
    "  --threads T   OpenMP threads (default: all cores)\n";

/* "[a,b,c]" of an .npy's real dims into buf. */
static const char *dims_text(const io_npy *x, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < x->rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)x->dims[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

/* --layout nhwc: X must be uint8 [N,h,w,c] crops for model m; *xbuf gets
 * room for a batch of normalised NCHW floats. */
static mint_status crops_check(const mint_model *m, const io_npy *x, const char *input, int c,
                               int h, int w, int batch, float **xbuf)
{
    mint_status st = mint_check_image_input(m);
    if (st)
        return st;
    if (x->dtype != BASE_U8 || x->rank != 4 || x->dims[0] < 1 || x->dims[1] != h ||
        x->dims[2] != w || x->dims[3] != c) {
        char got[160];
        /* a dtype error is not a shape mismatch */
        return mint_fail(x->dtype != BASE_U8 ? MINT_E_UNSUPPORTED : MINT_E_SHAPE,
                         "%s: --layout nhwc expects uint8 crops [N,%d,%d,%d], got "
                         "%s %s", input, h, w, c, dtype_name(x->dtype), dims_text(x, got, sizeof got));
    }
    if (!(*xbuf = malloc(sizeof(float) * (size_t)batch * (size_t)(c * h * w))))
        return mint_fail(MINT_E_NOMEM, "out of memory");
    return MINT_OK;
}

/* Crops first..first+k-1 of x into NCHW floats normalised as images are
 * for model m (io_image_to_chw: (v/255 - mean)/std per channel), swapping
 * R and B when the crops' order differs from the model's. */
static mint_status crops_to_nchw(const mint_model *m, const io_npy *x, int64_t first, int k,
                                 const char *order, float *out)
{
    const net_meta *meta = &mint_model_graph(m)->meta;
    const int h = (int)x->dims[1], w = (int)x->dims[2], c = (int)x->dims[3];
    const int swap = order && strcmp(order, meta->channel_order) != 0;
    const size_t n = (size_t)h * (size_t)w * (size_t)c;
    for (int i = 0; i < k; i++) {
        io_image im = { w, h, c, (uint8_t *)x->data + (size_t)(first + i) * n };
        mint_status st = io_image_to_chw(&im, c, meta->mean, meta->std, swap, out + (size_t)i * n);
        if (st)
            return st;
    }
    return MINT_OK;
}

int cmd_embed(int argc, char **argv)
{
    static const struct option opts[] = {
        { "model", required_argument, 0, 'm' }, { "input", required_argument, 0, 'i' },
        { "output", required_argument, 0, 'o' }, { "taps", required_argument, 0, 't' },
        { "tap-dir", required_argument, 0, 'd' }, { "batch", required_argument, 0, 'b' },
        { "threads", required_argument, 0, 'j' }, { "layout", required_argument, 0, 'L' },
        { "channel-order", required_argument, 0, 'c' }, { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *model = NULL, *input = NULL, *output = NULL, *taps = NULL, *tapdir = NULL;
    const char *crop_order = NULL;
    int batch = 8, threads = 0, nhwc = 0, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'm': model = optarg; break;
        case 'i': input = optarg; break;
        case 'o': output = optarg; break;
        case 't': taps = optarg; break;
        case 'd': tapdir = optarg; break;
        case 'b': if ((batch = cli_int(optarg, 1, 4096)) < 0) return cli_usage_error("embed", "--batch wants 1..4096"); break;
        case 'j': if ((threads = cli_int(optarg, 1, 1024)) < 0) return cli_usage_error("embed", "--threads wants 1..1024"); break;
        case 'L':
            if (strcmp(optarg, "nchw") && strcmp(optarg, "nhwc"))
                return cli_usage_error("embed", "--layout is nchw or nhwc");
            nhwc = !strcmp(optarg, "nhwc");
            break;
        case 'c':
            if (strcmp(optarg, "RGB") && strcmp(optarg, "BGR"))
                return cli_usage_error("embed", "--channel-order is RGB or BGR");
            crop_order = optarg;
            break;
        case 'h': fputs(cli_help_embed, stdout); return CLI_OK;
        default: return cli_usage_error("embed", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("embed", "unexpected argument '%s'", argv[optind]);
    if (!model || !input || (!output && !taps))
        return cli_usage_error("embed", "needs --model, --input and --output (or --taps)");
    if (crop_order && !nhwc)
        return cli_usage_error("embed", "--channel-order goes with --layout nhwc");
    if (taps && !tapdir)
        return cli_usage_error("embed", "--taps needs --tap-dir DIR");
    if (tapdir && !taps)
        return cli_usage_error("embed", "--tap-dir needs --taps (which tensors to write)");
    char *tapbuf = NULL, *tapname[MAX_TAPS];
    int ntaps = 0;
    if (taps && (ntaps = cli_split(taps, tapname, MAX_TAPS, &tapbuf)) < 0) {
        free(tapbuf);
        return cli_usage_error("embed", "--taps wants 1..%d comma-separated names", MAX_TAPS);
    }
    /* every tap is its own file: refuse repeats (and names that map to the
     * same file name) before anything is written */
    for (int i = 0; i < ntaps; i++) {
        char si[256], sj[256];
        if (io_safe_name(tapname[i], si, sizeof si)) {
            int rc = cli_usage_error("embed", "tap name '%s' gives no file name (empty after the "
                                     "leading '.' and '/', or longer than %d bytes)", tapname[i],
                                     IO_SAFE_NAME_MAX);
            free(tapbuf);
            return rc;
        }
        for (int j = 0; j < i; j++) {
            io_safe_name(tapname[j], sj, sizeof sj);
            if (!strcmp(tapname[i], tapname[j]) || !strcmp(si, sj)) {
                int rc = !strcmp(tapname[i], tapname[j])
                             ? cli_usage_error("embed", "--taps names '%s' twice", tapname[i])
                             : cli_usage_error("embed", "taps '%s' and '%s' would both be written "
                                               "to %s/%s.npy", tapname[j], tapname[i], tapdir, si);
                free(tapbuf);
                return rc;
            }
        }
    }
    cli_set_threads(threads);

    int rc = CLI_FAIL;
    mint_model *m = NULL;
    io_npy x = { 0 };
    io_npy_writer *wout = NULL, *wtap[MAX_TAPS] = { 0 };
    float *ybuf = NULL, *tbuf[MAX_TAPS] = { 0 }, *xbuf = NULL;
    int64_t tap_numel[MAX_TAPS];
    mint_status st;
    if ((st = mint_model_open(&m, model)))
        goto fail;
    if ((st = io_npy_read(input, &x)) == MINT_E_UNSUPPORTED) { /* a dtype no reader takes */
        char why[400];
        snprintf(why, sizeof why, "%s", mint_last_error());
        st = mint_fail(st, "%s (mint embed takes float32 '<f4', or uint8 '|u1' crops with "
                       "--layout nhwc)", why);
    }
    if (st)
        goto fail;
    int c, h, w;
    mint_model_input_shape(m, &c, &h, &w);
    if (nhwc) {
        if ((st = crops_check(m, &x, input, c, h, w, batch, &xbuf)))
            goto fail;
    } else if (x.dtype != BASE_F32 || x.rank != 4 || x.dims[1] != c || x.dims[2] != h ||
               x.dims[3] != w || x.dims[0] < 1) {
        char got[160];
        /* a dtype error is not a shape mismatch */
        st = mint_fail(x.dtype != BASE_F32 ? MINT_E_UNSUPPORTED : MINT_E_SHAPE,
                       "%s: expected float32 [N,%d,%d,%d], got %s %s%s", input, c, h, w,
                       dtype_name(x.dtype), dims_text(&x, got, sizeof got),
                       x.dtype == BASE_U8 ? " (uint8 [N,H,W,C] crops: add --layout nhwc)" : "");
        goto fail;
    }
    int64_t n = x.dims[0], d = mint_model_output_dim(m);
    if (tapdir && mkdir(tapdir, 0777) && errno != EEXIST) {
        st = mint_fail(MINT_E_IO, "cannot create directory %s", tapdir);
        goto fail;
    }
    if (output) {
        int64_t dims[2] = { n, d };
        if ((st = io_npy_writer_open(&wout, output, BASE_F32, 2, dims)))
            goto fail;
        if (!(ybuf = malloc(sizeof(float) * (size_t)(batch * d)))) {
            st = mint_fail(MINT_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    for (int i = 0; i < ntaps; i++) {
        int rank, td[3];
        if ((st = mint_model_tap_shape(m, tapname[i], &rank, td)))
            goto fail;
        int64_t dims[4] = { n, td[0], td[1], td[2] };
        tap_numel[i] = (int64_t)td[0] * (rank == 4 ? (int64_t)td[1] * td[2] : 1);
        /* ONNX tensor names may contain '/': keep the files inside DIR */
        char path[4096], safe[256];
        io_safe_name(tapname[i], safe, sizeof safe);
        snprintf(path, sizeof path, "%s/%s.npy", tapdir, safe);
        if ((st = io_npy_writer_open(&wtap[i], path, BASE_F32, rank, dims)))
            goto fail;
        if (!(tbuf[i] = malloc(sizeof(float) * (size_t)(batch * tap_numel[i])))) {
            st = mint_fail(MINT_E_NOMEM, "out of memory for tap %s", tapname[i]);
            goto fail;
        }
    }
    cli_progress pr; /* shown when there is more than one batch */
    cli_progress_init(&pr, "embed", "images");
    const float *xp = x.data;
    for (int64_t done = 0; done < n;) {
        int k = n - done < batch ? (int)(n - done) : batch;
        if (nhwc && (st = crops_to_nchw(m, &x, done, k, crop_order, xbuf)))
            goto fail;
        if ((st = mint_model_run(m, nhwc ? xbuf : xp + done * c * h * w, k, ybuf, ntaps,
                                 (const char *const *)tapname, tbuf)))
            goto fail;
        if (wout && (st = io_npy_writer_append(wout, ybuf, (size_t)k)))
            goto fail;
        for (int i = 0; i < ntaps; i++)
            if ((st = io_npy_writer_append(wtap[i], tbuf[i], (size_t)k)))
                goto fail;
        done += k;
        if (n > batch)
            cli_progress_update(&pr, (size_t)done, (size_t)n, 0, -1);
    }
    cli_progress_end(&pr);
    if (wout) {
        st = io_npy_writer_close(wout);
        wout = NULL;
        if (st)
            goto fail;
    }
    for (int i = 0; i < ntaps; i++) {
        st = io_npy_writer_close(wtap[i]);
        wtap[i] = NULL;
        if (st)
            goto fail;
    }
    rc = CLI_OK;
fail:
    if (rc != CLI_OK)
        cli_error("embed", st);
    io_npy_writer_abort(wout);
    for (int i = 0; i < ntaps; i++) {
        io_npy_writer_abort(wtap[i]);
        free(tbuf[i]);
    }
    free(ybuf);
    free(xbuf);
    free(tapbuf);
    io_npy_free(&x);
    mint_model_close(m);
    return rc;
}

/* ---------------- demo ---------------- */

const char cli_help_demo[] =
    "usage: mint demo [--depth 18|34|50|100|200] [--batch N] [--runs R] [--threads T] [--seed S]\n"
    "                 [--save FILE.mint]\n"
    "Build an InsightFace IResNet (default IResNet-100) with seeded random weights,\n"
    "run it on a synthetic 112x112 batch and print ms/image and the stage taps.\n"
    "  --save FILE   also write the network as a mint weight file (a stand-in model\n"
    "                for trying extract/train/audit when no trained ONNX model is at hand;\n"
    "                random weights carry no membership signal)\n";

int cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        { "depth", required_argument, 0, 'd' }, { "batch", required_argument, 0, 'b' },
        { "runs", required_argument, 0, 'r' }, { "threads", required_argument, 0, 'j' },
        { "seed", required_argument, 0, 's' }, { "save", required_argument, 0, 'S' },
        { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
    };
    const char *save = NULL;
    int depth = 100, batch = 4, runs = 3, threads = 0, seed = 1, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'd': depth = cli_int(optarg, 1, 1000); break;
        case 'b': if ((batch = cli_int(optarg, 1, 256)) < 0) return cli_usage_error("demo", "--batch wants 1..256"); break;
        case 'r': if ((runs = cli_int(optarg, 1, 1000)) < 0) return cli_usage_error("demo", "--runs wants 1..1000"); break;
        case 'j': if ((threads = cli_int(optarg, 1, 1024)) < 0) return cli_usage_error("demo", "--threads wants 1..1024"); break;
        case 's': if ((seed = cli_int(optarg, 0, 1 << 30)) < 0) return cli_usage_error("demo", "--seed wants 0..2^30"); break;
        case 'S': save = optarg; break;
        case 'h': fputs(cli_help_demo, stdout); return CLI_OK;
        default: return cli_usage_error("demo", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);
    cli_set_threads(threads);
    net_iresnet_cfg cfg;
    mint_status st = net_iresnet_cfg_depth(&cfg, depth);
    if (st)
        return cli_usage_error("demo", "%s", mint_last_error());
    double t0 = cli_now();
    net_graph *g;
    mint_model *m;
    if ((st = net_iresnet_build(&g, &cfg, (uint64_t)seed)) || (st = mint_model_from_graph(&m, g, NULL)))
        return cli_error("demo", st);
    printf("IResNet-%d, random weights (seed %d), kernels %s; built in %.2f s\n", depth, seed,
           mint_isa(), cli_now() - t0);
    if (save) {
        if ((st = net_graph_save(mint_model_graph(m), save))) {
            mint_model_close(m);
            return cli_error("demo", st);
        }
        printf("wrote %s\n", save);
    }
    int64_t in_numel = 3 * 112 * 112, d = mint_model_output_dim(m);
    float *x = malloc(sizeof(float) * (size_t)(batch * in_numel));
    float *y = malloc(sizeof(float) * (size_t)(batch * d));
    const char *taps[4] = { "layer1", "layer2", "layer3", "layer4" };
    float *tb[4] = { 0 };
    int64_t tn[4];
    int ok = x && y;
    for (int i = 0; i < 4 && ok; i++) {
        int rank, td[3];
        if (mint_model_tap_shape(m, taps[i], &rank, td)) {
            ok = 0;
            break;
        }
        tn[i] = (int64_t)td[0] * td[1] * td[2];
        ok = (tb[i] = malloc(sizeof(float) * (size_t)(batch * tn[i]))) != NULL;
    }
    if (!ok) {
        st = mint_fail(MINT_E_NOMEM, "out of memory");
        goto out;
    }
    uint64_t r = 12345;
    for (int64_t i = 0; i < batch * in_numel; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(r >> 40) / (double)(1 << 24) * 2.0 - 1.0);
    }
    double best = 1e30;
    for (int k = 0; k < runs; k++) {
        double t = cli_now();
        if ((st = mint_model_run(m, x, batch, y, 4, taps, tb)))
            goto out;
        t = cli_now() - t;
        best = t < best ? t : best;
    }
    printf("batch %d: %.1f ms/image (best of %d runs)\n", batch, 1e3 * best / batch, runs);
    for (int i = 0; i < 4; i++) {
        int rank, td[3];
        mint_model_tap_shape(m, taps[i], &rank, td);
        printf("  %-9s [%d,%d,%d]  per-channel max of image 0, channel 0..3:", taps[i], td[0], td[1], td[2]);
        float cm[4]; /* the extraction's pooling (NaN propagates) */
        const int nch = td[0] < 4 ? td[0] : 4;
        kern_chmax(NULL, (size_t)nch, (size_t)td[1] * (size_t)td[2], tb[i], cm);
        for (int ch = 0; ch < nch; ch++)
            printf(" %.3f", (double)cm[ch]);
        printf("\n");
    }
    double nrm = 0;
    for (int64_t k = 0; k < d; k++)
        nrm += (double)y[k] * y[k];
    printf("  embedding [%lld]  |e| of image 0 = %.3f\n", (long long)d, sqrt(nrm));
out:
    for (int i = 0; i < 4; i++)
        free(tb[i]);
    free(x);
    free(y);
    mint_model_close(m);
    return st ? cli_error("demo", st) : CLI_OK;
}
