/* DnCNN-style stacks of 3x3 convolutions (pixmill.ml.dncnn) as Winograd F(6x6, 3x3), on channels-last float32.
 *
 * conv_tiles computes a range of 6x6 output tiles of one layer: for each group of GROUP tiles it transforms their
 * 8x8 input windows (64 points per tile and channel), multiplies each point's [tiles x c_in] block by that
 * point's [c_in x c_out] weights, transforms the products back to pixels and adds the bias, with the ReLU when
 * asked. A group's transformed inputs and products (GROUP x 64 x 64 floats each) stay in the core's cache and
 * each point's weights (16 KB) in its L1 while they are used; the activations are read once and written once.
 * forward (below) streams the whole network through it on threads of its own, the GIL released.
 *
 * Channels run 16 at a time in GCC/Clang vector types, which the compiler lowers to what the CPU has; on x86-64
 * conv_tiles is compiled for x86-64-v4 (AVX-512), v3 (AVX2, FMA) and the baseline, and the loader picks the one
 * the CPU runs.
 *
 * Layouts (C-contiguous float32):
 *   src   [rows][wp][c_in]   zero-bordered input: tile (ti, tj) reads rows 6 ti .. 6 ti + 7, columns 6 tj ..
 *                            6 tj + 7; wp = 6 tw + 2 for tw tiles a row
 *   dst   [rows][wp][c_out]  tile (ti, tj) writes rows 1 + 6 ti .., columns 1 + 6 tj ..
 *   u     [64][c_in][o_pad]  weights per point q * 8 + p (p: row point, q: column point), G w G^T; o_pad is
 *                            c_out rounded up to 16, the extra columns zero
 *   bias  [c_out]
 * Pixels outside the image are written as 0 (the padding the next layer reads): tile row ti's pixel row i is
 * image row row0 + 6 ti + i, inside when in [0, h); pixel column 6 tj + j is inside when below w.
 *
 * The transforms are written out for the points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity, in that order
 * (pixmill.ml.dncnn's _POINTS, from which its weights are transformed), so the zeros and the symmetric pairs of
 * points cost nothing; the tests check the whole against torch's convolutions.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define M 6
#define N 8
#define P (N * N)
#define LANES 16
#define ROWS 6             /* tiles per register block of the matrix product */
#define GROUP (2 * ROWS) /* tiles transformed and multiplied together: their data stays in L2 */

typedef float vec __attribute__((vector_size(LANES * sizeof(float))));
typedef int ivec __attribute__((vector_size(LANES * sizeof(int))));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif
#define INLINE static inline __attribute__((always_inline))

INLINE vec load(const float *p, int n) {
    vec v = {0};
    if (n == LANES)
        memcpy(&v, p, sizeof v);
    else
        memcpy(&v, p, (size_t)n * sizeof(float));
    return v;
}

INLINE void store(float *p, vec v, int n) {
    if (n == LANES)
        memcpy(p, &v, sizeof v);
    else
        memcpy(p, &v, (size_t)n * sizeof(float));
}

/* BT applied to 8 samples: 26 operations instead of the dense 64. */
INLINE void bt8(const vec d[N], vec out[N]) {
    out[0] = (d[6] - d[0]) + 5.25f * (d[2] - d[4]);
    out[7] = (d[7] - d[1]) + 5.25f * (d[3] - d[5]);
    vec a = (d[2] + d[6]) - 4.25f * d[4], b = (d[1] + d[5]) - 4.25f * d[3];
    out[1] = a + b;
    out[2] = a - b;
    a = (0.25f * d[2] + d[6]) - 1.25f * d[4];
    b = (0.5f * d[1] + 2.0f * d[5]) - 2.5f * d[3];
    out[3] = a + b;
    out[4] = a - b;
    a = (4.0f * d[2] + d[6]) - 5.0f * d[4];
    b = (2.0f * d[1] + 0.5f * d[5]) - 2.5f * d[3];
    out[5] = a + b;
    out[6] = a - b;
}

