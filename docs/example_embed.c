/* example_embed.c - embed libmint through include/mint.h only: open a network
 * file, run one image and print its embedding's size and norm and layer4's shape.
 *   make install PREFIX=$HOME/.local    (or DESTDIR=... for a staged copy)
 *   cc -std=c11 docs/example_embed.c $(pkg-config --cflags --libs mint) -o example_embed
 *   mint demo --depth 18 --save net.mint && ./example_embed net.mint */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <mint.h>

int main(int argc, char **argv)
{
    mint_model *m;
    if (argc != 2 || mint_model_open(&m, argv[1]) != MINT_OK) {
        fprintf(stderr, "usage: example_embed NETWORK.mint (%s)\n", mint_last_error());
        return 1;
    }
    int c, h, w, rank, dims[3], d = mint_model_output_dim(m);
    mint_model_input_shape(m, &c, &h, &w);
    float *img = calloc((size_t)c * h * w, sizeof *img), *emb = malloc(sizeof *emb * d);
    for (int i = 0; i < c * h * w; i++)
        img[i] = (float)(i % 255) / 127.5f - 1.0f; /* a normalised test pattern */
    mint_status st = mint_model_tap_shape(m, "layer4", &rank, dims);
    float *l4 = st == MINT_OK ? malloc(sizeof *l4 * dims[0] * (rank == 4 ? dims[1] * dims[2] : 1)) : NULL;
    const char *taps[1] = { "layer4" };
    if (st == MINT_OK)
        st = mint_model_run(m, img, 1, emb, 1, taps, &l4);
    if (st != MINT_OK) {
        fprintf(stderr, "example_embed: %s: %s\n", mint_strerror(st), mint_last_error());
        return 1;
    }
    double ss = 0;
    for (int i = 0; i < d; i++)
        ss += (double)emb[i] * emb[i];
    printf("isa %s, input %dx%dx%d, embedding %d, norm %.4f, layer4 [%d,%d,%d]\n", mint_isa(), c, h, w,
           d, sqrt(ss), dims[0], dims[1], dims[2]);
    free(img), free(emb), free(l4), mint_model_close(m);
    return 0;
}
