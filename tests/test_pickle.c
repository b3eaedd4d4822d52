/* test_pickle.c - the safe pickle reader: state dicts with shared, offset and
 * strided storages (zip and legacy containers built here), and hostile
 * pickles: forbidden globals (never executed), recursion bombs, truncation,
 * unknown opcodes, bad memo references. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "check.h"
#include "core/error.h"
#include "core/files.h"
#include "weights/checkpoint.h"
#include "weights/checkpoint_open.h"
#include "weights/pickle.h"

static int error_has(const char *needle) { return strstr(scivec_last_error(), needle) != NULL; }

/* ---- a tiny pickle writer ---------------------------------------------- */

typedef struct pk {
    uint8_t *d;
    size_t n, cap;
} pk;

static void put(pk *b, const void *data, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->d = realloc(b->d, b->cap);
    }
    memcpy(b->d + b->n, data, n);
    b->n += n;
}
static void op(pk *b, uint8_t o) { put(b, &o, 1); }
static void u32(pk *b, uint32_t v) {
    uint8_t le[4] = {v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24};
    put(b, le, 4);
}
static void str(pk *b, const char *s) {
    op(b, 'X');
    u32(b, (uint32_t)strlen(s));
    put(b, s, strlen(s));
}
static void int_(pk *b, int32_t v) {
    op(b, 'J');
    u32(b, (uint32_t)v);
}
static void global(pk *b, const char *module, const char *name) {
    op(b, 'c');
    put(b, module, strlen(module));
    op(b, '\n');
    put(b, name, strlen(name));
    op(b, '\n');
}
static void ints_tuple(pk *b, int n, const int *v) {
    op(b, '(');
    for (int i = 0; i < n; i++) int_(b, v[i]);
    op(b, 't');
}
static void ordered_dict(pk *b) {
    global(b, "collections", "OrderedDict");
    op(b, ')');
    op(b, 'R');
}

/* _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()) */
static void tensor(pk *b, const char *storage_type, const char *key, int numel, int offset,
                   int n_dims, const int *size, const int *stride,
                   const int *view /* key-less view: offset, size */) {
    global(b, "torch._utils", "_rebuild_tensor_v2");
    op(b, '(');
    op(b, '(');
    str(b, "storage");
    global(b, "torch", storage_type);
    str(b, key);
    str(b, "cpu");
    int_(b, numel);
    if (view) {
        op(b, '(');
        str(b, "view");
        int_(b, view[0]);
        int_(b, view[1]);
        op(b, 't');
    }
    op(b, 't');
    op(b, 'Q');
    int_(b, offset);
    ints_tuple(b, n_dims, size);
    ints_tuple(b, n_dims, stride);
    op(b, 0x89);
    ordered_dict(b);
    op(b, 't');
    op(b, 'R');
}

/* ---- tests --------------------------------------------------------------- */

static char tmp_dir[] = "/tmp/sv_test_pickle_XXXXXX";

static void write_zip(const char *path, const pk *pkl, const float *data0, size_t n0,
                      const uint16_t *data1, size_t n1) {
    int err;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z) exit(2);
    zip_source_t *s = zip_source_buffer(z, pkl->d, pkl->n, 0);
    zip_int64_t i = zip_file_add(z, "archive/data.pkl", s, 0);
    zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_STORE, 0);
    s = zip_source_buffer(z, data0, n0 * 4, 0);
    i = zip_file_add(z, "archive/data/0", s, 0);
    zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_STORE, 0);
    s = zip_source_buffer(z, data1, n1 * 2, 0);
    i = zip_file_add(z, "archive/data/1", s, 0);
    /* Deflated on purpose: the reader must not assume stored entries. */
    zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_DEFLATE, 0);
    if (zip_close(z) != 0) exit(2);
}

static void expect_floats(sv_checkpoint *ck, const char *name, int n, const float *want) {
    const sv_tensor *t = sv_checkpoint_find(ck, name);
    CHECK(t != NULL, "tensor %s missing", name);
    if (!t) return;
    const float *got;
    int rc = sv_checkpoint_f32(ck, t, &got);
    CHECK(rc == 0, "%s: %s", name, scivec_last_error());
    if (rc) return;
    int same = 1;
    for (int i = 0; i < n; i++) same &= got[i] == want[i];
    CHECK(same, "%s: values differ (got %g %g %g ...)", name, got[0], got[1], got[2]);
}

