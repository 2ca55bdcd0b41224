// The OpenSSL 3 headers EvalVault uses, through EVP only (design: Cryptography).
// Some OpenSSL entry points are macros or take variadic OSSL_PARAM arrays that Swift cannot call
// directly; the small static inline helpers below wrap them so VaultCrypto stays plain Swift.
#ifndef EVALVAULT_COPENSSL_SHIM_H
#define EVALVAULT_COPENSSL_SHIM_H

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

/// The algorithms EvalVault uses, fetched explicitly once per process. Why: OpenSSL 3 looks an
/// algorithm up by name, under a global lock, on every implicit use (EVP_sha256(), a KDF or MAC
/// fetched per call, a digest named in the parameters) — which cost more than the work itself
/// for the short messages of HPKE's key schedule, per-chunk hashes and per-entry HMACs, and
/// serialised the threads of a reveal on that lock. The HMAC template carries SHA-256 already set;
/// each call duplicates it (no lookup) and sets only its key.
typedef struct {
    EVP_MD *sha256;
    EVP_CIPHER *aes_256_gcm;
    EVP_MAC_CTX *hmac;
} evalvault_fetched_t;

// Function-local statics: Swift emits a header's inline functions (with their statics), not its
// file-scope variables.
static inline evalvault_fetched_t *evalvault_fetched_slot_(void) {
    static evalvault_fetched_t fetched;
    return &fetched;
}

static inline void evalvault_fetch_all_(void) {
    evalvault_fetched_t *f = evalvault_fetched_slot_();
    f->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    f->aes_256_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac != NULL) {
        f->hmac = EVP_MAC_CTX_new(mac);
        EVP_MAC_free(mac);
        OSSL_PARAM p[2] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0), OSSL_PARAM_construct_end() };
        if (f->hmac != NULL && EVP_MAC_CTX_set_params(f->hmac, p) != 1) { EVP_MAC_CTX_free(f->hmac); f->hmac = NULL; }
    }
    ERR_clear_error();
}

static inline const evalvault_fetched_t *evalvault_fetched(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, evalvault_fetch_all_);
    return evalvault_fetched_slot_();
}

/// SHA-256 and AES-256-GCM, fetched once (NULL only if the default provider lacks them).
static inline const EVP_MD *evalvault_sha256(void) { return evalvault_fetched()->sha256; }
static inline const EVP_CIPHER *evalvault_aes_256_gcm(void) { return evalvault_fetched()->aes_256_gcm; }

/// HMAC-SHA256 through EVP_MAC. Returns 1 on success; `out` must hold 32 bytes.
static inline int evalvault_hmac_sha256(const unsigned char *key, size_t key_len,
                                        const unsigned char *msg, size_t msg_len,
                                        unsigned char *out) {
    const evalvault_fetched_t *f = evalvault_fetched();
    if (f->hmac == NULL) return 0;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(f->hmac);
    if (ctx == NULL) return 0;
    static unsigned char empty[1] = {0};
    size_t out_len = 0;
    int ok = EVP_MAC_init(ctx, key_len ? key : empty, key_len, NULL)
          && EVP_MAC_update(ctx, msg_len ? msg : empty, msg_len)
          && EVP_MAC_final(ctx, out, &out_len, 32)
          && out_len == 32;
    EVP_MAC_CTX_free(ctx);
    return ok;
}

/// HKDF-SHA256 (RFC 5869) on the HMAC template: mode is EVP_KDF_HKDF_MODE_EXTRACT_ONLY
/// (PRK = HMAC(salt, IKM); `out_len` must be 32) or EVP_KDF_HKDF_MODE_EXPAND_ONLY (T(i) =
/// HMAC(PRK, T(i-1) | info | i), up to 255 blocks). Returns 1 on success. `key` is the IKM
/// (extract) or the PRK (expand).
///
/// Why not EVP_KDF's HKDF: OpenSSL 3.0 cannot duplicate an HKDF context, and each new one looks
/// SHA-256 up by name under a global lock; a reveal derives a few thousand keys on every core.
/// RFC 5869's vectors, Wycheproof's and RFC 9180's prove this composition (VaultCryptoTests).
static inline int evalvault_hkdf_sha256(int mode,
                                        const unsigned char *key, size_t key_len,
                                        const unsigned char *salt, size_t salt_len,
                                        const unsigned char *info, size_t info_len,
                                        unsigned char *out, size_t out_len) {
    if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY) {
        if (out_len != 32) return 0;
        return evalvault_hmac_sha256(salt, salt_len, key, key_len, out);
    }
    if (mode != EVP_KDF_HKDF_MODE_EXPAND_ONLY || out_len == 0 || out_len > 255 * 32 || key_len == 0) return 0;
    const evalvault_fetched_t *f = evalvault_fetched();
    if (f->hmac == NULL) return 0;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(f->hmac);
    if (ctx == NULL) return 0;
    static unsigned char empty[1] = {0};
    unsigned char t[32];
    size_t done = 0, t_len = 0;
    unsigned char counter = 1;
    int ok = 1;
    while (ok && done < out_len) {
        size_t len = 0;
        ok = EVP_MAC_init(ctx, key, key_len, NULL)
          && (t_len == 0 || EVP_MAC_update(ctx, t, t_len))
          && EVP_MAC_update(ctx, info_len ? info : empty, info_len)
          && EVP_MAC_update(ctx, &counter, 1)
          && EVP_MAC_final(ctx, t, &len, sizeof t)
          && len == 32;
        if (ok) {
            size_t take = out_len - done < 32 ? out_len - done : 32;
            memcpy(out + done, t, take);
            done += take;
            t_len = 32;
            counter++;
        }
    }
    OPENSSL_cleanse(t, sizeof t);
    EVP_MAC_CTX_free(ctx);
    return ok;
}

