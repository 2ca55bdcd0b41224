// Multi-scalar multiplication on P-256 for verifying tally proofs: public inputs only, variable
// time. Included by shim.h after evalvault_p256() and evalvault_thread_bnctx().
//
// Why this exists: a batch of score proofs is checked as one sum Σ sᵢ·Pᵢ of 27 points per score,
// and nearly all of that time is point additions. OpenSSL's public EC_POINT_add works in Jacobian
// coordinates (its fast P-256 assembly is internal); here the bulk of the additions are done
// in affine coordinates, many at a time sharing one field inversion (Montgomery's trick), with
// OpenSSL's own Montgomery field multiplication. That is 6 multiplications per addition instead
// of 11 or more, and about 1.5 times as many proofs verified per second. The field arithmetic
// stays OpenSSL's (BN_mod_mul_montgomery, BN_usub, BN_mod_inverse); only the affine
// addition formulas are written here. Every window's row and column sums go back to OpenSSL
// through EC_POINT_set_affine_coordinates, which refuses a point off the curve: a slip in a
// formula would almost always leave the curve and show as a failure (verification then checks
// each proof on its own with EC_POINT_mul) rather than as a wrong sum. What stays on the curve
// when wrong — a point meeting itself or its negation — is tested against EC_POINT_mul
// (TallyTests), as is every path here.
#ifndef EVALVAULT_P256_MSM_H
#define EVALVAULT_P256_MSM_H

/// The field's Montgomery context, with a (= −3) and 1 in Montgomery form, made once per thread
/// (OpenSSL exposes the group's Montgomery data for the order only).
typedef struct {
    const BIGNUM *p;
    BN_MONT_CTX *mont;
    BIGNUM *a, *one;
} evalvault_p256_field;

static inline const evalvault_p256_field *evalvault_p256_field_get(void) {
    static __thread evalvault_p256_field f;
    if (f.mont != NULL) return &f;
    const EC_GROUP *g = evalvault_p256();
    BN_CTX *ctx = evalvault_thread_bnctx();
    if (g == NULL || ctx == NULL) return NULL;
    BN_MONT_CTX *mont = BN_MONT_CTX_new();
    BIGNUM *a = BN_new(), *one = BN_new();
    const BIGNUM *p = EC_GROUP_get0_field(g);
    if (mont == NULL || a == NULL || one == NULL || p == NULL || BN_MONT_CTX_set(mont, p, ctx) != 1
        || EC_GROUP_get_curve(g, NULL, a, NULL, ctx) != 1 || BN_to_montgomery(a, a, mont, ctx) != 1
        || BN_to_montgomery(one, BN_value_one(), mont, ctx) != 1) {
        BN_MONT_CTX_free(mont);
        BN_free(a);
        BN_free(one);
        return NULL;
    }
    f.p = p; f.a = a; f.one = one; f.mont = mont;
    return &f;
}

/// An affine point, coordinates in Montgomery form, or the identity (`present` 0).
typedef struct { BIGNUM *x, *y; int present; } evalvault_p256_affine;

/// One addition of a batch: its inputs and where the sum goes.
typedef struct {
    const BIGNUM *x1, *y1, *x2, *y2;
    evalvault_p256_affine *out;
    int kind; // 0: P + Q with Q ≠ ±P; 1: P + P; 2: P + (−P), the identity
} evalvault_p256_pair;

/// A point waiting to be added: input `index` (negated or not), or a sum made earlier (`slot`,
/// which the next sum may overwrite only if `owned`).
typedef struct {
    const BIGNUM *x, *y;
    evalvault_p256_affine *slot;
    size_t index;
    int negate, owned;
} evalvault_p256_entry;

/// How many additions share one inversion (an inversion costs about 300 multiplications).
#define EVALVAULT_MSM_BATCH 4096
/// From how many points on the multiplication runs on batched affine additions: below, the
/// inversions and conversions cost more than they save.
#define EVALVAULT_MSM_AFFINE_FROM 2048

