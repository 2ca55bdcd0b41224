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

/// Sets the GCM IV length / reads or sets the tag: EVP_CIPHER_CTX_ctrl with the GCM constants.
static inline int evalvault_gcm_get_tag(EVP_CIPHER_CTX *ctx, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
}
static inline int evalvault_gcm_set_tag(EVP_CIPHER_CTX *ctx, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag);
}

#endif