/// The NIST P-256 group, made once per process (tally rounds' point arithmetic). Read-only once
/// made, so every thread may use it; NULL only if the default provider lacks the curve.
static inline EC_GROUP **evalvault_p256_slot_(void) {
    static EC_GROUP *group;
    return &group;
}
static inline void evalvault_p256_make_(void) {
    *evalvault_p256_slot_() = EC_GROUP_new_by_curve_name_ex(NULL, NULL, NID_X9_62_prime256v1);
    ERR_clear_error();
}
static inline const EC_GROUP *evalvault_p256(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, evalvault_p256_make_);
    return *evalvault_p256_slot_();
}

/// Tally rounds' arithmetic beyond what one EC_POINT call does. Why C: these loops run millions
/// of times in a tally round's verification and a Swift wrapper object per intermediate point
/// would cost more than the arithmetic.

/// A BN_CTX for the calling thread, made on first use and kept for the thread's life.
static inline BN_CTX *evalvault_thread_bnctx(void) {
    static __thread BN_CTX *ctx;
    if (ctx == NULL) ctx = BN_CTX_secure_new();
    return ctx;
}

/// r = a·b + c (mod n), n the P-256 group order; operands are 32-byte big-endian and below n
/// (`c` may be NULL). Montgomery multiplication with the group's own Montgomery data runs in
/// time independent of the values, which matters because the prover multiplies secrets.
static inline int evalvault_p256_scalar_muladd(unsigned char *r, const unsigned char *a,
                                               const unsigned char *b, const unsigned char *c) {
    const EC_GROUP *group = evalvault_p256();
    BN_CTX *ctx = evalvault_thread_bnctx();
    BN_MONT_CTX *mont = group ? EC_GROUP_get_mont_data(group) : NULL;
    if (ctx == NULL || mont == NULL) return 0;
    BN_CTX_start(ctx);
    BIGNUM *x = BN_CTX_get(ctx), *y = BN_CTX_get(ctx), *t = BN_CTX_get(ctx);
    int ok = t != NULL
        && BN_bin2bn(a, 32, x) && BN_bin2bn(b, 32, y)
        && (BN_set_flags(x, BN_FLG_CONSTTIME), BN_set_flags(y, BN_FLG_CONSTTIME), 1)
        && BN_mod_mul_montgomery(t, x, y, mont, ctx)
        && BN_to_montgomery(t, t, mont, ctx);
    if (ok && c != NULL) {
        ok = BN_bin2bn(c, 32, x) && BN_mod_add(t, t, x, EC_GROUP_get0_order(group), ctx);
    }
    ok = ok && BN_bn2binpad(t, r, 32) == 32;
    BN_clear(x); BN_clear(y); BN_clear(t);
    BN_CTX_end(ctx);
    return ok;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
/// A copy of P-256 whose generator is `base`, with OpenSSL's fixed-base table for it, so that
/// EC_POINT_mul(copy, r, k, NULL, NULL, ctx) is the same constant-time comb as k·G (about 5×
/// faster than a variable-base multiplication). EC_GROUP_precompute_mult is deprecated in
/// OpenSSL 3.0 with no replacement; it is still supported in 3.x and is used for nothing else.
static inline EC_GROUP *evalvault_p256_fixed_base_new(const EC_POINT *base) {
    const EC_GROUP *p256 = evalvault_p256();
    BN_CTX *ctx = evalvault_thread_bnctx();
    if (p256 == NULL || ctx == NULL) return NULL;
    EC_GROUP *g = EC_GROUP_dup(p256);
    if (g == NULL) return NULL;
    if (EC_GROUP_set_generator(g, base, EC_GROUP_get0_order(p256), BN_value_one()) != 1
        || EC_GROUP_precompute_mult(g, ctx) != 1) {
        EC_GROUP_free(g);
        return NULL;
    }
    return g;
}

/// Converts points to affine form together (one inversion for all), so encoding them is cheap.
static inline int evalvault_p256_make_affine(size_t n, EC_POINT **points) {
    const EC_GROUP *g = evalvault_p256();
    BN_CTX *ctx = evalvault_thread_bnctx();
    return g != NULL && ctx != NULL && EC_POINTs_make_affine(g, n, points, ctx) == 1;
}
#pragma GCC diagnostic pop

/// out = Σ scalars[i]·points[i], Pippenger's bucket method with signed c-bit digits (so a
/// window needs 2^(c−1) buckets, a negative digit adding the point's negation) over
/// EC_POINT_add. Variable time: for public inputs only (verification). `scalars` holds n 32-byte
/// big-endian values.
static inline int evalvault_p256_msm(EC_POINT *out, const EC_POINT *const *points,
                                     const unsigned char *scalars, size_t n) {
    const EC_GROUP *g = evalvault_p256();
    BN_CTX *ctx = evalvault_thread_bnctx();
    if (g == NULL || ctx == NULL) return 0;
    if (EC_POINT_set_to_infinity(g, out) != 1) return 0;
    if (n == 0) return 1;
    // The window minimising windows × (points + buckets) (running sums cost two additions per
    // bucket, a point one).
    int c = 2;
    double best = 1e300;
    for (int w = 2; w <= 16; w++) {
        double cost = (double)(256 / w + 1) * ((double)n + 2.0 * (double)(1u << (w - 1)));
        if (cost < best) { best = cost; c = w; }
    }
    int windows = 256 / c + 1;
    size_t nb = (size_t)1 << (c - 1);
    int *digits = OPENSSL_malloc(n * (size_t)windows * sizeof *digits);
    EC_POINT **neg = OPENSSL_zalloc(n * sizeof *neg);
    EC_POINT **bucket = OPENSSL_zalloc(nb * sizeof *bucket);
    unsigned char *used = OPENSSL_zalloc(nb);
    EC_POINT *running = EC_POINT_new(g), *acc = EC_POINT_new(g);
    int ok = digits != NULL && neg != NULL && bucket != NULL && used != NULL && running != NULL && acc != NULL;
    for (size_t i = 0; ok && i < nb; i++) ok = (bucket[i] = EC_POINT_new(g)) != NULL;
    // Signed digits in [−2^(c−1), 2^(c−1)], lowest window first, carrying into the next.
    for (size_t i = 0; ok && i < n; i++) {
        const unsigned char *s = scalars + 32 * i;
        int carry = 0, negative = 0;
        for (int w = 0; w < windows; w++) {
            int d = carry;
            for (int b = 0; b < c; b++) {
                int bit = w * c + b;
                if (bit < 256) d += ((s[31 - bit / 8] >> (bit % 8)) & 1) << b;
            }
            carry = d > (int)nb;
            if (carry) d -= 1 << c;
            if (d < 0) negative = 1;
            digits[i * (size_t)windows + (size_t)w] = d;
        }
        if (ok && negative) {
            ok = (neg[i] = EC_POINT_dup(points[i], g)) != NULL && EC_POINT_invert(g, neg[i], ctx);
        }
    }
    for (int w = windows - 1; ok && w >= 0; w--) {
        for (int j = 0; ok && j < c && w != windows - 1; j++) ok = EC_POINT_dbl(g, out, out, ctx);
        memset(used, 0, nb);
        for (size_t i = 0; ok && i < n; i++) {
            int d = digits[i * (size_t)windows + (size_t)w];
            if (d == 0) continue;
            const EC_POINT *p = d > 0 ? points[i] : neg[i];
            size_t at = (size_t)(d > 0 ? d : -d) - 1;
            if (used[at]) ok = EC_POINT_add(g, bucket[at], bucket[at], p, ctx);
            else { ok = EC_POINT_copy(bucket[at], p); used[at] = 1; }
        }
        // Σ d·bucket[d] as running sums from the top bucket down.
        int started = 0;
        ok = ok && EC_POINT_set_to_infinity(g, running) && EC_POINT_set_to_infinity(g, acc);
        for (size_t d = nb; ok && d >= 1; d--) {
            if (used[d - 1]) { ok = EC_POINT_add(g, running, running, bucket[d - 1], ctx); started = 1; }
            if (ok && started) ok = EC_POINT_add(g, acc, acc, running, ctx);
        }
        ok = ok && EC_POINT_add(g, out, out, acc, ctx);
    }
    for (size_t i = 0; neg != NULL && i < n; i++) EC_POINT_free(neg[i]);
    for (size_t i = 0; bucket != NULL && i < nb; i++) EC_POINT_free(bucket[i]);
    OPENSSL_free(neg);
    OPENSSL_free(digits);
    OPENSSL_free(bucket);
    OPENSSL_free(used);
    EC_POINT_free(running);
    EC_POINT_free(acc);
    return ok;
}

/// Sets the GCM IV length / reads or sets the tag: EVP_CIPHER_CTX_ctrl with the GCM constants.
static inline int evalvault_gcm_get_tag(EVP_CIPHER_CTX *ctx, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
}
static inline int evalvault_gcm_set_tag(EVP_CIPHER_CTX *ctx, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag);
}

#endif