static void test_zip_views(void) {
    pk b = {0};
    op(&b, 0x80);
    op(&b, 2);
    ordered_dict(&b);
    op(&b, 'q');
    op(&b, 0);
    op(&b, '(');
    /* a: rows of the storage; b: a transposed view at offset 2 (shares it). */
    str(&b, "a");
    tensor(&b, "FloatStorage", "0", 12, 0, 2, (int[]){2, 3}, (int[]){3, 1}, NULL);
    str(&b, "b");
    tensor(&b, "FloatStorage", "0", 12, 2, 2, (int[]){3, 2}, (int[]){1, 3}, NULL);
    /* h: half storage wrapped in a Parameter. */
    str(&b, "h");
    global(&b, "torch._utils", "_rebuild_parameter");
    op(&b, '(');
    tensor(&b, "HalfStorage", "1", 2, 0, 1, (int[]){2}, (int[]){1}, NULL);
    op(&b, 0x88);
    ordered_dict(&b);
    op(&b, 't');
    op(&b, 'R');
    /* a non-tensor entry is skipped */
    str(&b, "note");
    int_(&b, 7);
    op(&b, 'u');
    op(&b, '.');

    float data0[12];
    for (int i = 0; i < 12; i++) data0[i] = (float)i;
    uint16_t data1[2] = {0x3c00, 0xc000}; /* 1.0, -2.0 in f16 */
    char path[600];
    snprintf(path, sizeof path, "%s/views.bin", tmp_dir);
    write_zip(path, &b, data0, 12, data1, 2);

    sv_checkpoint *ck = NULL;
    int rc = sv_checkpoint_open(path, &ck);
    CHECK(rc == 0, "zip views: %s", scivec_last_error());
    if (rc == 0) {
        CHECK(ck->n_tensors == 3 && ck->n_storages == 2, "%d tensors %d storages", ck->n_tensors,
              ck->n_storages);
        expect_floats(ck, "a", 6, (float[]){0, 1, 2, 3, 4, 5});
        expect_floats(ck, "b", 6, (float[]){2, 5, 3, 6, 4, 7});
        expect_floats(ck, "h", 2, (float[]){1, -2});
        sv_checkpoint_free(ck);
    }
    /* The same archive with storage 0 shorter than the pickle says. */
    write_zip(path, &b, data0, 8, data1, 2);
    rc = sv_checkpoint_open(path, &ck);
    CHECK(rc == SCIVEC_EFORMAT &&
              error_has("storage 0: entry archive/data/0 holds 32 bytes, the pickle says 48"),
          "short entry: %s", scivec_last_error());
    free(b.d);
}

/* Legacy container with a storage view (view_metadata) and a shared key. */
static void test_legacy_views(void) {
    pk b = {0};
    static const uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                    0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.'};
    put(&b, magic, sizeof magic);
    op(&b, 0x80);
    op(&b, 2);
    op(&b, 'M');
    op(&b, 0xe9);
    op(&b, 0x03);
    op(&b, '.');
    op(&b, 0x80);
    op(&b, 2);
    op(&b, '}');
    str(&b, "little_endian");
    op(&b, 0x88);
    op(&b, 's');
    op(&b, '.');
    op(&b, 0x80);
    op(&b, 2);
    op(&b, '}');
    op(&b, '(');
    str(&b, "whole");
    tensor(&b, "FloatStorage", "k0", 12, 0, 1, (int[]){12}, (int[]){1}, NULL);
    str(&b, "viewed"); /* storage view from element 4, tensor offset 1: elements 5, 6, 7 */
    tensor(&b, "FloatStorage", "k0", 12, 1, 1, (int[]){3}, (int[]){1}, (int[]){4, 8});
    op(&b, 'u');
    op(&b, '.');
    op(&b, 0x80);
    op(&b, 2);
    op(&b, ']');
    str(&b, "k0");
    op(&b, 'a');
    op(&b, '.');
    uint8_t count[8] = {12};
    put(&b, count, 8);
    float data[12];
    for (int i = 0; i < 12; i++) data[i] = (float)(i * 10);
    put(&b, data, sizeof data);
    char path[600];
    snprintf(path, sizeof path, "%s/legacy.bin", tmp_dir);
    FILE *f = fopen(path, "wb");
    fwrite(b.d, 1, b.n, f);
    fclose(f);
    sv_checkpoint *ck = NULL;
    int rc = sv_checkpoint_open(path, &ck);
    CHECK(rc == 0, "legacy views: %s", scivec_last_error());
    if (rc == 0) {
        expect_floats(ck, "viewed", 3, (float[]){50, 60, 70});
        expect_floats(ck, "whole", 3, (float[]){0, 10, 20});
        sv_checkpoint_free(ck);
    }
    /* The same with the element count disagreeing with the pickle. */
    b.d[b.n - sizeof data - 8] = 11;
    f = fopen(path, "wb");
    fwrite(b.d, 1, b.n, f);
    fclose(f);
    rc = sv_checkpoint_open(path, &ck);
    CHECK(rc == SCIVEC_EFORMAT && error_has("storage k0: holds 11 elements, the pickle says 12"),
          "count mismatch: %s", scivec_last_error());
    free(b.d);
}

