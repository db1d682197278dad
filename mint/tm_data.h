/* tm_data.h - the data of `mint train-model` (mint/train_model.h): the
 * image sources gathered into one labelled list, the member/external split
 * and its MINT/evaluation shares, and the split lists on disk. */
#ifndef MINT_MINT_TM_DATA_H
#define MINT_MINT_TM_DATA_H

#include <stdint.h>
#include "io/dataset.h"
#include "mint.h"

enum { TM_MEMBER_MINT = 0, TM_MEMBER_EVAL, TM_EXTERNAL_MINT, TM_EXTERNAL_EVAL };

typedef struct {
    io_list all;        /* every image, members and external */
    int32_t *ident;     /* identity of each (index into names) */
    char **names;       /* identity names */
    int nnames;
    uint8_t *role;      /* TM_* */
    int32_t *cls;       /* task class of each member, -1 for external */
    int32_t *ident_cls; /* task class of each identity, -1 if it is no member class */
    int classes;
    int by_label;       /* the split went by identity */
    int digits;         /* the sources were idx files */
} tm_data;

/* Gather the sources (folders, list files, idx image files) into d->all;
 * external-only sources are marked with ext_only (role set by the split). */
mint_status tm_data_gather(tm_data *d, const char *const *src, int nsrc,
                           const char *const *ext, int next, const char *root,
                           uint8_t **ext_only);
/* Split: members (a fraction of identities or images), MINT and evaluation
 * shares, classes. */
mint_status tm_data_split(tm_data *d, const uint8_t *ext_only, int by_label, double members,
                          int min_images, int max_classes, double mint_share, uint64_t seed);
/* Write the lists and split.json under dir (created if needed). */
mint_status tm_data_write_split(const tm_data *d, const char *dir, const char *desc);
void tm_data_free(tm_data *d);

#endif
