/* pb.c - protobuf wire-format reader (see pb.h).
 * Every read is bounded by the current buffer's end; lengths are compared
 * against the bytes left (never by forming p + len first), so a hostile
 * length cannot overflow a pointer. */
#include "convert/pb.h"

void pb_init(pb_buf *b, const void *data, size_t n)
{
    b->p = (const uint8_t *)data;
    b->end = data ? b->p + n : b->p; /* no arithmetic on NULL */
}

void pb_sub(pb_buf *b, const pb_field *f)
{
    b->p = f->data;
    b->end = f->data + f->len;
}

int pb_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t r = 0;
    for (int i = 0; i < 10; i++) {
        if (p >= end)
            return PB_ERR; /* truncated */
        uint8_t c = *p++;
        /* the 10th byte may only carry bit 63 */
        if (i == 9 && (c & 0xFE))
            return PB_ERR;
        r |= (uint64_t)(c & 0x7F) << (7 * i);
        if (!(c & 0x80)) {
            *v = r;
            *pp = p;
            return PB_OK;
        }
    }
    return PB_ERR; /* longer than 10 bytes */
}

int pb_next(pb_buf *b, pb_field *f, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    if (b->p >= b->end)
        return PB_END;
    uint64_t key;
    if (pb_varint(&b->p, b->end, &key) != PB_OK) {
        *why = "bad field key";
        return PB_ERR;
    }
    uint64_t num = key >> 3;
    if (num == 0 || num > 0x1FFFFFFF) {
        *why = "bad field number";
        return PB_ERR;
    }
    f->num = (uint32_t)num;
    f->wire = (pb_wire)(key & 7);
    f->u = 0;
    f->data = NULL;
    f->len = 0;
    size_t left = (size_t)(b->end - b->p);
    switch ((int)(key & 7)) {
    case PB_VARINT:
        if (pb_varint(&b->p, b->end, &f->u) != PB_OK) {
            *why = "bad varint";
            return PB_ERR;
        }
        return PB_OK;
    case PB_I64:
        if (left < 8) {
            *why = "truncated fixed64";
            return PB_ERR;
        }
        for (int i = 7; i >= 0; i--)
            f->u = (f->u << 8) | b->p[i];
        b->p += 8;
        return PB_OK;
    case PB_I32:
        if (left < 4) {
            *why = "truncated fixed32";
            return PB_ERR;
        }
        f->u = (uint64_t)b->p[0] | (uint64_t)b->p[1] << 8 | (uint64_t)b->p[2] << 16 |
               (uint64_t)b->p[3] << 24;
        b->p += 4;
        return PB_OK;
    case PB_LEN: {
        uint64_t n;
        if (pb_varint(&b->p, b->end, &n) != PB_OK) {
            *why = "bad length";
            return PB_ERR;
        }
        left = (size_t)(b->end - b->p);
        if (n > left) {
            *why = "length runs past the end of the data";
            return PB_ERR;
        }
        f->data = b->p;
        f->len = (size_t)n;
        b->p += n;
        return PB_OK;
    }
    case PB_SGROUP:
    case PB_EGROUP:
        *why = "protobuf groups are not supported";
        return PB_ERR;
    default:
        *why = "invalid wire type";
        return PB_ERR;
    }
}

int pb_iter_init(pb_iter *it, const pb_field *f, pb_wire elem)
{
    it->elem = elem;
    it->single = 0;
    it->v = 0;
    it->p = it->end = NULL;
    if (f->wire == PB_LEN) {
        it->p = f->data;
        it->end = f->data + f->len;
        if (elem == PB_I32 && f->len % 4)
            return PB_ERR;
        if (elem == PB_I64 && f->len % 8)
            return PB_ERR;
        return PB_OK;
    }
    if (f->wire != elem)
        return PB_ERR;
    it->single = 1;
    it->v = f->u;
    return PB_OK;
}

int pb_iter_next(pb_iter *it, uint64_t *v)
{
    if (it->single) {
        it->single = 0;
        *v = it->v;
        return PB_OK;
    }
    if (!it->p || it->p >= it->end)
        return PB_END;
    const uint8_t *p = it->p;
    uint64_t r = 0;
    switch (it->elem) {
    case PB_VARINT:
        if (pb_varint(&it->p, it->end, &r) != PB_OK)
            return PB_ERR;
        break;
    case PB_I32: /* length checked in init */
        r = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
        it->p += 4;
        break;
    case PB_I64:
        for (int i = 7; i >= 0; i--)
            r = (r << 8) | p[i];
        it->p += 8;
        break;
    default:
        return PB_ERR;
    }
    *v = r;
    return PB_OK;
}

int pb_count(const pb_field *f, pb_wire elem, size_t *n)
{
    if (f->wire != PB_LEN) {
        if (f->wire != elem)
            return PB_ERR;
        *n = 1;
        return PB_OK;
    }
    switch (elem) {
    case PB_I32:
        if (f->len % 4)
            return PB_ERR;
        *n = f->len / 4;
        return PB_OK;
    case PB_I64:
        if (f->len % 8)
            return PB_ERR;
        *n = f->len / 8;
        return PB_OK;
    case PB_VARINT: {
        /* count terminating bytes; the run must end on one, and each varint
         * must be valid (walk them to check length limits) */
        const uint8_t *p = f->data, *end = f->data + f->len;
        size_t c = 0;
        uint64_t v;
        while (p < end) {
            if (pb_varint(&p, end, &v) != PB_OK)
                return PB_ERR;
            c++;
        }
        *n = c;
        return PB_OK;
    }
    default:
        return PB_ERR;
    }
}