/// Working memory of the affine path, allocated once per multiplication.
typedef struct {
    BIGNUM **px, **py;                 // the inputs' coordinates (NULL for the identity)
    BIGNUM *prefix[EVALVAULT_MSM_BATCH], *dens[EVALVAULT_MSM_BATCH];
    BIGNUM *negated[2 * EVALVAULT_MSM_BATCH];
    BIGNUM *t[6];
    evalvault_p256_pair pairs[EVALVAULT_MSM_BATCH];
    evalvault_p256_entry *ent, *next;  // max(n, buckets) each
    evalvault_p256_entry *buckets;     // one per bucket, present if `used`
    size_t *start, *fill;              // buckets + 1, buckets
    evalvault_p256_affine *pool;       // sums
    size_t batch, poolSize, slots;     // additions per inversion (≤ EVALVAULT_MSM_BATCH)
} evalvault_p256_msm_scratch;

/// r = a − b mod p for a, b < p: what BN_mod_sub_quick computes, in two thirds of its
/// instructions (the subtraction is the commonest call of the affine additions). `t` is scratch,
/// distinct from r; r may be a or b (BN_usub allows it, as BN_add relies on).
static inline int evalvault_p256_fsub(BIGNUM *r, const BIGNUM *a, const BIGNUM *b, const BIGNUM *p, BIGNUM *t) {
    if (BN_ucmp(a, b) >= 0) return BN_usub(r, a, b);
    return BN_usub(t, b, a) && BN_usub(r, p, t);
}

/// Adds every pair of `pairs` in affine coordinates with one field inversion for all. An output
/// may be one of its own pair's inputs, never another pair's.
static inline int evalvault_p256_add_pairs(evalvault_p256_msm_scratch *s, size_t count,
                                           const evalvault_p256_field *f, BN_CTX *ctx) {
    if (count == 0) return 1;
    BIGNUM *tmp = s->t[0], *num = s->t[1], *inv = s->t[2], *lambda = s->t[3], *x3 = s->t[4], *y3 = s->t[5];
    int ok = 1;
    // Denominators: x2 − x1, or 2·y1 for a doubling (no point of P-256 has y = 0), or 1 for a
    // sum that is the identity; and their running products.
    for (size_t k = 0; ok && k < count; k++) {
        evalvault_p256_pair *q = &s->pairs[k];
        BIGNUM *den = s->dens[k];
        ok = evalvault_p256_fsub(den, q->x2, q->x1, f->p, tmp);
        q->kind = 0;
        if (ok && BN_is_zero(den)) {
            ok = evalvault_p256_fsub(num, q->y2, q->y1, f->p, tmp);
            q->kind = BN_is_zero(num) ? 1 : 2;
            if (ok) ok = q->kind == 1 ? BN_mod_add_quick(den, q->y1, q->y1, f->p) : BN_copy(den, f->one) != NULL;
        }
        if (ok) ok = k == 0 ? BN_copy(s->prefix[0], den) != NULL
                            : BN_mod_mul_montgomery(s->prefix[k], s->prefix[k - 1], den, f->mont, ctx);
    }
    // inv = (Π den)⁻¹ in Montgomery form.
    ok = ok && BN_from_montgomery(inv, s->prefix[count - 1], f->mont, ctx)
        && BN_mod_inverse(inv, inv, f->p, ctx) != NULL
        && BN_to_montgomery(inv, inv, f->mont, ctx);
    for (size_t k = count; ok && k-- > 0;) {
        evalvault_p256_pair *q = &s->pairs[k];
        // den⁻¹ = inv · Π(den before k); then inv becomes the inverse of that shorter product.
        ok = (k == 0 ? BN_copy(lambda, inv) != NULL
                     : BN_mod_mul_montgomery(lambda, inv, s->prefix[k - 1], f->mont, ctx))
            && BN_mod_mul_montgomery(inv, inv, s->dens[k], f->mont, ctx);
        if (!ok) break;
        if (q->kind == 2) { q->out->present = 0; continue; }
        // λ = (y2 − y1)/(x2 − x1), or (3·x1² + a)/(2·y1); x3 = λ² − x1 − x2; y3 = λ(x1 − x3) − y1.
        if (q->kind == 0) {
            ok = evalvault_p256_fsub(num, q->y2, q->y1, f->p, tmp);
        } else {
            ok = BN_mod_mul_montgomery(num, q->x1, q->x1, f->mont, ctx)
                && BN_mod_add_quick(x3, num, num, f->p) && BN_mod_add_quick(num, x3, num, f->p)
                && BN_mod_add_quick(num, num, f->a, f->p);
        }
        ok = ok && BN_mod_mul_montgomery(lambda, num, lambda, f->mont, ctx)
            && BN_mod_mul_montgomery(x3, lambda, lambda, f->mont, ctx)
            && evalvault_p256_fsub(x3, x3, q->x1, f->p, tmp) && evalvault_p256_fsub(x3, x3, q->x2, f->p, tmp)
            && evalvault_p256_fsub(y3, q->x1, x3, f->p, tmp)
            && BN_mod_mul_montgomery(y3, lambda, y3, f->mont, ctx)
            && evalvault_p256_fsub(y3, y3, q->y1, f->p, tmp);
        if (ok) { BN_swap(q->out->x, x3); BN_swap(q->out->y, y3); q->out->present = 1; }
    }
    return ok;
}