/* AT applied to 8 products: 6 outputs, 20 operations instead of the dense 48. */
INLINE void at8(const vec x[N], vec y[M]) {
    const vec a1 = x[1] + x[2], b1 = x[1] - x[2];
    const vec a2 = x[3] + x[4], b2 = x[3] - x[4];
    const vec a3 = x[5] + x[6], b3 = x[5] - x[6];
    y[0] = x[0] + a1 + a2 + a3;
    y[1] = b1 + 2.0f * b2 + 0.5f * b3;
    y[2] = a1 + 4.0f * a2 + 0.25f * a3;
    y[3] = b1 + 8.0f * b2 + 0.125f * b3;
    y[4] = a1 + 16.0f * a2 + 0.0625f * a3;
    y[5] = b1 + 32.0f * b2 + 0.03125f * b3 + x[7];
}

/* One 8x8 window of n <= 16 channels at s (row stride `row`, pixel stride c) to its 64 points at v (point
 * stride `ps`): across each row first, then down each column. */
INLINE void input_tile(const float *s, Py_ssize_t row, Py_ssize_t c, float *v, Py_ssize_t ps, int n) {
    vec e[N][N]; /* e[q][a]: row a after the transform across it */
    for (int a = 0; a < N; a++) {
        vec d[N], t[N];
        for (int b = 0; b < N; b++)
            d[b] = load(s + a * row + b * c, n);
        bt8(d, t);
        for (int q = 0; q < N; q++)
            e[q][a] = t[q];
    }
    for (int q = 0; q < N; q++) {
        vec t[N];
        bt8(e[q], t);
        for (int p = 0; p < N; p++)
            store(v + (q * N + p) * ps, t[p], n);
    }
}

/* The 64 products of one tile (n <= 16 channels, point stride ps) to its 6x6 pixels at d (row stride `row`,
 * pixel stride o), plus bias and the ReLU when asked; pixels outside rows [rows_from, rows_to) and columns
 * [0, cols_to) are written as 0. */
INLINE void output_tile(const float *mp, Py_ssize_t ps, float *d, Py_ssize_t row, Py_ssize_t o, const float *bias,
                        int relu, int rows_from, int rows_to, int cols_to, int n) {
    vec f[M][N]; /* f[i][q]: column q after the transform down it */
    for (int q = 0; q < N; q++) {
        vec x[N], y[M];
        for (int p = 0; p < N; p++)
            x[p] = load(mp + (q * N + p) * ps, n);
        at8(x, y);
        for (int i = 0; i < M; i++)
            f[i][q] = y[i];
    }
    const vec b = load(bias, n);
    const vec zero = {0};
    for (int i = 0; i < M; i++) {
        vec y[M];
        at8(f[i], y);
        for (int j = 0; j < M; j++) {
            vec out = y[j] + b;
            if (relu)
                out = (vec)((ivec)out & (out > zero)); /* the comparison's mask keeps the positive lanes */
            if (i < rows_from || i >= rows_to || j >= cols_to)
                out = zero;
            store(d + i * row + j * o, out, n);
        }
    }
}

/* out[ROWS][NV vectors] = a[ROWS][k] @ b[k][NV vectors]: the register block of the product, all accumulators
 * held in registers (24 of the 32 AVX-512 ones for NV = 4). */
INLINE void block(const float *a, Py_ssize_t lda, const float *b, Py_ssize_t ldb, Py_ssize_t k, float *out,
                  Py_ssize_t ldo, const int nv) {
    vec acc[ROWS][4] = {{{0}}};
    for (Py_ssize_t kk = 0; kk < k; kk++) {
        vec bv[4];
        for (int j = 0; j < nv; j++)
            bv[j] = load(b + kk * ldb + j * LANES, LANES);
        for (int i = 0; i < ROWS; i++) {
            const float x = a[i * lda + kk];
            for (int j = 0; j < nv; j++)
                acc[i][j] += x * bv[j];
        }
    }
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < nv; j++)
            store(out + i * ldo + j * LANES, acc[i][j], LANES);
}

