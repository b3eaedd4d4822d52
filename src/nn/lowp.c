/*
 * lowp.c - bf16 and int8 dense layers on oneDNN's matmul (see lowp.h).
 */
#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"
#include "nn/lowp.h"

/* One thread's oneDNN stream and buffers, reused by every call. */
typedef struct lowp_thread {
    dnnl_stream_t stream;
    void *act;        /* [cap_values] int8 or bf16 activations      */
    float *row_scale; /* [cap_rows] int8 token scales               */
    size_t cap_values;
    int cap_rows;
    void *scratchpad; /* the primitives' scratch (user-managed, so
                                 threads may run primitives concurrently)   */
    size_t cap_scratchpad;
} lowp_thread;

struct sv_lowp {
    scivec_precision precision;
    dnnl_engine_t engine;
    int n_threads;
    lowp_thread *threads;
    /* one primitive per weight shape (BERT has two: [h, h] and the FFN's) */
    struct lowp_shape {
        int n_out, n_in;
        dnnl_primitive_t primitive;
        size_t scratch;
    } * shapes;
    int n_shapes;
    int failed; /* a failing matmul's dnnl_status_t, else 0   */
};

const char *scivec_precision_name(scivec_precision precision) {
    switch (precision) {
        case SCIVEC_PRECISION_BF16: return "bf16";
        case SCIVEC_PRECISION_INT8: return "int8";
        default: return "fp32";
    }
}

int scivec_precision_parse(const char *name, scivec_precision *out) {
    static const scivec_precision all[] = {SCIVEC_PRECISION_FP32, SCIVEC_PRECISION_BF16,
                                           SCIVEC_PRECISION_INT8};
    for (size_t i = 0; name && i < SV_ARRAY_LEN(all); i++)
        if (!strcmp(name, scivec_precision_name(all[i]))) {
            *out = all[i];
            return SCIVEC_OK;
        }
    return sv_error(SCIVEC_EINVAL, "precision '%s': expected fp32, bf16 or int8",
                    name ? name : "(null)");
}

/* Refused rather than run slowly: oneDNN would emulate bf16 with AVX-512
 * (or not run it at all), and int8 without VNNI is no faster than fp32 -
 * the user asked for speed and would silently get none. */
const char *sv_lowp_unsupported(scivec_precision precision) {
    const sv_cpu *cpu = sv_cpu_get();
    if (precision == SCIVEC_PRECISION_BF16 && !cpu->avx512_bf16 && !cpu->amx_bf16)
        return "bf16 needs AVX512_BF16 or AMX-BF16, which this CPU lacks; "
               "use --precision fp32 (or int8 where VNNI is present)";
    if (precision == SCIVEC_PRECISION_INT8 && !cpu->avx512_vnni && !cpu->amx_int8)
        return "int8 needs AVX512_VNNI or AMX-INT8, which this CPU lacks; use --precision fp32";
    return NULL;
}

static int dnnl_fail(dnnl_status_t s, const char *what) {
    return sv_error(s == dnnl_out_of_memory ? SCIVEC_ENOMEM : SCIVEC_EUNSUPPORTED,
                    "oneDNN: %s failed (status %d)", what, (int)s);
}

int sv_lowp_create(scivec_precision precision, int n_threads, sv_lowp **out) {
    *out = NULL;
    if (precision == SCIVEC_PRECISION_FP32 || n_threads < 1)
        return sv_error(SCIVEC_EINVAL, "lowp: bad precision or thread count");
    const char *why = sv_lowp_unsupported(precision);
    if (why)
        return sv_error(SCIVEC_EUNSUPPORTED, "--precision %s: %s", scivec_precision_name(precision),
                        why);
    sv_lowp *lp = calloc(1, sizeof *lp);
    if (!lp) return sv_error(SCIVEC_ENOMEM, "out of memory");
    lp->precision = precision;
    lp->n_threads = n_threads;
    int status = SCIVEC_OK;
    dnnl_status_t s = dnnl_engine_create(&lp->engine, dnnl_cpu, 0);
    if (s != dnnl_success) {
        status = dnnl_fail(s, "engine");
        goto done;
    }
    lp->threads = calloc((size_t)n_threads, sizeof *lp->threads);
    if (!lp->threads) {
        status = sv_error(SCIVEC_ENOMEM, "out of memory");
        goto done;
    }
    for (int t = 0; t < n_threads; t++) {
        s = dnnl_stream_create(&lp->threads[t].stream, lp->engine, dnnl_stream_default_flags);
        if (s != dnnl_success) {
            status = dnnl_fail(s, "stream");
            goto done;
        }
        // a scratchpad of size 0 would be an empty memory object; start at 64 B
        lp->threads[t].scratchpad = malloc(64);
        if (!lp->threads[t].scratchpad) {
            status = sv_error(SCIVEC_ENOMEM, "out of memory");
            goto done;
        }
        lp->threads[t].cap_scratchpad = 64;
    }

done:
    if (status) {
        sv_lowp_free(lp);
        lp = NULL;
    }
    *out = lp;
    return status;
}

