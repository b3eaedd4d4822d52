/*
 * pickle.c - the safe pickle interpreter behind pytorch_model.bin.
 *
 * Python's pickle is a little stack machine whose GLOBAL + REDUCE opcodes
 * call arbitrary functions, which is how a malicious checkpoint runs code.
 * Here GLOBAL only resolves names on a fixed allowlist, each mapped to a
 * built-in behaviour (make an empty dict, make a tensor view); nothing is
 * ever looked up or executed. Every value lives in one arena freed at once,
 * so shared references (memo) and cycles need no bookkeeping.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "weights/pickle.h"

/* Bounds: far above any real state dict, low enough to stop bombs. */
#define MAX_STACK (1 << 20)
#define MAX_MEMO  (1 << 20)
#define MAX_DEPTH 256 /* nesting of containers and MARKs */
#define MAX_ARENA ((size_t)256 << 20)
#define MAX_LINE  256 /* GLOBAL module / name lines      */

typedef enum {
    G_ORDERED_DICT,
    G_REBUILD_TENSOR_V2,
    G_REBUILD_TENSOR,
    G_REBUILD_PARAMETER,
    G_REBUILD_PARAMETER_WITH_STATE,
    G_STORAGE_TYPE,
    G_DTYPE,
} global_kind;

static const struct allowed_global {
    const char *module, *name;
    global_kind kind;
    sv_dtype dtype;
} allowlist[] = {
    {"collections", "OrderedDict", G_ORDERED_DICT, 0},
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR_V2, 0},
    {"torch._utils", "_rebuild_tensor", G_REBUILD_TENSOR, 0},
    {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAMETER, 0},
    {"torch._utils", "_rebuild_parameter_with_state", G_REBUILD_PARAMETER_WITH_STATE, 0},
    {"torch", "FloatStorage", G_STORAGE_TYPE, SV_DT_F32},
    {"torch", "HalfStorage", G_STORAGE_TYPE, SV_DT_F16},
    {"torch", "BFloat16Storage", G_STORAGE_TYPE, SV_DT_BF16},
    {"torch", "DoubleStorage", G_STORAGE_TYPE, SV_DT_F64},
    {"torch", "LongStorage", G_STORAGE_TYPE, SV_DT_I64},
    {"torch", "IntStorage", G_STORAGE_TYPE, SV_DT_I32},
    {"torch", "ShortStorage", G_STORAGE_TYPE, SV_DT_I16},
    {"torch", "CharStorage", G_STORAGE_TYPE, SV_DT_I8},
    {"torch", "ByteStorage", G_STORAGE_TYPE, SV_DT_U8},
    {"torch", "BoolStorage", G_STORAGE_TYPE, SV_DT_BOOL},
    {"torch", "UntypedStorage", G_STORAGE_TYPE, SV_DT_U8},
    {"torch", "float32", G_DTYPE, SV_DT_F32},
    {"torch", "float16", G_DTYPE, SV_DT_F16},
    {"torch", "bfloat16", G_DTYPE, SV_DT_BF16},
    {"torch", "float64", G_DTYPE, SV_DT_F64},
    {"torch", "int64", G_DTYPE, SV_DT_I64},
    {"torch", "int32", G_DTYPE, SV_DT_I32},
    {"torch", "int16", G_DTYPE, SV_DT_I16},
    {"torch", "int8", G_DTYPE, SV_DT_I8},
    {"torch", "uint8", G_DTYPE, SV_DT_U8},
    {"torch", "bool", G_DTYPE, SV_DT_BOOL},
};

/* ---- arena ------------------------------------------------------------- */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
} chunk;

struct sv_pickle {
    chunk *chunks;
    size_t arena_total;
    const sv_pv *root;
};

static void *arena_alloc(sv_pickle *p, size_t size) {
    size = (size + 15) & ~(size_t)15;
    chunk *c = p->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > (1 << 16) ? size : (1 << 16);
        if (p->arena_total + cap > MAX_ARENA) return NULL;
        c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = p->chunks;
        c->used = 0;
        c->cap = cap;
        p->chunks = c;
        p->arena_total += cap;
    }
    void *mem = (char *)c->data + c->used;
    c->used += size;
    return mem;
}