static int load(const pk *b, sv_pickle **p) {
    *p = NULL;
    int rc = sv_pickle_load(b->d, b->n, "test.pkl", p, NULL);
    return rc;
}

static void test_hostile(void) {
    sv_pickle *p;
    pk b = {0};

    /* os.system with an argument: refused at the GLOBAL, before any REDUCE. */
    remove("/tmp/sv_pwned_pickle");
    op(&b, 0x80);
    op(&b, 2);
    global(&b, "os", "system");
    str(&b, "touch /tmp/sv_pwned_pickle");
    op(&b, 0x85);
    op(&b, 'R');
    op(&b, '.');
    int rc = load(&b, &p);
    CHECK(rc == SCIVEC_EUNSUPPORTED && error_has("refusing global 'os.system'") &&
              error_has("nothing was executed") && error_has("test.pkl"),
          "os.system: %s", scivec_last_error());
    CHECK(!sv_file_exists("/tmp/sv_pwned_pickle"), "os.system ran!");
    sv_pickle_free(p);

    /* builtins.eval through protocol 4's STACK_GLOBAL. */
    b.n = 0;
    op(&b, 0x80);
    op(&b, 4);
    op(&b, 0x8c);
    op(&b, 8);
    put(&b, "builtins", 8);
    op(&b, 0x8c);
    op(&b, 4);
    put(&b, "eval", 4);
    op(&b, 0x93);
    str(&b, "__import__('os').system('touch /tmp/sv_pwned_pickle')");
    op(&b, 0x85);
    op(&b, 'R');
    op(&b, '.');
    rc = load(&b, &p);
    CHECK(rc == SCIVEC_EUNSUPPORTED && error_has("'builtins.eval'"), "eval: %s",
          scivec_last_error());
    CHECK(!sv_file_exists("/tmp/sv_pwned_pickle"), "eval ran!");

    /* A torch name that is not on the list (torch.load would run it). */
    b.n = 0;
    global(&b, "torch", "load");
    op(&b, '.');
    rc = load(&b, &p);
    CHECK(rc == SCIVEC_EUNSUPPORTED && error_has("'torch.load'"), "torch.load: %s",
          scivec_last_error());

    /* Recursion bombs: 100000 MARKs, and lists nested 100000 deep. */
    b.n = 0;
    for (int i = 0; i < 100000; i++) op(&b, '(');
    op(&b, '.');
    rc = load(&b, &p);
    CHECK(rc == SCIVEC_EFORMAT && error_has("nested deeper than") && error_has("recursion bomb"),
          "mark bomb: %s", scivec_last_error());
    b.n = 0;
    for (int i = 0; i < 100000; i++) op(&b, ']');
    for (int i = 0; i < 99999; i++) op(&b, 'a');
    op(&b, '.');
    rc = load(&b, &p);
    CHECK(rc == SCIVEC_EFORMAT && error_has("nested deeper than"), "list bomb: %s",
          scivec_last_error());
    /* Nested tuples via TUPLE1. */
    b.n = 0;
    op(&b, 'N');
    for (int i = 0; i < 100000; i++) op(&b, 0x85);
    op(&b, '.');
    rc = load(&b, &p);
    CHECK(rc == SCIVEC_EFORMAT && error_has("nested deeper than"), "tuple bomb: %s",
          scivec_last_error());

    /* Truncations and malformed programs. */
    static const struct {
        const char *bytes;
        size_t n;
        const char *message;
    } bad[] = {
        {"", 0, "no STOP"},
        {"\x80\x02}", 3, "no STOP"},
        {"X\xff\xff\xff\x7f"
         "abc.",
         9, "truncated"},
        {"\x8d\xff\xff\xff\xff\xff\xff\xff\xff.", 10, "longer than the pickle"},
        {"h\x05.", 3, "memo entry 5 was never stored"},
        {"r\x00\x00\x00\x7f.", 6, "memo store on an empty stack"},
        {"Nr\x00\x00\x00\x7f.", 7, "memo index"},
        {"i__main__\nX\n.", 13, "unsupported opcode 0x69"},
        {".", 1, "stack underflow"},
        {"(.", 2, "stack underflow"},
        {"Na.", 3, "non-list"},
        {"}Ns.", 4, "SETITEM on a non-dict"},
        {"\x80\x09N.", 4, "protocol 9"},
        {"cos\nsys", 7, "truncated GLOBAL"},
        {"N)R.", 4, "REDUCE needs an allowed global"},
        {"(N}u.", 5, "SETITEMS"},
        {"(N\x86.", 4, "stack underflow"},
    };
    for (size_t i = 0; i < SV_ARRAY_LEN(bad); i++) {
        rc = sv_pickle_load((const uint8_t *)bad[i].bytes, bad[i].n, "bad.pkl", &p, NULL);
        CHECK(rc < 0 && error_has(bad[i].message) && error_has("bad.pkl"),
              "bad[%zu]: rc %d, message: %s", i, rc, scivec_last_error());
        if (rc == 0) sv_pickle_free(p);
    }

    /* A persistent id naming a non-storage, and a tensor with a bad offset. */
    b.n = 0;
    op(&b, '(');
    str(&b, "storage");
    global(&b, "collections", "OrderedDict");
    str(&b, "0");
    str(&b, "cpu");
    int_(&b, 4);
    op(&b, 't');
    op(&b, 'Q');
    op(&b, '.');
    rc = load(&b, &p);
    CHECK(rc == SCIVEC_EFORMAT && error_has("storage type"), "bad persid: %s", scivec_last_error());
    b.n = 0;
    op(&b, '(');
    str(&b, "storage");
    global(&b, "torch", "FloatStorage");
    str(&b, "../../etc/passwd");
    str(&b, "cpu");
    int_(&b, 4);
    op(&b, 't');
    op(&b, 'Q');
    op(&b, '.');
    rc = load(&b, &p);
    CHECK(rc == SCIVEC_EFORMAT && error_has("not a plain name"), "path key: %s",
          scivec_last_error());
    b.n = 0;
    tensor(&b, "FloatStorage", "0", 4, -1, 1, (int[]){2}, (int[]){1}, NULL);
    op(&b, '.');
    rc = load(&b, &p);
    CHECK(rc == SCIVEC_EFORMAT && error_has("negative storage offset"), "neg offset: %s",
          scivec_last_error());
    free(b.d);
}