CLONES static void conv_tiles(const float *src, Py_ssize_t wp, Py_ssize_t c_in, float *dst, Py_ssize_t c_out,
                           const float *u, Py_ssize_t o_pad, const float *bias, float *scratch, Py_ssize_t k0,
                           Py_ssize_t r, Py_ssize_t row0, Py_ssize_t h, Py_ssize_t w, int relu) {
    const Py_ssize_t tw = (wp - 2) / M, srow = wp * c_in, drow = wp * c_out;
    /* [64][GROUP][c_in] and [64][GROUP][o_pad], each point's block padded by one cache line: with strides that
     * are multiples of 2 KB, the 64 points of a tile would fall into two of the L1 cache's 64 sets. */
    const Py_ssize_t vs = GROUP * c_in + LANES, ms = GROUP * o_pad + LANES;
    float *v = scratch, *mp = scratch + P * vs;
    for (Py_ssize_t g0 = k0; g0 < k0 + r; g0 += GROUP) {
        const Py_ssize_t gt = (k0 + r - g0 < GROUP) ? k0 + r - g0 : GROUP;
        const Py_ssize_t blocks = (gt + ROWS - 1) / ROWS;
        for (Py_ssize_t k = 0; k < gt; k++) {
            const Py_ssize_t ti = (g0 + k) / tw, tj = (g0 + k) % tw;
            const float *s = src + M * ti * srow + M * tj * c_in;
            Py_ssize_t ch = 0;
            for (; ch + LANES <= c_in; ch += LANES)
                input_tile(s + ch, srow, c_in, v + k * c_in + ch, vs, LANES);
            if (ch < c_in)
                input_tile(s + ch, srow, c_in, v + k * c_in + ch, vs, (int)(c_in - ch));
        }
        for (Py_ssize_t k = gt; k < blocks * ROWS; k++) /* the last block's unused rows: zeros, not garbage */
            for (int pt = 0; pt < P; pt++)
                memset(v + pt * vs + k * c_in, 0, (size_t)c_in * sizeof(float));
        for (int pt = 0; pt < P; pt++) {
            const float *a = v + pt * vs, *b = u + pt * c_in * o_pad;
            float *out = mp + pt * ms;
            for (Py_ssize_t ib = 0; ib < blocks; ib++) {
                Py_ssize_t j = 0;
                for (; j + 4 * LANES <= o_pad; j += 4 * LANES)
                    block(a + ib * ROWS * c_in, c_in, b + j, o_pad, c_in, out + ib * ROWS * o_pad + j, o_pad, 4);
                for (; j < o_pad; j += LANES)
                    block(a + ib * ROWS * c_in, c_in, b + j, o_pad, c_in, out + ib * ROWS * o_pad + j, o_pad, 1);
            }
        }
        for (Py_ssize_t k = 0; k < gt; k++) {
            const Py_ssize_t y = M * ((g0 + k) / tw), x = M * ((g0 + k) % tw);
            const Py_ssize_t top = row0 + y; /* the image row of the tile's first pixel row */
            const int rows_from = (int)(top >= 0 ? 0 : (-top < M ? -top : M));
            const int rows_to = (int)(h - top <= 0 ? 0 : (h - top < M ? h - top : M));
            const int cols_to = (int)(w - x <= 0 ? 0 : (w - x < M ? w - x : M));
            float *d = dst + (1 + y) * drow + (1 + x) * c_out;
            const float *mt = mp + k * o_pad;
            Py_ssize_t ch = 0;
            for (; ch + LANES <= c_out; ch += LANES)
                output_tile(mt + ch, ms, d + ch, drow, c_out, bias + ch, relu, rows_from, rows_to,
                            cols_to, LANES);
            if (ch < c_out)
                output_tile(mt + ch, ms, d + ch, drow, c_out, bias + ch, relu, rows_from, rows_to,
                            cols_to, (int)(c_out - ch));
        }
    }
}