void sv_lowp_free(sv_lowp *lp) {
    if (!lp) return;
    for (int t = 0; lp->threads && t < lp->n_threads; t++) {
        if (lp->threads[t].stream) dnnl_stream_destroy(lp->threads[t].stream);
        free(lp->threads[t].act);
        free(lp->threads[t].row_scale);
        free(lp->threads[t].scratchpad);
    }
    free(lp->threads);
    for (int i = 0; i < lp->n_shapes; i++) dnnl_primitive_destroy(lp->shapes[i].primitive);
    free(lp->shapes);
    if (lp->engine) dnnl_engine_destroy(lp->engine);
    free(lp);
}

scivec_precision sv_lowp_precision(const sv_lowp *lp) { return lp->precision; }

static dnnl_data_type_t act_type(const sv_lowp *lp) {
    return lp->precision == SCIVEC_PRECISION_INT8 ? dnnl_s8 : dnnl_bf16;
}

static size_t act_size(const sv_lowp *lp) { return lp->precision == SCIVEC_PRECISION_INT8 ? 1 : 2; }

/* The matmul for [M, n_in] x [n_in, n_out] with M a run-time dimension,
 * weights read as the transpose of PyTorch's [n_out, n_in] (strides 1,
 * n_in), fp32 out. int8: the weight scales are run-time output scales. */
static int create_primitive(sv_lowp *lp, int n_out, int n_in, struct lowp_shape *shape) {
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t a_dims = {DNNL_RUNTIME_DIM_VAL, n_in}, b_dims = {n_in, n_out};
    dnnl_dims_t c_dims = {DNNL_RUNTIME_DIM_VAL, n_out}, b_strides = {1, n_in};
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_matmul_desc_t md;
    dnnl_status_t s;
    const char *what = "memory descriptors";
    if ((s = dnnl_memory_desc_init_by_tag(&a, 2, a_dims, act_type(lp), dnnl_ab)) ||
        (s = dnnl_memory_desc_init_by_strides(&b, 2, b_dims, act_type(lp), b_strides)) ||
        (s = dnnl_memory_desc_init_by_tag(&c, 2, c_dims, dnnl_f32, dnnl_ab)))
        goto done;
    what = "matmul descriptor";
    if ((s = dnnl_matmul_desc_init(&md, &a, &b, NULL, &c))) goto done;
    what = "attributes";
    if ((s = dnnl_primitive_attr_create(&attr)) ||
        (s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)))
        goto done;
    if (lp->precision == SCIVEC_PRECISION_INT8) {
        float runtime = DNNL_RUNTIME_F32_VAL;
        if ((s = dnnl_primitive_attr_set_output_scales(attr, 1, 1 << 1, &runtime))) goto done;
    }
    what = "matmul primitive descriptor";
    // oneDNN's gemm-based matmul fixes its thread count when created (the
    // OpenMP maximum): ask for one thread, as each call runs on one of ours;
    // otherwise a call from a one-thread region starts a team of its own
    int max_threads = omp_get_max_threads();
    omp_set_num_threads(1);
    s = dnnl_primitive_desc_create(&pd, &md, attr, lp->engine, NULL);
    omp_set_num_threads(max_threads);
    if (s) goto done;
    const dnnl_memory_desc_t *scratch =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    shape->scratch = scratch ? dnnl_memory_desc_get_size(scratch) : 0;
    what = "matmul primitive";
    s = dnnl_primitive_create(&shape->primitive, pd);
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return s == dnnl_success ? SCIVEC_OK : dnnl_fail(s, what);
}