void sv_pickle_free(sv_pickle *p) {
    if (!p) return;
    for (chunk *c = p->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(p);
}

const sv_pv *sv_pickle_root(const sv_pickle *p) { return p->root; }

/* ---- the machine ------------------------------------------------------- */

typedef struct machine {
    sv_pickle *p;
    const char *name;
    const uint8_t *buf;
    size_t size, pos, op_pos;
    sv_pv **stack;
    int n_stack, cap_stack;
    sv_pv **memo;
    int64_t cap_memo, n_memo;
    int n_marks;
} machine;

#define FAIL(m, status, ...) fail(m, status, __VA_ARGS__)

static int fail(machine *m, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(machine *m, int status, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return sv_error(status, "%s: pickle byte %zu: %s", m->name, m->op_pos, what);
}

static int oom(machine *m) { return FAIL(m, SCIVEC_ENOMEM, "out of memory (pickle too large)"); }

static sv_pv *new_value(machine *m, sv_pv_type type) {
    sv_pv *v = arena_alloc(m->p, sizeof *v);
    if (v) {
        memset(v, 0, sizeof *v);
        v->type = type;
    }
    return v;
}

static int push(machine *m, sv_pv *v) {
    if (!v) return oom(m);
    if (m->n_stack == m->cap_stack) {
        if (m->cap_stack >= MAX_STACK)
            return FAIL(m, SCIVEC_EFORMAT, "stack deeper than %d", MAX_STACK);
        int cap = m->cap_stack ? m->cap_stack * 2 : 64;
        sv_pv **bigger = realloc(m->stack, (size_t)cap * sizeof *bigger);
        if (!bigger) return oom(m);
        m->stack = bigger;
        m->cap_stack = cap;
    }
    m->stack[m->n_stack++] = v;
    return SCIVEC_OK;
}

static int pop(machine *m, sv_pv **out) {
    if (m->n_stack == 0 || m->stack[m->n_stack - 1]->type == SV_PV_MARK)
        return FAIL(m, SCIVEC_EFORMAT, "stack underflow");
    *out = m->stack[--m->n_stack];
    return SCIVEC_OK;
}

/* Index of the topmost MARK on the stack, or an error. */
static int find_mark(machine *m, int *at) {
    for (int i = m->n_stack - 1; i >= 0; i--)
        if (m->stack[i]->type == SV_PV_MARK) {
            *at = i;
            return SCIVEC_OK;
        }
    return FAIL(m, SCIVEC_EFORMAT, "no MARK on the stack");
}

static int container_add(machine *m, sv_pv *c, sv_pv *item) {
    if (item->type == SV_PV_MARK) return FAIL(m, SCIVEC_EFORMAT, "MARK used as a value");
    if (item->depth + 1 > c->depth) {
        c->depth = item->depth + 1;
        if (c->depth > MAX_DEPTH)
            return FAIL(m, SCIVEC_EFORMAT, "values nested deeper than %d levels (recursion bomb?)",
                        MAX_DEPTH);
    }
    if (c->u.seq.n == c->u.seq.cap) {
        if (c->u.seq.cap >= MAX_STACK) return FAIL(m, SCIVEC_EFORMAT, "container too large");
        int cap = c->u.seq.cap ? c->u.seq.cap * 2 : 4;
        sv_pv **items = arena_alloc(m->p, (size_t)cap * sizeof *items);
        if (!items) return oom(m);
        if (c->u.seq.n) memcpy(items, c->u.seq.items, (size_t)c->u.seq.n * sizeof *items);
        c->u.seq.items = items;
        c->u.seq.cap = cap;
    }
    c->u.seq.items[c->u.seq.n++] = item;
    return SCIVEC_OK;
}

/* Moves stack[from..top) into container c and drops them (and the MARK
 * below when drop_mark). */
static int collect(machine *m, sv_pv *c, int from, int drop_mark) {
    for (int i = from; i < m->n_stack; i++) {
        int rc = container_add(m, c, m->stack[i]);
        if (rc < 0) return rc;
    }
    m->n_stack = from - (drop_mark ? 1 : 0);
    if (drop_mark) m->n_marks--;
    return SCIVEC_OK;
}

static int need(machine *m, size_t n) {
    if (m->size - m->pos < n) return FAIL(m, SCIVEC_EFORMAT, "truncated (needs %zu more bytes)", n);
    return SCIVEC_OK;
}

static uint64_t read_le(machine *m, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | m->buf[m->pos + i];
    m->pos += (size_t)n;
    return v;
}

static int push_int(machine *m, int64_t v) {
    sv_pv *x = new_value(m, SV_PV_INT);
    if (x) x->u.i = v;
    return push(m, x);
}

static int push_bytes(machine *m, sv_pv_type type, size_t len) {
    int rc = need(m, len);
    if (rc < 0) return rc;
    sv_pv *v = new_value(m, type);
    char *s = v ? arena_alloc(m->p, len + 1) : NULL;
    if (!s) return oom(m);
    memcpy(s, m->buf + m->pos, len);
    s[len] = '\0';
    m->pos += len;
    v->u.str.s = s;
    v->u.str.len = len;
    return push(m, v);
}

/* LONG1/LONG4: little-endian two's complement; wider than 64 bits kept raw. */
static int push_long(machine *m, size_t len) {
    int rc = need(m, len);
    if (rc < 0) return rc;
    if (len > 8) return push_bytes(m, SV_PV_BIGINT, len);
    uint64_t v = 0;
    for (size_t i = len; i-- > 0;) v = (v << 8) | m->buf[m->pos + i];
    if (len > 0 && len < 8 && (m->buf[m->pos + len - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * len);
    m->pos += len;
    return push_int(m, (int64_t)v);
}

static int read_line(machine *m, char *out) {
    size_t n = 0;
    while (m->pos < m->size && m->buf[m->pos] != '\n') {
        if (n + 1 >= MAX_LINE) return FAIL(m, SCIVEC_EFORMAT, "GLOBAL name too long");
        out[n++] = (char)m->buf[m->pos++];
    }
    if (m->pos >= m->size) return FAIL(m, SCIVEC_EFORMAT, "truncated GLOBAL");
    m->pos++;
    out[n] = '\0';
    return SCIVEC_OK;
}

/* Resolves module.name against the allowlist: the one place a pickle could
 * reach code, so anything else stops the load here. */
static int push_global(machine *m, const char *module, const char *name) {
    for (size_t i = 0; i < SV_ARRAY_LEN(allowlist); i++) {
        if (strcmp(allowlist[i].module, module) == 0 && strcmp(allowlist[i].name, name) == 0) {
            sv_pv *g = new_value(m, SV_PV_GLOBAL);
            if (g) g->u.global = (int)i;
            return push(m, g);
        }
    }
    char shown[2 * MAX_LINE + 2];
    snprintf(shown, sizeof shown, "%s.%s", module, name);
    for (char *c = shown; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) *c = '?';
    return FAIL(m, SCIVEC_EUNSUPPORTED,
                "refusing global '%s': not something a PyTorch state dict contains "
                "(only torch tensors/storages and collections.OrderedDict are allowed; "
                "nothing was executed)",
                shown);
}

static int memo_put(machine *m, int64_t index) {
    if (m->n_stack == 0) return FAIL(m, SCIVEC_EFORMAT, "memo store on an empty stack");
    if (index < 0 || index >= MAX_MEMO)
        return FAIL(m, SCIVEC_EFORMAT, "memo index %lld too large", (long long)index);
    if (index >= m->cap_memo) {
        int64_t cap = m->cap_memo ? m->cap_memo : 64;
        while (cap <= index) cap *= 2;
        sv_pv **bigger = realloc(m->memo, (size_t)cap * sizeof *bigger);
        if (!bigger) return oom(m);
        memset(bigger + m->cap_memo, 0, (size_t)(cap - m->cap_memo) * sizeof *bigger);
        m->memo = bigger;
        m->cap_memo = cap;
    }
    sv_pv *top = m->stack[m->n_stack - 1];
    if (top->type == SV_PV_MARK) return FAIL(m, SCIVEC_EFORMAT, "memo store of a MARK");
    m->memo[index] = top;
    if (index >= m->n_memo) m->n_memo = index + 1;
    return SCIVEC_OK;
}

static int memo_get(machine *m, int64_t index) {
    if (index < 0 || index >= m->cap_memo || !m->memo[index])
        return FAIL(m, SCIVEC_EFORMAT, "memo entry %lld was never stored", (long long)index);
    return push(m, m->memo[index]);
}

static int to_int(machine *m, const sv_pv *v, const char *what, int64_t *out) {
    if (v->type != SV_PV_INT && v->type != SV_PV_BOOL)
        return FAIL(m, SCIVEC_EFORMAT, "%s must be an integer", what);
    *out = v->u.i;
    return SCIVEC_OK;
}

/* An int tuple (size or stride) into dims[]; returns the count or an error. */
static int int_tuple(machine *m, const sv_pv *t, const char *what, int64_t *dims) {
    if (t->type != SV_PV_TUPLE && t->type != SV_PV_LIST)
        return FAIL(m, SCIVEC_EFORMAT, "tensor %s must be a tuple", what);
    if (t->u.seq.n > SV_MAX_DIMS)
        return FAIL(m, SCIVEC_EFORMAT, "tensor with %d dimensions (at most %d)", t->u.seq.n,
                    SV_MAX_DIMS);
    for (int i = 0; i < t->u.seq.n; i++) {
        int rc = to_int(m, t->u.seq.items[i], what, &dims[i]);
        if (rc < 0) return rc;
        if (dims[i] < 0) return FAIL(m, SCIVEC_EFORMAT, "negative tensor %s", what);
    }
    return t->u.seq.n;
}

/* torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) */
static int rebuild_tensor(machine *m, const sv_pv *args) {
    if (args->u.seq.n < 4)
        return FAIL(m, SCIVEC_EFORMAT, "_rebuild_tensor with %d arguments", args->u.seq.n);
    sv_pv **a = args->u.seq.items;
    if (a[0]->type != SV_PV_STORAGE)
        return FAIL(m, SCIVEC_EFORMAT, "_rebuild_tensor of a non-storage");
    sv_pv *t = new_value(m, SV_PV_TENSOR);
    if (!t) return oom(m);
    t->u.tensor.storage = a[0];
    int rc = to_int(m, a[1], "storage offset", &t->u.tensor.offset);
    if (rc < 0) return rc;
    if (t->u.tensor.offset < 0) return FAIL(m, SCIVEC_EFORMAT, "negative storage offset");
    int n_dims = int_tuple(m, a[2], "size", t->u.tensor.shape);
    if (n_dims < 0) return n_dims;
    int n_strides = int_tuple(m, a[3], "stride", t->u.tensor.stride);
    if (n_strides < 0) return n_strides;
    if (n_strides != n_dims)
        return FAIL(m, SCIVEC_EFORMAT, "tensor size has %d dimensions but stride %d", n_dims,
                    n_strides);
    t->u.tensor.n_dims = n_dims;
    return push(m, t);
}

static int op_reduce(machine *m) {
    sv_pv *args = NULL, *callable = NULL;
    int rc;
    if ((rc = pop(m, &args)) < 0 || (rc = pop(m, &callable)) < 0) return rc;
    if (callable->type != SV_PV_GLOBAL || args->type != SV_PV_TUPLE)
        return FAIL(m, SCIVEC_EFORMAT, "REDUCE needs an allowed global and an argument tuple");
    const struct allowed_global *g = &allowlist[callable->u.global];
    switch (g->kind) {
        case G_ORDERED_DICT:
            if (args->u.seq.n != 0) return FAIL(m, SCIVEC_EFORMAT, "OrderedDict with arguments");
            return push(m, new_value(m, SV_PV_DICT));
        case G_REBUILD_TENSOR_V2:
        case G_REBUILD_TENSOR: return rebuild_tensor(m, args);
        case G_REBUILD_PARAMETER:
        case G_REBUILD_PARAMETER_WITH_STATE:
            /* A Parameter is its tensor for our purposes. */
            if (args->u.seq.n < 1 || args->u.seq.items[0]->type != SV_PV_TENSOR)
                return FAIL(m, SCIVEC_EFORMAT, "_rebuild_parameter of a non-tensor");
            return push(m, args->u.seq.items[0]);
        default:
            return FAIL(m, SCIVEC_EUNSUPPORTED, "%s.%s is not callable here", g->module, g->name);
    }
}

/* BINPERSID: ('storage', storage_type, key, location, numel[, view_metadata]) */
static int op_persistent_id(machine *m) {
    sv_pv *pid = NULL;
    int rc = pop(m, &pid);
    if (rc < 0) return rc;
    if (pid->type != SV_PV_TUPLE || pid->u.seq.n < 5)
        return FAIL(m, SCIVEC_EFORMAT, "persistent id is not a storage tuple");
    sv_pv **a = pid->u.seq.items;
    if (a[0]->type != SV_PV_STR || strcmp(a[0]->u.str.s, "storage") != 0)
        return FAIL(m, SCIVEC_EFORMAT, "persistent id of an unknown kind");
    if (a[1]->type != SV_PV_GLOBAL || allowlist[a[1]->u.global].kind != G_STORAGE_TYPE)
        return FAIL(m, SCIVEC_EFORMAT, "persistent id without a torch storage type");
    if (a[2]->type != SV_PV_STR || a[2]->u.str.len == 0 || a[2]->u.str.len > 64 ||
        strlen(a[2]->u.str.s) != a[2]->u.str.len)
        return FAIL(m, SCIVEC_EFORMAT, "storage key must be a short string");
    for (size_t i = 0; i < a[2]->u.str.len; i++)
        if (a[2]->u.str.s[i] == '/' || a[2]->u.str.s[i] == '.')
            return FAIL(m, SCIVEC_EFORMAT, "storage key '%s' is not a plain name", a[2]->u.str.s);
    sv_pv *st = new_value(m, SV_PV_STORAGE);
    if (!st) return oom(m);
    st->u.storage.key = a[2]->u.str.s;
    st->u.storage.dtype = allowlist[a[1]->u.global].dtype;
    if ((rc = to_int(m, a[4], "storage size", &st->u.storage.numel)) < 0) return rc;
    if (st->u.storage.numel < 0) return FAIL(m, SCIVEC_EFORMAT, "negative storage size");
    /* Legacy storage views: (view_key, offset, view_size). */
    if (pid->u.seq.n >= 6 && a[5]->type == SV_PV_TUPLE && a[5]->u.seq.n == 3) {
        if ((rc = to_int(m, a[5]->u.seq.items[1], "view offset", &st->u.storage.view_offset)) < 0)
            return rc;
        if (st->u.storage.view_offset < 0 || st->u.storage.view_offset > st->u.storage.numel)
            return FAIL(m, SCIVEC_EFORMAT, "storage view offset outside its storage");
    }
    return push(m, st);
}

static int run(machine *m) {
    char module[MAX_LINE], name[MAX_LINE];
    int rc = SCIVEC_OK, at = 0;
    sv_pv *v = NULL, *k = NULL, *c = NULL;
    while (rc == SCIVEC_OK) {
        if (m->pos >= m->size) return FAIL(m, SCIVEC_EFORMAT, "truncated: no STOP opcode");
        m->op_pos = m->pos;
        uint8_t op = m->buf[m->pos++];
        switch (op) {
            case 0x80: /* PROTO */
                if ((rc = need(m, 1)) < 0) break;
                if (m->buf[m->pos] > 5)
                    rc = FAIL(m, SCIVEC_EFORMAT, "pickle protocol %d", m->buf[m->pos]);
                m->pos++;
                break;
            case 0x95: /* FRAME: a length hint only */
                if ((rc = need(m, 8)) == 0) m->pos += 8;
                break;
            case '.': /* STOP */
                if ((rc = pop(m, &v)) < 0) break;
                m->p->root = v;
                return SCIVEC_OK;
            case '(': /* MARK */
                if (m->n_marks >= MAX_DEPTH) {
                    rc = FAIL(m, SCIVEC_EFORMAT, "MARKs nested deeper than %d (recursion bomb?)",
                              MAX_DEPTH);
                    break;
                }
                if ((rc = push(m, new_value(m, SV_PV_MARK))) == 0) m->n_marks++;
                break;
            case '0': /* POP */
                if (m->n_stack > 0 && m->stack[m->n_stack - 1]->type == SV_PV_MARK) {
                    m->n_stack--;
                    m->n_marks--;
                } else {
                    rc = pop(m, &v);
                }
                break;
            case '1': /* POP_MARK */
                if ((rc = find_mark(m, &at)) == 0) {
                    m->n_stack = at;
                    m->n_marks--;
                }
                break;
            case 'N': rc = push(m, new_value(m, SV_PV_NONE)); break;
            case 0x88:
            case 0x89: /* NEWTRUE, NEWFALSE */
                if ((v = new_value(m, SV_PV_BOOL))) v->u.i = op == 0x88;
                rc = push(m, v);
                break;
            case 'J':
                if ((rc = need(m, 4)) == 0) rc = push_int(m, (int32_t)read_le(m, 4));
                break;
            case 'K':
                if ((rc = need(m, 1)) == 0) rc = push_int(m, (int64_t)read_le(m, 1));
                break;
            case 'M':
                if ((rc = need(m, 2)) == 0) rc = push_int(m, (int64_t)read_le(m, 2));
                break;
            case 0x8a: /* LONG1 */
                if ((rc = need(m, 1)) == 0) rc = push_long(m, (size_t)read_le(m, 1));
                break;
            case 0x8b: /* LONG4 */
                if ((rc = need(m, 4)) == 0) rc = push_long(m, (size_t)read_le(m, 4));
                break;
            case 'G': /* BINFLOAT, big-endian */
                if ((rc = need(m, 8)) < 0) break;
                {
                    uint64_t bits = 0;
                    for (int i = 0; i < 8; i++) bits = (bits << 8) | m->buf[m->pos + i];
                    m->pos += 8;
                    if ((v = new_value(m, SV_PV_FLOAT))) memcpy(&v->u.f, &bits, 8);
                    rc = push(m, v);
                }
                break;
            case 'X': /* BINUNICODE */
            case 'T': /* BINSTRING */
            case 'B': /* BINBYTES */
                if ((rc = need(m, 4)) == 0)
                    rc = push_bytes(m, op == 'B' ? SV_PV_BYTES : SV_PV_STR, (size_t)read_le(m, 4));
                break;
            case 0x8c: /* SHORT_BINUNICODE */
            case 'U':  /* SHORT_BINSTRING */
            case 'C':  /* SHORT_BINBYTES */
                if ((rc = need(m, 1)) == 0)
                    rc = push_bytes(m, op == 'C' ? SV_PV_BYTES : SV_PV_STR, (size_t)read_le(m, 1));
                break;
            case 0x8d: /* BINUNICODE8 */
            case 0x8e: /* BINBYTES8 */
                if ((rc = need(m, 8)) == 0) {
                    uint64_t len = read_le(m, 8);
                    if (len > m->size)
                        rc = FAIL(m, SCIVEC_EFORMAT, "string longer than the pickle");
                    else
                        rc = push_bytes(m, op == 0x8e ? SV_PV_BYTES : SV_PV_STR, (size_t)len);
                }
                break;
            case ')': rc = push(m, new_value(m, SV_PV_TUPLE)); break;
            case ']': rc = push(m, new_value(m, SV_PV_LIST)); break;
            case '}': rc = push(m, new_value(m, SV_PV_DICT)); break;
            case 't':
            case 'l':
            case 'd': /* TUPLE, LIST, DICT from MARK */
                if ((rc = find_mark(m, &at)) < 0) break;
                if (op == 'd' && (m->n_stack - at - 1) % 2 != 0) {
                    rc = FAIL(m, SCIVEC_EFORMAT, "DICT with an odd number of items");
                    break;
                }
                c = new_value(m, op == 't' ? SV_PV_TUPLE : op == 'l' ? SV_PV_LIST : SV_PV_DICT);
                if (!c) {
                    rc = oom(m);
                    break;
                }
                if ((rc = collect(m, c, at + 1, 1)) == 0) rc = push(m, c);
                break;
            case 0x85:
            case 0x86:
            case 0x87: { /* TUPLE1..3 */
                int n = op - 0x84;
                if (m->n_stack < n) {
                    rc = FAIL(m, SCIVEC_EFORMAT, "stack underflow");
                    break;
                }
                for (int i = m->n_stack - n; i < m->n_stack; i++)
                    if (m->stack[i]->type == SV_PV_MARK)
                        rc = FAIL(m, SCIVEC_EFORMAT, "stack underflow");
                if (rc < 0) break;
                c = new_value(m, SV_PV_TUPLE);
                if (!c) {
                    rc = oom(m);
                    break;
                }
                if ((rc = collect(m, c, m->n_stack - n, 0)) == 0) rc = push(m, c);
                break;
            }
            case 'a': /* APPEND */
                if ((rc = pop(m, &v)) < 0) break;
                if (m->n_stack == 0 || m->stack[m->n_stack - 1]->type != SV_PV_LIST) {
                    rc = FAIL(m, SCIVEC_EFORMAT, "APPEND to a non-list");
                    break;
                }
                rc = container_add(m, m->stack[m->n_stack - 1], v);
                break;
            case 'e': /* APPENDS */
                if ((rc = find_mark(m, &at)) < 0) break;
                if (at == 0 || m->stack[at - 1]->type != SV_PV_LIST) {
                    rc = FAIL(m, SCIVEC_EFORMAT, "APPENDS to a non-list");
                    break;
                }
                rc = collect(m, m->stack[at - 1], at + 1, 1);
                break;
            case 's': /* SETITEM */
                if ((rc = pop(m, &v)) < 0 || (rc = pop(m, &k)) < 0) break;
                if (m->n_stack == 0 || m->stack[m->n_stack - 1]->type != SV_PV_DICT) {
                    rc = FAIL(m, SCIVEC_EFORMAT, "SETITEM on a non-dict");
                    break;
                }
                if ((rc = container_add(m, m->stack[m->n_stack - 1], k)) == 0)
                    rc = container_add(m, m->stack[m->n_stack - 1], v);
                break;
            case 'u': /* SETITEMS */
                if ((rc = find_mark(m, &at)) < 0) break;
                if (at == 0 || m->stack[at - 1]->type != SV_PV_DICT ||
                    (m->n_stack - at - 1) % 2 != 0) {
                    rc =
                        FAIL(m, SCIVEC_EFORMAT, "SETITEMS on a non-dict or with an odd item count");
                    break;
                }
                rc = collect(m, m->stack[at - 1], at + 1, 1);
                break;
            case 'c': /* GLOBAL */
                if ((rc = read_line(m, module)) == 0 && (rc = read_line(m, name)) == 0)
                    rc = push_global(m, module, name);
                break;
            case 0x93: /* STACK_GLOBAL */
                if ((rc = pop(m, &v)) < 0 || (rc = pop(m, &k)) < 0) break;
                if (k->type != SV_PV_STR || v->type != SV_PV_STR || k->u.str.len >= MAX_LINE ||
                    v->u.str.len >= MAX_LINE) {
                    rc = FAIL(m, SCIVEC_EFORMAT, "STACK_GLOBAL needs two short strings");
                    break;
                }
                rc = push_global(m, k->u.str.s, v->u.str.s);
                break;
            case 'R': rc = op_reduce(m); break;
            case 'Q': rc = op_persistent_id(m); break;
            case 'b': /* BUILD: state for dicts (OrderedDict._metadata) and tensors is ignored */
                if ((rc = pop(m, &v)) < 0) break;
                if (m->n_stack == 0 || (m->stack[m->n_stack - 1]->type != SV_PV_DICT &&
                                        m->stack[m->n_stack - 1]->type != SV_PV_TENSOR))
                    rc = FAIL(m, SCIVEC_EFORMAT, "BUILD on something other than a dict or tensor");
                break;
            case 'q':
                if ((rc = need(m, 1)) == 0) rc = memo_put(m, (int64_t)read_le(m, 1));
                break;
            case 'r':
                if ((rc = need(m, 4)) == 0) rc = memo_put(m, (int64_t)read_le(m, 4));
                break;
            case 0x94: rc = memo_put(m, m->n_memo); break; /* MEMOIZE */
            case 'h':
                if ((rc = need(m, 1)) == 0) rc = memo_get(m, (int64_t)read_le(m, 1));
                break;
            case 'j':
                if ((rc = need(m, 4)) == 0) rc = memo_get(m, (int64_t)read_le(m, 4));
                break;
            default: rc = FAIL(m, SCIVEC_EFORMAT, "unsupported opcode 0x%02x", op);
        }
    }
    return rc;
}

int sv_pickle_load(const uint8_t *buf, size_t size, const char *name, sv_pickle **out,
                   size_t *consumed) {
    *out = NULL;
    if (consumed) *consumed = 0;
    sv_pickle *p = calloc(1, sizeof *p);
    if (!p) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", name);
    machine m = {.p = p, .name = name ? name : "pickle", .buf = buf, .size = size};
    int rc = run(&m);
    free(m.stack);
    free(m.memo);
    if (rc < 0) {
        sv_pickle_free(p);
        return rc;
    }
    if (consumed) *consumed = m.pos;
    *out = p;
    return SCIVEC_OK;
}

const sv_pv *sv_pv_dict_get(const sv_pv *dict, const char *key) {
    if (!dict || dict->type != SV_PV_DICT) return NULL;
    for (int i = 0; i + 1 < dict->u.seq.n; i += 2) {
        const sv_pv *k = dict->u.seq.items[i];
        if (k->type == SV_PV_STR && strcmp(k->u.str.s, key) == 0) return dict->u.seq.items[i + 1];
    }
    return NULL;
}

/* ---- state dict -> checkpoint ------------------------------------------ */

static int find_storage(const sv_checkpoint *ck, const char *key) {
    for (int i = 0; i < ck->n_storages; i++)
        if (strcmp(ck->storages[i].key, key) == 0) return i;
    return -1;
}

int sv_pickle_state_dict_into(const sv_pickle *p, sv_checkpoint *ck) {
    const sv_pv *root = p->root;
    if (!root || root->type != SV_PV_DICT)
        return sv_error(SCIVEC_EFORMAT, "%s: the pickle is not a state dict (a dict of tensors)",
                        ck->path);
    int n_tensors = 0;
    for (int i = 0; i + 1 < root->u.seq.n; i += 2) {
        const sv_pv *k = root->u.seq.items[i], *v = root->u.seq.items[i + 1];
        if (v->type != SV_PV_TENSOR) continue; /* e.g. stray metadata entries */
        if (k->type != SV_PV_STR || strlen(k->u.str.s) != k->u.str.len)
            return sv_error(SCIVEC_EFORMAT, "%s: state dict key is not a string", ck->path);
        const sv_pv *st = v->u.tensor.storage;
        int s = find_storage(ck, st->u.storage.key);
        int64_t elem = sv_dtype_size(st->u.storage.dtype), n_bytes;
        if (__builtin_mul_overflow(st->u.storage.numel, elem, &n_bytes))
            return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: storage size overflows", ck->path,
                            k->u.str.s);
        if (s < 0) {
            s = sv_checkpoint_add_storage(ck, st->u.storage.key, st->u.storage.dtype, n_bytes,
                                          NULL);
            if (s < 0) return s;
            ck->storages[s].src_index = -1;
        } else if (ck->storages[s].dtype != st->u.storage.dtype ||
                   ck->storages[s].n_bytes != n_bytes) {
            return sv_error(SCIVEC_EFORMAT,
                            "%s: tensor %s: storage %s is declared with two different types/sizes",
                            ck->path, k->u.str.s, st->u.storage.key);
        }
        int64_t offset;
        if (__builtin_add_overflow(v->u.tensor.offset, st->u.storage.view_offset, &offset))
            return sv_error(SCIVEC_EFORMAT, "%s: tensor %s: offset overflows", ck->path,
                            k->u.str.s);
        int rc = sv_checkpoint_add_tensor(ck, k->u.str.s, st->u.storage.dtype, v->u.tensor.n_dims,
                                          v->u.tensor.shape, v->u.tensor.stride, offset, s);
        if (rc < 0) return rc;
        n_tensors++;
    }
    if (n_tensors == 0)
        return sv_error(SCIVEC_EFORMAT, "%s: the state dict holds no tensors", ck->path);
    return SCIVEC_OK;
}