/* ---- The whole network, streamed in stripes of rows ------------------------------------------------------
 *
 * Layer l keeps an input buffer of S + 2 rows (S = 6 * stripe tile rows) that holds its input rows
 * [k S - l - 1, k S - l + S + 1) at step k: each step, every layer makes the next S rows of its output, one row
 * behind the layer before it, so what a layer reads was written moments before by the layer below and is still
 * in the cache, and no layer's whole output is ever held. The two rows a layer's next stripe shares with this
 * one are carried to the top of its buffer between steps.
 *
 * The threads share each layer's tiles, CHUNK at a time, and meet at a barrier only between steps. Within a
 * step a layer may start once every chunk of the layer below is done; a thread that finds a chunk claimed but
 * not done after three times what its own last chunk of that layer took computes it itself: on a busy machine
 * the thread holding it may have been preempted for milliseconds. Both then write the same values (the same arithmetic on the same inputs) into a
 * buffer that nobody writes anything else into before the next barrier, so the result does not depend on who
 * wins, and the late thread finds the rest of the step done. */

#define CHUNK GROUP
#define STRAGGLER_MIN_NS 100000 /* the least a thread waits for another's chunk */
#define MAX_LAYERS 64

typedef struct {
    const float *u, *bias;
    Py_ssize_t c_in, c_out, o_pad;
} Layer;

typedef struct {
    atomic_int arrived, phase, n;
} Barrier;

typedef struct {
    const float *x; /* [h][w][c0] */
    float *out;     /* [h][w][c_last] */
    Py_ssize_t h, w, tw, wp, ts, depth, steps, chunks;
    const Layer *layers;
    float **bufs;     /* depth + 1 buffers [ts * 6 + 2][wp][channels] */
    float **scratch;  /* one per thread */
    int threads;
    atomic_long *next;   /* per layer: the next chunk of this step to claim */
    atomic_uchar *done;  /* per layer and chunk: whether this step's chunk is written */
    Barrier barrier;
} Net;

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static Py_ssize_t rows_of(const Net *net) { return M * net->ts + 2; }

/* Tile rows [lo, hi) of layer l's stripe at step k that touch the image; the rest are all padding. */
static void live_rows(const Net *net, Py_ssize_t k, Py_ssize_t l, Py_ssize_t *lo, Py_ssize_t *hi) {
    const Py_ssize_t row0 = k * M * net->ts - l;
    Py_ssize_t a = 0, b = net->ts;
    while (a < b && row0 + M * a + M <= 0)
        a++;
    while (b > a && row0 + M * (b - 1) >= net->h)
        b--;
    *lo = a;
    *hi = b;
}

/* Between steps, on one thread: the last layer's rows of step k - 1 to the output, the image's rows of step k
 * into the first buffer, the carried rows of every other buffer, zeros for the stripe rows no tile writes,
 * and the chunk counters and flags cleared. */
static void between_steps(Net *net, Py_ssize_t k) {
    const Py_ssize_t hp = rows_of(net), s = M * net->ts, wp = net->wp, w = net->w, depth = net->depth;
    const Py_ssize_t c0 = net->layers[0].c_in, c_last = net->layers[depth - 1].c_out;
    if (k > 0) {
        const Py_ssize_t row0 = (k - 1) * s - (depth - 1);
        const float *b = net->bufs[depth];
        for (Py_ssize_t i = 0; i < s; i++) {
            const Py_ssize_t y = row0 + i;
            if (y >= 0 && y < net->h)
                memcpy(net->out + y * w * c_last, b + ((2 + i) * wp + 1) * c_last, (size_t)(w * c_last) * sizeof(float));
        }
    }
    if (k == net->steps)
        return;
    float *b0 = net->bufs[0];
    for (Py_ssize_t i = 0; i < hp; i++) {
        const Py_ssize_t y = k * s - 1 + i;
        float *row = b0 + (i * wp + 1) * c0;
        if (y >= 0 && y < net->h)
            memcpy(row, net->x + y * w * c0, (size_t)(w * c0) * sizeof(float));
        else
            memset(row, 0, (size_t)(w * c0) * sizeof(float));
    }
    for (Py_ssize_t l = 0; l < depth; l++) {
        const Py_ssize_t c = net->layers[l].c_out, row = wp * c;
        float *b = net->bufs[l + 1];
        if (l < depth - 1)
            memcpy(b, b + s * row, (size_t)(2 * row) * sizeof(float));
        Py_ssize_t lo, hi;
        live_rows(net, k, l, &lo, &hi);
        if (lo > 0)
            memset(b + 2 * row, 0, (size_t)(M * lo * row) * sizeof(float));
        if (hi < net->ts)
            memset(b + (2 + M * hi) * row, 0, (size_t)(M * (net->ts - hi) * row) * sizeof(float));
        atomic_store_explicit(&net->next[l], 0, memory_order_relaxed);
        for (Py_ssize_t i = 0; i < net->chunks; i++)
            atomic_store_explicit(&net->done[l * net->chunks + i], 0, memory_order_relaxed);
    }
}

