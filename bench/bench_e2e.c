/* bench_e2e.c - end-to-end forward time of a model (a mint weight file, or
 * an IResNet built natively with --depth), ms/image at each batch x thread
 * count: warm-up, then `runs` timed passes; min/median/max. The output lines
 * "mint batch=B threads=T median_ms_per_image=X ..." are parsed by
 * bench/run.sh to print mint next to ONNX Runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "net/iresnet.h"
#include "net/model.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *model = NULL;
    int depth = 0, runs = 5, batches[4] = { 1, 8 }, nb = 2, threads[4] = { 1, 2 }, nt = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--depth") && i + 1 < argc)
            depth = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
            nb = sscanf(argv[++i], "%d,%d,%d,%d", &batches[0], &batches[1], &batches[2], &batches[3]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            nt = sscanf(argv[++i], "%d,%d,%d,%d", &threads[0], &threads[1], &threads[2], &threads[3]);
        else if (argv[i][0] != '-')
            model = argv[i];
        else {
            fprintf(stderr, "usage: bench_e2e (MODEL.mint | --depth D) [--runs R] [--batch 1,8] [--threads 1,2]\n");
            return 2;
        }
    }
    if ((!model && !depth) || runs < 1 || runs > 1000 || nb < 1 || nt < 1) {
        fprintf(stderr, "usage: bench_e2e (MODEL.mint | --depth D) [--runs R] [--batch 1,8] [--threads 1,2]\n");
        return 2;
    }
    mint_model *m;
    mint_status st;
    if (model) {
        st = mint_model_open(&m, model);
    } else {
        net_iresnet_cfg cfg;
        net_graph *g;
        if (!(st = net_iresnet_cfg_depth(&cfg, depth)) && !(st = net_iresnet_build(&g, &cfg, 1)))
            st = mint_model_from_graph(&m, g, NULL);
    }
    if (st) {
        fprintf(stderr, "bench_e2e: %s: %s\n", mint_strerror(st), mint_last_error());
        return 1;
    }
    int c, h, w;
    mint_model_input_shape(m, &c, &h, &w);
    int maxb = 0;
    for (int i = 0; i < nb; i++)
        maxb = batches[i] > maxb ? batches[i] : maxb;
    size_t per = (size_t)c * h * w;
    float *x = malloc(sizeof(float) * per * (size_t)maxb);
    float *y = malloc(sizeof(float) * (size_t)mint_model_output_dim(m) * (size_t)maxb);
    double *t = malloc(sizeof(double) * (size_t)runs);
    if (!x || !y || !t)
        return 1;
    for (size_t i = 0; i < per * (size_t)maxb; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    printf("# mint %s, kernels %s, model %s\n", MINT_VERSION, mint_isa(), model ? model : "builder");
    for (int ti = 0; ti < nt; ti++) {
#ifdef _OPENMP
        omp_set_num_threads(threads[ti]);
#endif
        for (int bi = 0; bi < nb; bi++) {
            int b = batches[bi];
            if (b < 1 || (st = mint_model_run(m, x, b, y, 0, NULL, NULL))) { /* warm-up */
                fprintf(stderr, "bench_e2e: %s\n", mint_last_error());
                return 1;
            }
            for (int r = 0; r < runs; r++) {
                double t0 = now();
                mint_model_run(m, x, b, y, 0, NULL, NULL);
                t[r] = (now() - t0) * 1e3 / b;
            }
            qsort(t, (size_t)runs, sizeof *t, cmp);
            printf("mint batch=%d threads=%d median_ms_per_image=%.2f min=%.2f max=%.2f\n", b,
                   threads[ti], t[runs / 2], t[0], t[runs - 1]);
            fflush(stdout);
        }
    }
    free(x);
    free(y);
    free(t);
    mint_model_close(m);
    return 0;
}