/// Adds up the entries of each group (group k is s->ent[start[k] ..< start[k + 1]]) until each
/// holds at most one, in rounds: entries 2j and 2j + 1 of a group are added, an odd last one
/// waits, and every round's additions share inversions. A sum goes into an owned slot of one of
/// its inputs, or a new one.
static inline int evalvault_p256_sum_groups(evalvault_p256_msm_scratch *s, size_t groups,
                                            const evalvault_p256_field *f, BN_CTX *ctx) {
    size_t *start = s->start;
    int ok = 1, more = 1;
    while (ok && more) {
        size_t batched = 0, written = 0;
        more = 0;
        for (size_t b = 0; ok && b < groups; b++) {
            size_t from = start[b], to = start[b + 1];
            start[b] = written;
            for (size_t k = from; ok && k + 1 < to; k += 2) {
                more = 1;
                evalvault_p256_entry *e[2] = {&s->ent[k], &s->ent[k + 1]};
                evalvault_p256_affine *out = e[0]->owned ? e[0]->slot : e[1]->owned ? e[1]->slot : NULL;
                if (out == NULL) {
                    if (s->slots == s->poolSize) return 0;
                    out = &s->pool[s->slots++];
                }
                const BIGNUM *y[2];
                for (int j = 0; ok && j < 2; j++) {
                    y[j] = e[j]->y;
                    if (e[j]->negate) {
                        BIGNUM *minus = s->negated[2 * batched + (size_t)j];
                        ok = BN_usub(minus, f->p, e[j]->y); // p − y, as y < p
                        y[j] = minus;
                    }
                }
                s->pairs[batched++] = (evalvault_p256_pair){e[0]->x, y[0], e[1]->x, y[1], out, 0};
                s->next[written++] = (evalvault_p256_entry){out->x, out->y, out, 0, 0, 1};
                if (ok && batched == s->batch) {
                    ok = evalvault_p256_add_pairs(s, batched, f, ctx);
                    batched = 0;
                }
            }
            if ((to - from) % 2 == 1) s->next[written++] = s->ent[to - 1];
        }
        start[groups] = written;
        ok = ok && evalvault_p256_add_pairs(s, batched, f, ctx);
        // Drop the sums that came out as the identity (a point met its negation).
        size_t kept = 0;
        for (size_t b = 0; ok && b < groups; b++) {
            size_t from = start[b], to = start[b + 1];
            start[b] = kept;
            for (size_t k = from; k < to; k++) {
                if (s->next[k].slot == NULL || s->next[k].slot->present) s->ent[kept++] = s->next[k];
            }
        }
        start[groups] = kept;
    }
    return ok;
}

