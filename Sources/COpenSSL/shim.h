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

/// HKDF through EVP_KDF: mode is EVP_KDF_HKDF_MODE_EXTRACT_ONLY or EVP_KDF_HKDF_MODE_EXPAND_ONLY.
/// Returns 1 on success. `key` is the IKM (extract) or the PRK (expand).
static inline int evalvault_hkdf_sha256(int mode,
                                        const unsigned char *key, size_t key_len,
                                        const unsigned char *salt, size_t salt_len,
                                        const unsigned char *info, size_t info_len,
                                        unsigned char *out, size_t out_len) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
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
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) return 0;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    if (ctx == NULL) return 0;
    static unsigned char empty[1] = {0};
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    size_t out_len = 0;
    int ok = EVP_MAC_init(ctx, key_len ? key : empty, key_len, params)
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