/* A barrier whose last arriver runs between_steps(k) before it lets the others go. Waiting spins a while, then
 * yields the CPU (a preempted peer can take milliseconds). */
static void step_barrier(Net *net, Py_ssize_t k) {
    Barrier *b = &net->barrier;
    const int phase = atomic_load_explicit(&b->phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) == atomic_load(&b->n) - 1) {
        between_steps(net, k);
        atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&b->phase, phase + 1, memory_order_release);
        return;
    }
    for (int spins = 0; atomic_load_explicit(&b->phase, memory_order_acquire) == phase; spins++) {
        if (spins < 2000)
            cpu_relax();
        else
            sched_yield();
    }
}

/* Chunk i of layer l at step k: tiles first + CHUNK i .. (at most CHUNK of them, none past end); returns the
 * nanoseconds it took. */
static long long run_chunk(Net *net, Py_ssize_t k, Py_ssize_t l, Py_ssize_t first, Py_ssize_t end, Py_ssize_t i,
                           float *scratch) {
    const long long start = now_ns();
    const Layer *layer = &net->layers[l];
    const Py_ssize_t k0 = first + i * CHUNK, r = end - k0 < CHUNK ? end - k0 : CHUNK;
    conv_tiles(net->bufs[l], net->wp, layer->c_in, net->bufs[l + 1] + net->wp * layer->c_out, layer->c_out,
               layer->u, layer->o_pad, layer->bias, scratch, k0, r, k * M * net->ts - l, net->h, net->w,
               l < net->depth - 1);
    atomic_store_explicit(&net->done[l * net->chunks + i], 1, memory_order_release);
    return now_ns() - start;
}

static void run_thread(Net *net, int index) {
    float *scratch = net->scratch[index];
    long long chunk_ns[MAX_LAYERS] = {0}; /* what this thread's last chunk of each layer took */
    for (Py_ssize_t k = 0; k <= net->steps; k++) {
        step_barrier(net, k);
        if (k == net->steps)
            return;
        for (Py_ssize_t l = 0; l < net->depth; l++) {
            Py_ssize_t lo, hi;
            live_rows(net, k, l, &lo, &hi);
            const Py_ssize_t first = lo * net->tw, end = hi * net->tw, count = (end - first + CHUNK - 1) / CHUNK;
            for (;;) {
                const Py_ssize_t i = atomic_fetch_add_explicit(&net->next[l], 1, memory_order_relaxed);
                if (i >= count)
                    break;
                chunk_ns[l] = run_chunk(net, k, l, first, end, i, scratch);
            }
            /* every chunk of this layer must be written before the next layer reads them */
            for (Py_ssize_t i = 0; i < count; i++) {
                atomic_uchar *flag = &net->done[l * net->chunks + i];
                if (atomic_load_explicit(flag, memory_order_acquire))
                    continue;
                const long long since = now_ns();
                const long long patience = 3 * chunk_ns[l] > STRAGGLER_MIN_NS ? 3 * chunk_ns[l] : STRAGGLER_MIN_NS;
                for (int spins = 1; !atomic_load_explicit(flag, memory_order_acquire); spins++) {
                    cpu_relax();
                    if (spins % 64 == 0 && now_ns() - since > patience) {
                        run_chunk(net, k, l, first, end, i, scratch);
                        break;
                    }
                }
            }
        }
    }
}

typedef struct {
    Net *net;
    int index;
} ThreadArg;

static void *thread_main(void *arg) {
    ThreadArg *a = arg;
    run_thread(a->net, a->index);
    return NULL;
}