/// The entry as an EC_POINT. A sum goes back through EC_POINT_set_affine_coordinates, which
/// refuses a point off the curve: a fault in the arithmetic above cannot pass silently.
static inline int evalvault_p256_entry_point(evalvault_p256_msm_scratch *s, const evalvault_p256_entry *e,
                                             EC_POINT *out, const EC_POINT *const *points,
                                             const evalvault_p256_field *f, const EC_GROUP *g, BN_CTX *ctx) {
    if (e->slot == NULL) {
        return EC_POINT_copy(out, points[e->index]) && (!e->negate || EC_POINT_invert(g, out, ctx));
    }
    return BN_from_montgomery(s->t[0], e->x, f->mont, ctx) && BN_from_montgomery(s->t[1], e->y, f->mont, ctx)
        && EC_POINT_set_affine_coordinates(g, out, s->t[0], s->t[1], ctx);
}

/// W = Σ i·items[i] and T = Σ items[i] (over the `used` ones) by running sums from the top down:
/// two additions per item.
static inline int evalvault_p256_running_sums(EC_POINT *const *items, const unsigned char *used, size_t count,
                                              EC_POINT *w, EC_POINT *total, const EC_GROUP *g, BN_CTX *ctx) {
    int ok = EC_POINT_set_to_infinity(g, w) && EC_POINT_set_to_infinity(g, total), started = 0;
    for (size_t i = count; ok && i-- > 0;) {
        if (used[i]) { ok = EC_POINT_add(g, total, total, items[i], ctx); started = 1; }
        if (ok && started && i > 0) ok = EC_POINT_add(g, w, w, total, ctx);
    }
    return ok;
}

/// One window of the affine path: out = Σ_d d·(the sum of the points whose digit is ±d).
/// The buckets are filled by batched additions; then, with d − 1 = h·m + l, the rows
/// R_h = Σ_l B and columns C_l = Σ_h B (batched again, 2 additions per bucket) give
/// Σ_d d·B_d = Σ_h R_h + m·Σ_h h·R_h + Σ_l l·C_l with only a few hundred EC_POINT additions,
/// where summing the buckets themselves would take two per bucket.
static inline int evalvault_p256_msm_window_affine(
    evalvault_p256_msm_scratch *s, EC_POINT *out, EC_POINT **rowPoints, EC_POINT **columnPoints,
    unsigned char *used, size_t nb, size_t m, const int *digits, int windows, int w,
    const EC_POINT *const *points, size_t n, EC_POINT *const *tmp, const evalvault_p256_field *f,
    const EC_GROUP *g, BN_CTX *ctx) {
    size_t *start = s->start, rows = nb / m;
    // The window's points, sorted by bucket (|digit| − 1).
    memset(start, 0, (nb + 1) * sizeof *start);
    for (size_t i = 0; i < n; i++) {
        int d = digits[i * (size_t)windows + (size_t)w];
        if (d != 0 && s->px[i] != NULL) start[(size_t)(d > 0 ? d : -d)]++;
    }
    for (size_t b = 0; b < nb; b++) start[b + 1] += start[b];
    size_t *fill = s->fill;
    memcpy(fill, start, nb * sizeof *fill);
    for (size_t i = 0; i < n; i++) {
        int d = digits[i * (size_t)windows + (size_t)w];
        if (d == 0 || s->px[i] == NULL) continue;
        size_t b = (size_t)(d > 0 ? d : -d) - 1;
        s->ent[fill[b]++] = (evalvault_p256_entry){s->px[i], s->py[i], NULL, i, d < 0, 0};
    }
    s->slots = 0;
    int ok = evalvault_p256_sum_groups(s, nb, f, ctx);
    for (size_t b = 0; ok && b < nb; b++) {
        used[b] = start[b + 1] > start[b];
        if (used[b]) s->buckets[b] = s->ent[start[b]];
    }
    // Rows first, reading the buckets without overwriting them; then columns, which may.
    for (int pass = 0; ok && pass < 2; pass++) {
        size_t groups = pass == 0 ? rows : m, at = 0;
        for (size_t k = 0; k < groups; k++) {
            start[k] = at;
            for (size_t j = 0; j < (pass == 0 ? m : rows); j++) {
                size_t b = pass == 0 ? k * m + j : j * m + k;
                if (!used[b]) continue;
                s->ent[at] = s->buckets[b];
                s->ent[at++].owned = pass == 1 && s->buckets[b].slot != NULL;
            }
        }
        start[groups] = at;
        ok = evalvault_p256_sum_groups(s, groups, f, ctx);
        EC_POINT **targets = pass == 0 ? rowPoints : columnPoints;
        unsigned char *present = used + nb + (pass == 0 ? 0 : rows);
        for (size_t k = 0; ok && k < groups; k++) {
            present[k] = start[k + 1] > start[k];
            if (present[k]) ok = evalvault_p256_entry_point(s, &s->ent[start[k]], targets[k], points, f, g, ctx);
        }
    }
    // out = T + m·Σ h·R_h + Σ l·C_l (m a power of two).
    EC_POINT *wc = tmp[0], *tc = tmp[1], *wr = tmp[2], *total = tmp[3];
    ok = ok && evalvault_p256_running_sums(columnPoints, used + nb + rows, m, wc, tc, g, ctx)
        && evalvault_p256_running_sums(rowPoints, used + nb, rows, wr, total, g, ctx);
    for (size_t k = 1; ok && k < m; k <<= 1) ok = EC_POINT_dbl(g, wr, wr, ctx);
    return ok && EC_POINT_add(g, out, total, wr, ctx) && EC_POINT_add(g, out, out, wc, ctx);
}