/* Good pickles that exercise memo, protocol 4 and the value accessors. */
static void test_values(void) {
    pk b = {0};
    op(&b, 0x80);
    op(&b, 4);
    op(&b, 0x95);
    for (int i = 0; i < 8; i++) op(&b, 0); /* FRAME */
    op(&b, '}');
    op(&b, 0x94);
    op(&b, 0x8c);
    op(&b, 1);
    op(&b, 'x');
    op(&b, 0x8a);
    op(&b, 2);
    op(&b, 0xff);
    op(&b, 0x7f);
    op(&b, 's');
    op(&b, 0x8c);
    op(&b, 1);
    op(&b, 'y');
    op(&b, 'h');
    op(&b, 0);
    op(&b, 's'); /* y -> the dict itself */
    op(&b, 0x8c);
    op(&b, 1);
    op(&b, 'z');
    op(&b, 0x8a);
    op(&b, 1);
    op(&b, 0xfe);
    op(&b, 's');
    op(&b, '.');
    sv_pickle *p;
    int rc = load(&b, &p);
    CHECK(rc == 0, "values: %s", scivec_last_error());
    if (rc == 0) {
        const sv_pv *root = sv_pickle_root(p);
        const sv_pv *x = sv_pv_dict_get(root, "x"), *y = sv_pv_dict_get(root, "y"),
                    *z = sv_pv_dict_get(root, "z");
        CHECK(x && x->type == SV_PV_INT && x->u.i == 32767, "LONG1 0x7fff");
        CHECK(z && z->type == SV_PV_INT && z->u.i == -2, "LONG1 -2");
        CHECK(y == root, "memo self reference");
        sv_pickle_free(p);
    }
    /* A state dict with no tensors is not a checkpoint. */
    sv_checkpoint *ck = sv_checkpoint_new("empty-state.pkl");
    b.n = 0;
    op(&b, '}');
    op(&b, '.');
    rc = load(&b, &p);
    CHECK(rc == 0, "empty dict");
    rc = sv_pickle_state_dict_into(p, ck);
    CHECK(rc == SCIVEC_EFORMAT && error_has("no tensors"), "empty state: %s", scivec_last_error());
    sv_pickle_free(p);
    sv_checkpoint_free(ck);
    free(b.d);
}

int main(void) {
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_zip_views();
    test_legacy_views();
    test_hostile();
    test_values();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return check_report();
}
