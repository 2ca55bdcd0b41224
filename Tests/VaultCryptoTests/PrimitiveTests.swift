import Foundation
import Testing
@_spi(KnownAnswerTests) import VaultCrypto

@Suite("Primitives: RFC known answers and properties")
struct PrimitiveTests {
    @Test("RFC 5869 test case 1 (HKDF-SHA256), extract and expand separately")
    func rfc5869() throws {
        let prk = HKDF.extract(inputKeyMaterial: [UInt8](hex: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
                               salt: [UInt8](hex: "000102030405060708090a0b0c"))
        #expect(prk.bytes.unsafeArray() == [UInt8](hex: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"))
        let okm = try HKDF.expand(pseudoRandomKey: prk, info: [UInt8](hex: "f0f1f2f3f4f5f6f7f8f9"), outputByteCount: 42)
        #expect(okm.unsafeArray() == [UInt8](hex: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"))
    }

    @Test("RFC 7914 §12 first scrypt vector (empty passphrase and salt, N=16, r=1, p=1)")
    func rfc7914() throws {
        let out = try Scrypt.deriveKey(passphrase: [UInt8](), salt: [UInt8](),
                                       parameters: Scrypt.Parameters(unchecked: 4, r: 1, p: 1), outputByteCount: 64)
        #expect(out.unsafeArray() == [UInt8](hex: "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"))
    }

    @Test("scrypt refuses costs outside the accepted range")
    func scryptBounds() {
        #expect(throws: CryptoError.self) { try Scrypt.Parameters(log2N: 9) }
        #expect(throws: CryptoError.self) { try Scrypt.Parameters(log2N: 21) }
        #expect(throws: CryptoError.self) { try Scrypt.Parameters(log2N: 17, r: 64, p: 1) }
        #expect(Scrypt.Parameters.interactive.log2N == 17)
    }

    @Test("SHA-256 and HMAC-SHA256 (RFC 4231 case 2)")
    func hashes() {
        #expect(SHA256.hash(data: Array("abc".utf8)) == [UInt8](hex: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        var h = SHA256.Hasher()
        h.update(data: Array("a".utf8)); h.update(data: Array("bc".utf8))
        #expect(h.finalize() == SHA256.hash(data: Array("abc".utf8)))
        let mac = HMAC.authenticationCode(for: Array("what do ya want for nothing?".utf8), using: SymmetricKey(data: Array("Jefe".utf8)))
        #expect(mac == [UInt8](hex: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
        #expect(HMAC.isValidAuthenticationCode(mac, authenticating: Array("what do ya want for nothing?".utf8), using: SymmetricKey(data: Array("Jefe".utf8))))
        var bad = mac; bad[31] ^= 1
        #expect(!HMAC.isValidAuthenticationCode(bad, authenticating: Array("what do ya want for nothing?".utf8), using: SymmetricKey(data: Array("Jefe".utf8))))
    }

    @Test("Ed25519 sign and verify round trip; RFC 8032 test 1 public key from seed")
    func ed25519() throws {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        #expect(key.publicKey.rawRepresentation == [UInt8](hex: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        let sig = try key.signature(for: [UInt8]())
        #expect(sig == [UInt8](hex: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
        #expect(key.publicKey.isValidSignature(sig, for: [UInt8]()))
        #expect(!key.publicKey.isValidSignature(sig, for: [0]))
        #expect(!Curve25519.Signing.PrivateKey().publicKey.isValidSignature(sig, for: [UInt8]()))
        #expect(!key.publicKey.isValidSignature(Array(sig.prefix(63)), for: [UInt8]()))
    }

    @Test("X25519 generated keys agree; all-zero secret is refused")
    func x25519() throws {
        let a = Curve25519.KeyAgreement.PrivateKey(), b = Curve25519.KeyAgreement.PrivateKey()
        #expect(try a.sharedSecretFromKeyAgreement(with: b.publicKey).unsafeArray() == b.sharedSecretFromKeyAgreement(with: a.publicKey).unsafeArray())
        let lowOrder = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: [UInt8](repeating: 0, count: 32))
        #expect(throws: CryptoError.zeroSharedSecret) { try a.sharedSecretFromKeyAgreement(with: lowOrder) }
        let again = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: a.rawRepresentation)
        #expect(again.publicKey == a.publicKey)
    }

    @Test("AES-GCM: combined form round trip; wrong key, AAD, nonce or tag fails")
    func aesGCM() throws {
        let key = SymmetricKey()
        let box = try AES.GCM.seal(Array("81.5".utf8), using: key, authenticating: [1, 2])
        let parsed = try AES.GCM.SealedBox(combined: box.combined)
        #expect(try AES.GCM.open(parsed, using: key, authenticating: [1, 2]).unsafeArray() == Array("81.5".utf8))
        #expect(throws: CryptoError.authenticationFailure) { try AES.GCM.open(parsed, using: SymmetricKey(), authenticating: [1, 2]) }
        #expect(throws: CryptoError.authenticationFailure) { try AES.GCM.open(parsed, using: key, authenticating: [1]) }
        var c = box.combined; c[0] ^= 0x80
        #expect(throws: CryptoError.authenticationFailure) { try AES.GCM.open(AES.GCM.SealedBox(combined: c), using: key, authenticating: [1, 2]) }
        #expect(throws: CryptoError.self) { try AES.GCM.SealedBox(combined: [UInt8](repeating: 0, count: 27)) }
        #expect(AES.GCM.Nonce() != AES.GCM.Nonce())
    }
}
