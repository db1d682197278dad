/* landmarks.h - 5-point face landmarks from a CSV file.
 *
 * The CSV has a header row naming its columns. Required: `file` and the ten
 * coordinates lex,ley (left eye), rex,rey (right eye), nx,ny (nose),
 * lmx,lmy (left mouth corner), rmx,rmy (right mouth corner), in the source
 * image's pixel coordinates; other columns (score, box, ...) are ignored and
 * the order is free. This is the layout of ../shared/data/lfw/landmarks_5pt.csv.
 * Fields may be double-quoted ("" inside quotes is a quote; no newlines
 * inside fields); CRLF line ends, a UTF-8 BOM and blank lines are accepted.
 * Each `file` value must be unique; lookups are exact string matches except
 * that "./" segments and repeated slashes are ignored ("./a//b.jpg" finds
 * "a/b.jpg"). */
#ifndef MINT_IO_LANDMARKS_H
#define MINT_IO_LANDMARKS_H

#include <stddef.h>
#include "mint.h"
#include "base/nameidx.h"

typedef struct {
    char *file;      /* as written in the CSV, e.g. "AJ_Cook/AJ_Cook_0001.jpg" */
    float pts[10];   /* lex,ley, rex,rey, nx,ny, lmx,lmy, rmx,rmy */
    size_t line;     /* 1-based line in the CSV (for messages) */
} io_landmark_row;

typedef struct {
    size_t n;                /* number of rows */
    io_landmark_row *rows;   /* in file order */
    char *label;             /* the CSV's path (or parse label), for messages */
    /* private: the rows' names in lookup form (NUL-separated), indexed */
    char *keys;
    base_nameidx index;
} io_landmarks;

/* Read a landmarks CSV. Errors carry the path and line number. */
mint_status io_landmarks_load(const char *path, io_landmarks **out);
/* Parse CSV text (label is used in messages, e.g. the path). */
mint_status io_landmarks_parse(const char *text, size_t len, const char *label,
                               io_landmarks **out);
void io_landmarks_free(io_landmarks *lm);

/* The 10 coordinates for a file name, or NULL if absent. */
const float *io_landmarks_find(const io_landmarks *lm, const char *file);
/* The row for a file name (its line, for messages), or NULL if absent. */
const io_landmark_row *io_landmarks_find_row(const io_landmarks *lm, const char *file);

#endif
