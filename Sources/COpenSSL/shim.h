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
#include <stdint.h>
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

/// One score's part of a batch check of tally proofs (public values only; docs/tally-format.md
/// gives the equations). Each equation is multiplied by its own random weight from `random` (16
/// bytes each: σ₁, σ₂, then ρ₀, ρ₁ per bit); this writes the scalars of the score's points to
/// `scalars` (32 bytes each, in the order A₀, A₁, C per bit, then T₁, T₂, X) and adds its terms
/// to the sums of G, H and K, which are left unreduced for the caller to reduce once.
/// `e` is the challenge, `proof` the score's scalar part (c₀ ‖ v₀ ‖ v₁ per bit, then z_S ‖ z_m).
/// Why C: about a hundred multiplications per score, each a round trip through bytes in Swift.
static inline int evalvault_tally_batch_terms(unsigned char *scalars, BIGNUM *sumG, BIGNUM *sumH, BIGNUM *sumK,
                                              const unsigned char *e, const unsigned char *proof,
                                              const uint64_t *weights, size_t bits, const unsigned char *random) {
    const EC_GROUP *group = evalvault_p256();
    BN_CTX *ctx = evalvault_thread_bnctx();
    if (group == NULL || ctx == NULL) return 0;
    const BIGNUM *n = EC_GROUP_get0_order(group);
    BN_CTX_start(ctx);
    BIGNUM *be = BN_CTX_get(ctx), *s1 = BN_CTX_get(ctx), *s2 = BN_CTX_get(ctx), *s2e = BN_CTX_get(ctx);
    BIGNUM *r0 = BN_CTX_get(ctx), *r1 = BN_CTX_get(ctx), *c0 = BN_CTX_get(ctx), *c1 = BN_CTX_get(ctx);
    BIGNUM *v = BN_CTX_get(ctx), *t = BN_CTX_get(ctx), *u = BN_CTX_get(ctx), *coef = BN_CTX_get(ctx);
    int ok = coef != NULL && BN_bin2bn(e, 32, be) && BN_bin2bn(random, 16, s1) && BN_bin2bn(random + 16, 16, s2)
        && BN_mul(s2e, s2, be, ctx);
    for (size_t i = 0; ok && i < bits; i++) {
        const unsigned char *p = proof + 96 * i, *r = random + 32 + 32 * i;
        unsigned char *out = scalars + 96 * i;
        // A₀ and A₁ take ρ₀ and ρ₁; C takes ρ₀·c₀ + ρ₁·c₁ + σ₂·e·wᵢ (c₁ = e − c₀ mod n);
        // K gains ρ₀·v₀ + ρ₁·v₁ and H gains ρ₁·c₁.
        memset(out, 0, 16); memcpy(out + 16, r, 16);
        memset(out + 32, 0, 16); memcpy(out + 48, r + 16, 16);
        ok = BN_bin2bn(r, 16, r0) && BN_bin2bn(r + 16, 16, r1) && BN_bin2bn(p, 32, c0)
            && BN_mod_sub(c1, be, c0, n, ctx)
            && BN_mul(coef, r0, c0, ctx) && BN_mul(u, r1, c1, ctx) && BN_add(coef, coef, u) && BN_add(sumH, sumH, u)
            && BN_copy(t, s2e) && BN_mul_word(t, (BN_ULONG)weights[i]) && BN_add(coef, coef, t)
            && BN_nnmod(coef, coef, n, ctx) && BN_bn2binpad(coef, out + 64, 32) == 32
            && BN_bin2bn(p + 32, 32, v) && BN_mul(t, r0, v, ctx) && BN_add(sumK, sumK, t)
            && BN_bin2bn(p + 64, 32, v) && BN_mul(t, r1, v, ctx) && BN_add(sumK, sumK, t);
    }
    // T₁ takes σ₁, T₂ σ₂, X σ₁·e; G gains σ₁·z_S, K σ₂·z_S, H σ₂·z_m.
    unsigned char *out = scalars + 96 * bits;
    const unsigned char *z = proof + 96 * bits;
    if (ok) {
        memset(out, 0, 16); memcpy(out + 16, random, 16);
        memset(out + 32, 0, 16); memcpy(out + 48, random + 16, 16);
    }
    ok = ok && BN_mul(t, s1, be, ctx) && BN_nnmod(t, t, n, ctx) && BN_bn2binpad(t, out + 64, 32) == 32
        && BN_bin2bn(z, 32, v) && BN_mul(t, s1, v, ctx) && BN_add(sumG, sumG, t)
        && BN_mul(t, s2, v, ctx) && BN_add(sumK, sumK, t)
        && BN_bin2bn(z + 32, 32, v) && BN_mul(t, s2, v, ctx) && BN_add(sumH, sumH, t);
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

#include "p256_msm.h"

/// Sets the GCM IV length / reads or sets the tag: EVP_CIPHER_CTX_ctrl with the GCM constants.
static inline int evalvault_gcm_get_tag(EVP_CIPHER_CTX *ctx, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
}
static inline int evalvault_gcm_set_tag(EVP_CIPHER_CTX *ctx, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag);
}

#endif