static inline void evalvault_p256_msm_scratch_free(evalvault_p256_msm_scratch *s, size_t n) {
    if (s == NULL) return;
    for (size_t i = 0; s->px != NULL && i < n; i++) BN_free(s->px[i]);
    for (size_t i = 0; s->py != NULL && i < n; i++) BN_free(s->py[i]);
    for (size_t j = 0; j < s->batch; j++) {
        BN_free(s->prefix[j]); BN_free(s->dens[j]); BN_free(s->negated[2 * j]); BN_free(s->negated[2 * j + 1]);
    }
    for (int j = 0; j < 6; j++) BN_free(s->t[j]);
    for (size_t j = 0; s->pool != NULL && j < s->poolSize; j++) { BN_free(s->pool[j].x); BN_free(s->pool[j].y); }
    OPENSSL_free(s->px); OPENSSL_free(s->py); OPENSSL_free(s->ent); OPENSSL_free(s->next);
    OPENSSL_free(s->buckets); OPENSSL_free(s->start); OPENSSL_free(s->fill); OPENSSL_free(s->pool);
    OPENSSL_free(s);
}

/// The affine path's working memory and the inputs' coordinates in Montgomery form, from
/// `coordinates` (x ‖ y, 64 bytes per point) where given: OpenSSL's P-256 computes a point's
/// affine coordinates with an inversion (~5 µs) even for a point decoded from exactly those bytes.
static inline evalvault_p256_msm_scratch *evalvault_p256_msm_scratch_new(
    const EC_POINT *const *points, const unsigned char *coordinates, size_t n, size_t nb,
    const evalvault_p256_field *f, const EC_GROUP *g, BN_CTX *ctx) {
    evalvault_p256_msm_scratch *s = OPENSSL_zalloc(sizeof *s);
    if (s == NULL) return NULL;
    // Sums: at most n/2 filling the buckets, then nb/2 for the rows and nb/2 for the columns.
    s->poolSize = n / 2 + nb + 2;
    s->batch = n / 2 + 1 < EVALVAULT_MSM_BATCH ? n / 2 + 1 : EVALVAULT_MSM_BATCH;
    size_t entries = n > nb ? n : nb;
    int ok = (s->px = OPENSSL_zalloc(n * sizeof *s->px)) != NULL && (s->py = OPENSSL_zalloc(n * sizeof *s->py)) != NULL
        && (s->ent = OPENSSL_malloc(entries * sizeof *s->ent)) != NULL
        && (s->next = OPENSSL_malloc(entries * sizeof *s->next)) != NULL
        && (s->buckets = OPENSSL_malloc(nb * sizeof *s->buckets)) != NULL
        && (s->start = OPENSSL_malloc((nb + 1) * sizeof *s->start)) != NULL
        && (s->fill = OPENSSL_malloc(nb * sizeof *s->fill)) != NULL
        && (s->pool = OPENSSL_zalloc(s->poolSize * sizeof *s->pool)) != NULL;
    for (int j = 0; ok && j < 6; j++) ok = (s->t[j] = BN_new()) != NULL;
    for (size_t j = 0; ok && j < s->batch; j++) {
        ok = (s->prefix[j] = BN_new()) != NULL && (s->dens[j] = BN_new()) != NULL
            && (s->negated[2 * j] = BN_new()) != NULL && (s->negated[2 * j + 1] = BN_new()) != NULL;
    }
    for (size_t j = 0; ok && j < s->poolSize; j++) {
        ok = (s->pool[j].x = BN_new()) != NULL && (s->pool[j].y = BN_new()) != NULL;
    }
    for (size_t i = 0; ok && i < n; i++) {
        if (EC_POINT_is_at_infinity(g, points[i])) continue; // adds nothing
        const unsigned char *xy = coordinates != NULL ? coordinates + 64 * i : NULL;
        ok = (s->px[i] = BN_new()) != NULL && (s->py[i] = BN_new()) != NULL
            && (xy != NULL ? BN_bin2bn(xy, 32, s->px[i]) != NULL && BN_bin2bn(xy + 32, 32, s->py[i]) != NULL
                           : EC_POINT_get_affine_coordinates(g, points[i], s->px[i], s->py[i], ctx) == 1)
            && BN_to_montgomery(s->px[i], s->px[i], f->mont, ctx)
            && BN_to_montgomery(s->py[i], s->py[i], f->mont, ctx);
    }
    if (!ok) { evalvault_p256_msm_scratch_free(s, n); return NULL; }
    return s;
}