/* Runs the network; 0, or -1 when memory or threads could not be had (nothing is left allocated). */
static int forward(Net *net) {
    const Py_ssize_t hp = rows_of(net), depth = net->depth;
    int status = -1, started = 0;
    pthread_t tids[64];
    ThreadArg args[64];
    net->bufs = calloc((size_t)(depth + 1), sizeof(float *));
    net->scratch = calloc((size_t)net->threads, sizeof(float *));
    net->next = calloc((size_t)depth, sizeof(atomic_long));
    net->done = calloc((size_t)(depth * net->chunks), sizeof(atomic_uchar));
    if (!net->bufs || !net->scratch || !net->next || !net->done)
        goto done;
    Py_ssize_t widest_in = 0, widest_out = 0;
    for (Py_ssize_t l = 0; l <= depth; l++) {
        const Py_ssize_t c = l < depth ? net->layers[l].c_in : net->layers[depth - 1].c_out;
        net->bufs[l] = calloc((size_t)(hp * net->wp * c), sizeof(float)); /* zeros: the border stays padding */
        if (!net->bufs[l])
            goto done;
        if (l < depth) {
            widest_in = net->layers[l].c_in > widest_in ? net->layers[l].c_in : widest_in;
            widest_out = net->layers[l].o_pad > widest_out ? net->layers[l].o_pad : widest_out;
        }
    }
    for (int t = 0; t < net->threads; t++) {
        net->scratch[t] = malloc((size_t)(P * (GROUP * (widest_in + widest_out) + 2 * LANES)) * sizeof(float));
        if (!net->scratch[t])
            goto done;
    }
    atomic_init(&net->barrier.arrived, 0);
    atomic_init(&net->barrier.phase, 0);
    atomic_init(&net->barrier.n, net->threads);
    for (; started < net->threads - 1; started++) {
        args[started] = (ThreadArg){net, started + 1};
        if (pthread_create(&tids[started], NULL, thread_main, &args[started]) != 0)
            break;
    }
    /* fewer threads than asked: the barrier counts those started; none of them can pass it before this thread
     * arrives, after this store */
    if (started < net->threads - 1)
        atomic_store(&net->barrier.n, started + 1);
    run_thread(net, 0);
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    status = 0;
done:
    if (net->bufs)
        for (Py_ssize_t l = 0; l <= depth; l++)
            free(net->bufs[l]);
    if (net->scratch)
        for (int t = 0; t < net->threads; t++)
            free(net->scratch[t]);
    free(net->bufs);
    free(net->scratch);
    free(net->next);
    free(net->done);
    return status;
}

/* A C-contiguous float32 buffer of `ndim` dimensions. */
static int get_floats(PyObject *obj, Py_buffer *view, int ndim, int writable, const char *name) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (view->itemsize != sizeof(float) || view->format == NULL || strcmp(view->format, "f") != 0)
        PyErr_Format(PyExc_TypeError, "%s must hold float32", name);
    else if (view->ndim != ndim)
        PyErr_Format(PyExc_ValueError, "%s must have %d dimensions, not %d", name, ndim, view->ndim);
    else
        return 0;
    PyBuffer_Release(view);
    return -1;
}

PyDoc_STRVAR(forward_doc,
             "forward(x, out, weights, biases, threads, stripe)\n--\n\n"
             "net(x) for the 3x3 convolutions with ReLU between them: x [h, w, c0] to out [h, w, c_last], "
             "float32; weights[l] is layer l's [64, c_in, c_out rounded up to 16] Winograd-domain weights, "
             "biases[l] its [c_out] bias. threads share the work; stripe is the tile rows (6 px each) a step "
             "makes.");

