// The OpenSSL 3 headers EvalVault uses, through EVP only (design: Cryptography).
// Some OpenSSL entry points are macros or take variadic OSSL_PARAM arrays that Swift cannot call
// directly; the small static inline helpers below wrap them so VaultCrypto stays plain Swift.
#ifndef EVALVAULT_COPENSSL_SHIM_H
#define EVALVAULT_COPENSSL_SHIM_H

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>

/// The algorithms EvalVault uses, fetched explicitly once per process. Why: OpenSSL 3 looks an
/// algorithm up by name, under a global lock, on every implicit use (EVP_sha256(), a KDF or MAC
/// fetched per call, a digest named in the parameters) — which cost more than the work itself
/// for the short messages of HPKE's key schedule, per-chunk hashes and per-entry HMACs, and
/// serialised the threads of a reveal on that lock. The HMAC template carries SHA-256 already set;
/// each call duplicates it (no lookup) and sets only its key.
typedef struct {
    EVP_MD *sha256;
    EVP_CIPHER *aes_256_gcm;
    EVP_KDF *hkdf;
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
    f->hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
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

/// HKDF through EVP_KDF: mode is EVP_KDF_HKDF_MODE_EXTRACT_ONLY or EVP_KDF_HKDF_MODE_EXPAND_ONLY.
/// Returns 1 on success. `key` is the IKM (extract) or the PRK (expand).
static inline int evalvault_hkdf_sha256(int mode,
                                        const unsigned char *key, size_t key_len,
                                        const unsigned char *salt, size_t salt_len,
                                        const unsigned char *info, size_t info_len,
                                        unsigned char *out, size_t out_len) {
    // OpenSSL 3.0's HKDF cannot duplicate a context: the KDF is fetched once, the context is
    // made per call, and SHA-256 is named in its parameters.
    const evalvault_fetched_t *f = evalvault_fetched();
    if (f->hkdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(f->hkdf);
    if (ctx == NULL) return 0;
    static unsigned char empty[1] = {0};
    OSSL_PARAM params[6];
    int n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                    (void *)(key_len ? key : empty), key_len);
    if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY) {
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                        (void *)(salt_len ? salt : empty), salt_len);
    } else {
        params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                        (void *)(info_len ? info : empty), info_len);
    }
    params[n] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params);
    EVP_KDF_CTX_free(ctx);
    return ok;
}

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

/// Sets the GCM IV length / reads or sets the tag: EVP_CIPHER_CTX_ctrl with the GCM constants.
static inline int evalvault_gcm_get_tag(EVP_CIPHER_CTX *ctx, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
}
static inline int evalvault_gcm_set_tag(EVP_CIPHER_CTX *ctx, unsigned char *tag) {
    return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag);
}

#endif