/// out = Σ scalars[i]·points[i] (`scalars`: n 32-byte big-endian values), Pippenger's bucket
/// method with signed c-bit digits, so a window needs 2^(c−1) buckets and a negative digit adds
/// the point's negation. From EVALVAULT_MSM_AFFINE_FROM points on, a window is summed by
/// batched affine additions (evalvault_p256_msm_window_affine); below, by EC_POINT_add into the
/// buckets and running sums over them. `coordinates` is NULL or, for every point, its affine
/// x ‖ y (64 bytes big-endian, as in its uncompressed encoding) — the caller's promise that
/// they are that point's.
static inline int evalvault_p256_msm(EC_POINT *out, const EC_POINT *const *points,
                                     const unsigned char *coordinates,
                                     const unsigned char *scalars, size_t n) {
    const EC_GROUP *g = evalvault_p256();
    BN_CTX *ctx = evalvault_thread_bnctx();
    if (g == NULL || ctx == NULL) return 0;
    if (EC_POINT_set_to_infinity(g, out) != 1) return 0;
    if (n == 0) return 1;
    int affine = n >= EVALVAULT_MSM_AFFINE_FROM;
    const evalvault_p256_field *f = affine ? evalvault_p256_field_get() : NULL;
    if (affine && f == NULL) return 0;
    // The window minimising windows × (adding the points + summing the buckets), in units of one
    // EC_POINT_add: a batched affine addition costs about 0.5, so a point 0.5 and a bucket
    // about 1.2 on the affine path; a point 1 and a bucket 2 on the other.
    int c = 2;
    double best = 1e300;
    for (int w = 2; w <= 16; w++) {
        double buckets = (double)(1u << (w - 1));
        double cost = (double)(256 / w + 1) * (affine ? 0.5 * (double)n + 1.2 * buckets : (double)n + 2.0 * buckets);
        if (cost < best) { best = cost; c = w; }
    }
    int windows = 256 / c + 1;
    size_t nb = (size_t)1 << (c - 1);
    // The affine path's rows and columns: m = 2^⌈(c−1)/2⌉ columns of nb/m rows.
    size_t m = (size_t)1 << (c / 2), rows = nb / m;
    size_t held = affine ? rows + m : nb;
    int *digits = OPENSSL_malloc(n * (size_t)windows * sizeof *digits);
    EC_POINT **held_points = OPENSSL_zalloc(held * sizeof *held_points), *tmp[4] = {0};
    unsigned char *used = OPENSSL_zalloc(nb + rows + m);
    EC_POINT *window = EC_POINT_new(g);
    int ok = digits != NULL && held_points != NULL && used != NULL && window != NULL;
    for (size_t i = 0; ok && i < held; i++) ok = (held_points[i] = EC_POINT_new(g)) != NULL;
    for (int j = 0; ok && j < 4; j++) ok = (tmp[j] = EC_POINT_new(g)) != NULL;
    // Signed digits in [−2^(c−1), 2^(c−1)], lowest window first, carrying into the next.
    int anyNegative = 0;
    for (size_t i = 0; ok && i < n; i++) {
        const unsigned char *sc = scalars + 32 * i;
        int carry = 0;
        for (int w = 0; w < windows; w++) {
            int d = carry;
            for (int b = 0; b < c; b++) {
                int bit = w * c + b;
                if (bit < 256) d += ((sc[31 - bit / 8] >> (bit % 8)) & 1) << b;
            }
            carry = d > (int)nb;
            if (carry) d -= 1 << c;
            if (d < 0) anyNegative = 1;
            digits[i * (size_t)windows + (size_t)w] = d;
        }
    }
    EC_POINT **neg = NULL;
    evalvault_p256_msm_scratch *s = NULL;
    if (ok && affine) {
        ok = (s = evalvault_p256_msm_scratch_new(points, coordinates, n, nb, f, g, ctx)) != NULL;
    } else if (ok && anyNegative) {
        ok = (neg = OPENSSL_zalloc(n * sizeof *neg)) != NULL;
        for (size_t i = 0; ok && i < n; i++) {
            ok = (neg[i] = EC_POINT_dup(points[i], g)) != NULL && EC_POINT_invert(g, neg[i], ctx);
        }
    }
    for (int w = windows - 1; ok && w >= 0; w--) {
        for (int j = 0; ok && j < c && w != windows - 1; j++) ok = EC_POINT_dbl(g, out, out, ctx);
        if (ok && affine) {
            ok = evalvault_p256_msm_window_affine(s, window, held_points, held_points + rows, used, nb, m,
                                                  digits, windows, w, points, n, tmp, f, g, ctx);
        } else if (ok) {
            EC_POINT **bucket = held_points;
            memset(used, 0, nb);
            for (size_t i = 0; ok && i < n; i++) {
                int d = digits[i * (size_t)windows + (size_t)w];
                if (d == 0) continue;
                const EC_POINT *p = d > 0 ? points[i] : neg[i];
                size_t at = (size_t)(d > 0 ? d : -d) - 1;
                if (used[at]) ok = EC_POINT_add(g, bucket[at], bucket[at], p, ctx);
                else { ok = EC_POINT_copy(bucket[at], p); used[at] = 1; }
            }
            // Σ (b + 1)·bucket[b] = W + T.
            ok = ok && evalvault_p256_running_sums(bucket, used, nb, tmp[0], tmp[1], g, ctx)
                && EC_POINT_add(g, window, tmp[0], tmp[1], ctx);
        }
        ok = ok && EC_POINT_add(g, out, out, window, ctx);
    }
    evalvault_p256_msm_scratch_free(s, n);
    for (size_t i = 0; neg != NULL && i < n; i++) EC_POINT_free(neg[i]);
    for (size_t i = 0; held_points != NULL && i < held; i++) EC_POINT_free(held_points[i]);
    for (int j = 0; j < 4; j++) EC_POINT_free(tmp[j]);
    OPENSSL_free(neg);
    OPENSSL_free(digits);
    OPENSSL_free(held_points);
    OPENSSL_free(used);
    EC_POINT_free(window);
    if (!ok) ERR_clear_error();
    return ok;
}

#endif