/* The primitive for this shape, created on first use. */
static int shape_primitive(sv_lowp *lp, int n_out, int n_in, struct lowp_shape **out) {
    for (int i = 0; i < lp->n_shapes; i++)
        if (lp->shapes[i].n_out == n_out && lp->shapes[i].n_in == n_in) {
            *out = &lp->shapes[i];
            return SCIVEC_OK;
        }
    struct lowp_shape *more = realloc(lp->shapes, (size_t)(lp->n_shapes + 1) * sizeof *more);
    if (!more) return sv_error(SCIVEC_ENOMEM, "out of memory");
    lp->shapes = more;
    struct lowp_shape *shape = &lp->shapes[lp->n_shapes];
    *shape = (struct lowp_shape){n_out, n_in, NULL, 0};
    int status = create_primitive(lp, n_out, n_in, shape);
    if (status) return status;
    lp->n_shapes++;
    // every thread's scratchpad must fit every primitive's
    for (int t = 0; t < lp->n_threads; t++) {
        lowp_thread *th = &lp->threads[t];
        if (shape->scratch <= th->cap_scratchpad) continue;
        void *bigger = realloc(th->scratchpad, shape->scratch);
        if (!bigger) return sv_error(SCIVEC_ENOMEM, "out of memory for oneDNN scratch");
        th->scratchpad = bigger;
        th->cap_scratchpad = shape->scratch;
    }
    *out = shape;
    return SCIVEC_OK;
}

/* float -> bf16, round to nearest even (NaN stays NaN). */
static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* q[n] = row / scale rounded to nearest even, scale = max|row| / 127 (1 for
 * an all-zero row); 0 when row holds NaN/Inf. Written to vectorise in the
 * plain x86-64 build this file gets (a load quantises 85M weights: with
 * nearbyintf, a libm call per weight, it took a tenth of a short run):
 * compares rather than fabsf/fmaxf, x - x to find non-finite values, and
 * adding and subtracting 1.5 * 2^23, which rounds |x| <= 2^22 to the nearest
 * integer, ties to even, exactly as nearbyintf does in the default mode. */
static int quantize_row(const float *restrict row, int n, int8_t *restrict q,
                        float *restrict scale_out) {
    float max_abs = 0.0f, probe = 0.0f;
#pragma omp simd reduction(max : max_abs) reduction(+ : probe)
    for (int i = 0; i < n; i++) {
        float a = row[i] < 0.0f ? -row[i] : row[i];
        max_abs = a > max_abs ? a : max_abs;
        probe += row[i] - row[i];
    }
    if (probe != 0.0f || probe != probe) return 0;
    float scale = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
    *scale_out = scale;
    const float round_magic = 12582912.0f; /* 1.5 * 2^23 */
#pragma omp simd
    for (int i = 0; i < n; i++) q[i] = (int8_t)(int)((row[i] / scale + round_magic) - round_magic);
    return 1;
}

int sv_lowp_weight_prepare(sv_lowp *lp, const float *w, int n_out, int n_in, const char *name,
                           sv_lowp_weight *out) {
    memset(out, 0, sizeof *out);
    out->n_out = n_out;
    out->n_in = n_in;
    size_t n = (size_t)n_out * n_in;
    struct lowp_shape *shape = NULL;
    int status = shape_primitive(lp, n_out, n_in, &shape);
    if (status) return status;
    out->primitive = shape->primitive;
    out->owner = lp;
    out->data = malloc(n * act_size(lp));
    if (!out->data) return sv_error(SCIVEC_ENOMEM, "%s: out of memory", name);
    if (lp->precision == SCIVEC_PRECISION_BF16) {
        uint16_t *bf = out->data;
        for (size_t i = 0; i < n; i++) bf[i] = to_bf16(w[i]);
        return SCIVEC_OK;
    }
    out->scale = malloc((size_t)n_out * sizeof(float));
    if (!out->scale) {
        sv_lowp_weight_free(out);
        return sv_error(SCIVEC_ENOMEM, "%s: out of memory", name);
    }
    for (int r = 0; r < n_out; r++)
        if (!quantize_row(w + (size_t)r * n_in, n_in, (int8_t *)out->data + (size_t)r * n_in,
                          &out->scale[r])) {
            sv_lowp_weight_free(out);
            return sv_error(SCIVEC_EFORMAT,
                            "%s: row %d holds NaN/Inf, which int8 cannot "
                            "quantise",
                            name, r);
        }
    return SCIVEC_OK;
}

