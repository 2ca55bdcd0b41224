import Foundation
/// Errors of the crypto layer. They never carry key material, plaintext or passphrases.
public enum CryptoError: Error, Equatable, Sendable {
    /// An AEAD tag, signature or other check did not verify: the data, key or passphrase is wrong.
    case authenticationFailure
    /// A key, nonce, share or parameter has the wrong size or an impossible value.
    case invalidParameter(String)
    /// X25519 gave the all-zero shared secret (a low-order public key): refused by RFC 7748 §6.1.
    case zeroSharedSecret
    /// HPKE's sequence number would wrap (RFC 9180 §5.2): the context must not be used again.
    case messageLimitReached
    /// OpenSSL reported an internal failure in the named operation.
    case openSSL(String)
}
