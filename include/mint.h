/* mint.h - public interface of the mint engine (static library libmint.a).
 *
 * mint runs InsightFace IResNet networks (and other small ONNX graphs of the
 * same op set) from the mint weight container, extracts named intermediate
 * activations ("taps") and powers the Membership Inference Test tools.
 *
 * Every function returns a mint_status; details of the last error on this
 * thread are in mint_last_error(). The library never exits the process. */
#ifndef MINT_H
#define MINT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MINT_VERSION "0.1.0"

typedef enum {
    MINT_OK = 0,
    MINT_E_IO,          /* open/read/write/mmap failed */
    MINT_E_FORMAT,      /* malformed, truncated or hostile file */
    MINT_E_UNSUPPORTED, /* valid input that mint does not implement */
    MINT_E_SHAPE,       /* shapes do not match */
    MINT_E_NOMEM,       /* allocation failed or size overflow */
    MINT_E_ARG,         /* bad argument from the caller */
    MINT_E_NOTFOUND     /* name (tensor, tap, key) not present */
} mint_status;

/* Static text for a status code. */
const char *mint_strerror(mint_status s);
/* Message describing the most recent error set on this thread (may be ""). */
const char *mint_last_error(void);
/* Record an error: sets the thread's message and returns s (for `return`). */
mint_status mint_fail(mint_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- ISA selection (kernels) ---- */
/* Name of the instruction set the kernels run on ("scalar", "avx2",
 * "avx512", "neon"). Chosen once from cpuid/XGETBV, or forced with the
 * environment variable MINT_ISA. */
const char *mint_isa(void);
/* Force an ISA by name; MINT_E_UNSUPPORTED if this CPU/build lacks it. */
mint_status mint_set_isa(const char *name);
/* MINT_ISA names a path this build or CPU/OS lacks (the best path is used
 * instead): MINT_E_UNSUPPORTED, and mint_last_error() says which value,
 * which paths are available and which one runs, for the caller to show.
 * MINT_OK when MINT_ISA is unset, "auto" or usable. */
mint_status mint_isa_env_check(void);

/* ---- Models ---- */
typedef struct mint_model mint_model;

/* Open a weight container (read-only mmap) and prepare it for inference. */
mint_status mint_model_open(mint_model **out, const char *path);
void mint_model_close(mint_model *m);

/* Input geometry: channels, height, width (NCHW input without batch). */
void mint_model_input_shape(const mint_model *m, int *c, int *h, int *w);
/* Output embedding dimension. */
int mint_model_output_dim(const mint_model *m);

/* Describe a tap (a named tensor: "layer1".."layer4", "embedding" or any
 * graph tensor name) for one image: rank (2 or 4) and dims without batch.
 * MINT_E_NOTFOUND for names that are absent or that no node computes. */
mint_status mint_model_tap_shape(const mint_model *m, const char *tap,
                                 int *rank, int dims[3]);

/* Run a batch. in: float32 NCHW [n, C, H, W], already normalised.
 * out: [n, D] embeddings (may be NULL).
 * taps/tap_out: ntaps names and destination buffers, each [n, ...] in NCHW
 * (or [n, D]) order. */
mint_status mint_model_run(mint_model *m, const float *in, int n, float *out,
                           int ntaps, const char *const *taps, float *const *tap_out);

#ifdef __cplusplus
}
#endif
#endif