void sv_lowp_weight_free(sv_lowp_weight *w) {
    if (!w) return;
    free(w->data);
    free(w->scale);
    memset(w, 0, sizeof *w);
}

int sv_lowp_reserve(sv_lowp *lp, int rows, int n_in) {
    size_t values = (size_t)rows * n_in;
    for (int t = 0; t < lp->n_threads; t++) {
        lowp_thread *th = &lp->threads[t];
        if (values > th->cap_values) {
            void *bigger = realloc(th->act, values * act_size(lp));
            if (!bigger) return sv_error(SCIVEC_ENOMEM, "out of memory for %d rows", rows);
            th->act = bigger;
            th->cap_values = values;
        }
        if (rows > th->cap_rows) {
            float *more = realloc(th->row_scale, (size_t)rows * sizeof *more);
            if (!more) return sv_error(SCIVEC_ENOMEM, "out of memory for %d rows", rows);
            th->row_scale = more;
            th->cap_rows = rows;
        }
    }
    return SCIVEC_OK;
}

void *sv_lowp_act(sv_lowp *lp, int thread, float **row_scale) {
    if (row_scale) *row_scale = lp->threads[thread].row_scale;
    return lp->threads[thread].act;
}

int sv_lowp_matmul(sv_lowp *lp, int thread, const sv_lowp_weight *w, int m, float *c, int ldc) {
    lowp_thread *th = &lp->threads[thread];
    dnnl_memory_desc_t a_md, b_md, c_md, s_md;
    dnnl_dims_t a_dims = {m, w->n_in}, b_dims = {w->n_in, w->n_out}, b_strides = {1, w->n_in};
    dnnl_dims_t c_dims = {m, w->n_out}, c_strides = {ldc, 1};
    dnnl_dims_t scale_dims = {w->n_out}, scratch_dims = {(dnnl_dim_t)th->cap_scratchpad};
    dnnl_memory_t mem[5] = {NULL};
    dnnl_status_t s;
    int n_args = 3;
    // the primitive may start threads of its own unless told this thread is
    // all it has (bert.c's region with one thread is not "in parallel")
    omp_set_num_threads(1);
    if ((s = dnnl_memory_desc_init_by_tag(&a_md, 2, a_dims, act_type(lp), dnnl_ab)) ||
        (s = dnnl_memory_desc_init_by_strides(&b_md, 2, b_dims, act_type(lp), b_strides)) ||
        (s = dnnl_memory_desc_init_by_strides(&c_md, 2, c_dims, dnnl_f32, c_strides)) ||
        (s = dnnl_memory_desc_init_by_tag(&s_md, 1, scratch_dims, dnnl_u8, dnnl_a)) ||
        (s = dnnl_memory_create(&mem[0], &a_md, lp->engine, th->act)) ||
        (s = dnnl_memory_create(&mem[1], &b_md, lp->engine, w->data)) ||
        (s = dnnl_memory_create(&mem[2], &c_md, lp->engine, c)) ||
        (s = dnnl_memory_create(&mem[3], &s_md, lp->engine, th->scratchpad)))
        goto done;
    dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, mem[0]},
                               {DNNL_ARG_WEIGHTS, mem[1]},
                               {DNNL_ARG_DST, mem[2]},
                               {DNNL_ARG_SCRATCHPAD, mem[3]}};
    n_args = 4;
    if (w->scale) {
        dnnl_memory_desc_t scale_md;
        if ((s = dnnl_memory_desc_init_by_tag(&scale_md, 1, scale_dims, dnnl_f32, dnnl_a)) ||
            (s = dnnl_memory_create(&mem[4], &scale_md, lp->engine, w->scale)))
            goto done;
        args[n_args++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_OUTPUT_SCALES, mem[4]};
    }
    if ((s = dnnl_primitive_execute(w->primitive, th->stream, n_args, args))) goto done;
    s = dnnl_stream_wait(th->stream);
done:
    for (int i = 0; i < 5; i++)
        if (mem[i]) dnnl_memory_destroy(mem[i]);
    if (s == dnnl_success) return SCIVEC_OK;
// the message is made by sv_lowp_failed, on the thread that reports it
#pragma omp atomic write
    lp->failed = (int)s;
    return SCIVEC_EUNSUPPORTED;
}

int sv_lowp_failed(sv_lowp *lp) {
    int s = lp->failed;
    lp->failed = 0;
    return s ? dnnl_fail((dnnl_status_t)s, "matmul") : SCIVEC_OK;
}