static PyObject *py_forward(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *x_o, *out_o, *ws_o, *bs_o;
    int threads;
    Py_ssize_t stripe;
    if (!PyArg_ParseTuple(args, "OOOOin", &x_o, &out_o, &ws_o, &bs_o, &threads, &stripe))
        return NULL;
    ws_o = PySequence_Fast(ws_o, "weights must be a sequence");
    if (!ws_o)
        return NULL;
    bs_o = PySequence_Fast(bs_o, "biases must be a sequence");
    if (!bs_o) {
        Py_DECREF(ws_o);
        return NULL;
    }
    const Py_ssize_t depth = PySequence_Fast_GET_SIZE(ws_o);
    Py_buffer x, out, ws[MAX_LAYERS], bs[MAX_LAYERS];
    Layer layers[MAX_LAYERS];
    Py_ssize_t got_w = 0, got_b = 0;
    int got_x = 0, got_out = 0;
    const char *error = NULL;
    if (depth < 1 || depth > MAX_LAYERS || PySequence_Fast_GET_SIZE(bs_o) != depth)
        error = "weights and biases must give the same number of layers (1 to 64)";
    else if (threads < 1 || threads > 64 || stripe < 1 || stripe > 1024)
        error = "threads must be 1 to 64 and stripe 1 to 1024";
    if (error)
        goto fail;
    if (get_floats(x_o, &x, 3, 0, "x") < 0)
        goto fail;
    got_x = 1;
    if (get_floats(out_o, &out, 3, 1, "out") < 0)
        goto fail;
    got_out = 1;
    for (; got_w < depth; got_w++)
        if (get_floats(PySequence_Fast_GET_ITEM(ws_o, got_w), &ws[got_w], 3, 0, "a weight") < 0)
            goto fail;
    for (; got_b < depth; got_b++)
        if (get_floats(PySequence_Fast_GET_ITEM(bs_o, got_b), &bs[got_b], 1, 0, "a bias") < 0)
            goto fail;
    const Py_ssize_t h = x.shape[0], w = x.shape[1];
    Py_ssize_t channels = x.shape[2];
    for (Py_ssize_t l = 0; l < depth && !error; l++) {
        const Py_ssize_t *us = ws[l].shape, c_out = bs[l].shape[0];
        if (us[0] != P || us[1] != channels || us[2] < c_out || us[2] % LANES != 0 || c_out < 1)
            error = "weights[l] must be [64, c_in, c_out rounded up to 16], c_in the channels before it";
        layers[l] = (Layer){ws[l].buf, bs[l].buf, channels, c_out, us[2]};
        channels = c_out;
    }
    if (!error && (out.shape[0] != h || out.shape[1] != w || out.shape[2] != channels))
        error = "out must be [h, w, the last layer's channels]";
    if (!error && (h < 1 || w < 1))
        error = "x must hold at least one pixel";
    if (error)
        goto fail;
    {
        const Py_ssize_t tw = (w + M - 1) / M;
        Net net = {.x = x.buf, .out = out.buf, .h = h, .w = w, .tw = tw, .wp = M * tw + 2, .depth = depth,
                   .layers = layers, .threads = threads};
        /* no more stripe rows than the image needs; enough steps for the last layer, depth - 1 rows behind */
        net.ts = stripe < (h + M - 1) / M ? stripe : (h + M - 1) / M;
        net.steps = (h + depth - 1 + M * net.ts - 1) / (M * net.ts);
        net.chunks = (net.ts * tw + CHUNK - 1) / CHUNK;
        int status;
        Py_BEGIN_ALLOW_THREADS
        status = forward(&net);
        Py_END_ALLOW_THREADS
        if (status < 0)
            PyErr_NoMemory();
    }
fail:
    if (error)
        PyErr_SetString(PyExc_ValueError, error);
    for (Py_ssize_t i = 0; i < got_w; i++)
        PyBuffer_Release(&ws[i]);
    for (Py_ssize_t i = 0; i < got_b; i++)
        PyBuffer_Release(&bs[i]);
    if (got_x)
        PyBuffer_Release(&x);
    if (got_out)
        PyBuffer_Release(&out);
    Py_DECREF(ws_o);
    Py_DECREF(bs_o);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"forward", py_forward, METH_VARARGS, forward_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_winograd",
    .m_doc = "DnCNN-style stacks of 3x3 convolutions as Winograd F(6x6, 3x3) on channels-last float32 buffers.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__winograd(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "CHUNK_TILES", CHUNK) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
