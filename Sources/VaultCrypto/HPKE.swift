import Foundation
/// HPKE base mode (RFC 9180) for the one suite EvalVault uses:
/// DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM. OpenSSL 3.0 has no HPKE API, so the
/// protocol is composed here from OpenSSL's X25519, HKDF and AES-GCM exactly as RFC 9180 §4–§5
/// writes it; the RFC's own test vectors prove the composition (VaultCryptoTests/HPKETests).
public enum HPKE {
    static let kemID: [UInt8] = [0x00, 0x20]
    static let kdfID: [UInt8] = [0x00, 0x01]
    static let aeadID: [UInt8] = [0x00, 0x02]
    static let kemSuiteID: [UInt8] = Array("KEM".utf8) + kemID
    static let hpkeSuiteID: [UInt8] = Array("HPKE".utf8) + kemID + kdfID + aeadID
    static let version: [UInt8] = Array("HPKE-v1".utf8)

    /// Size of the encapsulated key (the sender's ephemeral X25519 public key).
    public static let encapsulatedKeyByteCount = 32

    static func labeledExtract(suite: [UInt8], salt: some ContiguousBytes, label: String, ikm: some ContiguousBytes) -> SymmetricKey {
        let labeled = SecureBytes(count: version.count + suite.count + label.utf8.count + ikm.withUnsafeBytes { $0.count }) { out in
            var o = 0
            for part in [version, suite, Array(label.utf8)] {
                part.withUnsafeBytes { out.baseAddress!.advanced(by: o).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                o += part.count
            }
            ikm.withUnsafeBytes { if $0.count > 0 { out.baseAddress!.advanced(by: o).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        }
        return HKDF.extract(inputKeyMaterial: labeled, salt: salt)
    }

    static func labeledExpand(suite: [UInt8], prk: SymmetricKey, label: String, info: [UInt8], length: Int) throws -> SecureBytes {
        let labeledInfo = [UInt8(length >> 8), UInt8(length & 0xff)] + version + suite + Array(label.utf8) + info
        return try HKDF.expand(pseudoRandomKey: prk, info: labeledInfo, outputByteCount: length)
    }

    /// DHKEM ExtractAndExpand (RFC 9180 §4.1).
    static func extractAndExpand(dh: SecureBytes, kemContext: [UInt8]) throws -> SecureBytes {
        let prk = labeledExtract(suite: kemSuiteID, salt: [UInt8](), label: "eae_prk", ikm: dh)
        return try labeledExpand(suite: kemSuiteID, prk: prk, label: "shared_secret", info: kemContext, length: 32)
    }

    /// The key schedule's output for base mode (RFC 9180 §5.1).
    struct KeySchedule: Sendable {
        let key: SymmetricKey
        let baseNonce: SecureBytes
        let exporterSecret: SymmetricKey

        init(sharedSecret: SecureBytes, info: [UInt8]) throws {
            let (secret, context) = Self.secret(sharedSecret: sharedSecret, info: info)
            key = SymmetricKey(try HPKE.labeledExpand(suite: hpkeSuiteID, prk: secret, label: "key", info: context, length: 32))
            baseNonce = try HPKE.labeledExpand(suite: hpkeSuiteID, prk: secret, label: "base_nonce", info: context, length: 12)
            exporterSecret = try Self.exporterSecret(secret: secret, context: context)
        }

        /// psk_id_hash of base mode (an empty psk_id): the same for every context.
        static let pskIDHash: [UInt8] = HPKE.labeledExtract(suite: hpkeSuiteID, salt: [UInt8](), label: "psk_id_hash", ikm: [UInt8]())
            .bytes.unsafeArray()

        /// The schedule's secret and key_schedule_context (mode ‖ psk_id_hash ‖ info_hash).
        static func secret(sharedSecret: SecureBytes, info: [UInt8]) -> (SymmetricKey, [UInt8]) {
            let infoHash = HPKE.labeledExtract(suite: hpkeSuiteID, salt: [UInt8](), label: "info_hash", ikm: info)
            let context: [UInt8] = [0x00] + pskIDHash + infoHash.bytes.unsafeArray()
            return (HPKE.labeledExtract(suite: hpkeSuiteID, salt: sharedSecret, label: "secret", ikm: [UInt8]()), context)
        }

        static func exporterSecret(secret: SymmetricKey, context: [UInt8]) throws -> SymmetricKey {
            SymmetricKey(try HPKE.labeledExpand(suite: hpkeSuiteID, prk: secret, label: "exp", info: context, length: 32))
        }
    }

    /// A recipient's exported secret (RFC 9180 §5.3) without the rest of its context: the same
    /// bytes as `Recipient(…).exportSecret(…)`, leaving out the AEAD key and base nonce, which a
    /// recipient that only exports never uses. Why: a reveal derives one payload key per batch,
    /// a thousand per round, and the two unused derivations were a third of each.
    public static func exportedSecret(privateKey: Curve25519.KeyAgreement.PrivateKey, encapsulatedKey: some ContiguousBytes, info: [UInt8],
                                      context exporterContext: [UInt8], outputByteCount: Int) throws -> SecureBytes {
        let shared = try decapsulate(privateKey: privateKey, encapsulatedKey: encapsulatedKey)
        let (secret, context) = KeySchedule.secret(sharedSecret: shared, info: info)
        let exporter = try KeySchedule.exporterSecret(secret: secret, context: context)
        return try labeledExpand(suite: hpkeSuiteID, prk: exporter, label: "sec", info: exporterContext, length: outputByteCount)
    }

    /// DHKEM Decap (RFC 9180 §4.1): the shared secret for `enc`.
    static func decapsulate(privateKey: Curve25519.KeyAgreement.PrivateKey, encapsulatedKey: some ContiguousBytes) throws -> SecureBytes {
        let enc = encapsulatedKey.withUnsafeBytes { Array($0) }
        guard enc.count == HPKE.encapsulatedKeyByteCount else { throw CryptoError.invalidParameter("HPKE enc must be 32 bytes") }
        let pkE = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: enc)
        let dh = try privateKey.sharedSecretFromKeyAgreement(with: pkE)
        return try HPKE.extractAndExpand(dh: dh, kemContext: enc + privateKey.publicKey.rawRepresentation)
    }

    /// The encryption context shared by sender and recipient: a key, a base nonce and a
    /// sequence number. Each message uses nonce = base_nonce XOR seq, so no nonce repeats
    /// within a context, and a context is never reused after its counter would wrap.
    struct Context: Sendable {
        let schedule: KeySchedule
        private(set) var sequenceNumber: UInt64 = 0

        init(schedule: KeySchedule) { self.schedule = schedule }

        func nonce(for seq: UInt64) throws -> AES.GCM.Nonce {
            try HPKE.withNonce(schedule.baseNonce, seq: seq) { try AES.GCM.Nonce(data: $0) }
        }

        mutating func advance(by count: UInt64 = 1) throws {
            guard count <= UInt64.max - sequenceNumber else { throw CryptoError.messageLimitReached }
            sequenceNumber += count
        }

        func export(context: [UInt8], outputByteCount: Int) throws -> SecureBytes {
            try HPKE.labeledExpand(suite: hpkeSuiteID, prk: schedule.exporterSecret, label: "sec", info: context,
                                   length: outputByteCount)
        }
    }

    /// The sending side: encapsulates to a recipient's X25519 public key, then seals messages in order.
    public struct Sender: Sendable {
        /// `enc`: send it with the ciphertexts; the recipient needs it to open them.
        public let encapsulatedKey: [UInt8]
        var context: Context

        public init(recipientKey: Curve25519.KeyAgreement.PublicKey, info: [UInt8]) throws {
            try self.init(recipientKey: recipientKey, info: info, ephemeralKey: Curve25519.KeyAgreement.PrivateKey())
        }

        /// Deterministic encapsulation with a given ephemeral key, for RFC 9180's known-answer tests only.
        @_spi(KnownAnswerTests)
        public init(recipientKey: Curve25519.KeyAgreement.PublicKey, info: [UInt8],
                    ephemeralKey: Curve25519.KeyAgreement.PrivateKey) throws {
            let dh = try ephemeralKey.sharedSecretFromKeyAgreement(with: recipientKey)
            let enc = ephemeralKey.publicKey.rawRepresentation
            let shared = try HPKE.extractAndExpand(dh: dh, kemContext: enc + recipientKey.rawRepresentation)
            encapsulatedKey = enc
            context = Context(schedule: try KeySchedule(sharedSecret: shared, info: info))
            sharedSecretForTests = shared
        }

        @_spi(KnownAnswerTests) public let sharedSecretForTests: SecureBytes
        @_spi(KnownAnswerTests) public var keyForTests: SecureBytes { context.schedule.key.bytes }
        @_spi(KnownAnswerTests) public var baseNonceForTests: SecureBytes { context.schedule.baseNonce }
        @_spi(KnownAnswerTests) public var exporterSecretForTests: SecureBytes { context.schedule.exporterSecret.bytes }

        /// The sequence number the next `seal` will use.
        public var sequenceNumber: UInt64 { context.sequenceNumber }

        /// Seals the next message; returns ciphertext ‖ tag (the RFC's `ct`).
        public mutating func seal(_ plaintext: some ContiguousBytes, authenticating aad: some ContiguousBytes) throws -> [UInt8] {
            let box = try AES.GCM.seal(plaintext, using: context.schedule.key,
                                       nonce: context.nonce(for: context.sequenceNumber), authenticating: aad)
            try context.advance()
            return box.ciphertext + box.tag
        }

        /// RFC 9180 §5.3 secret export.
        public func exportSecret(context exporterContext: [UInt8], outputByteCount: Int) throws -> SecureBytes {
            try context.export(context: exporterContext, outputByteCount: outputByteCount)
        }
    }

    /// The receiving side: decapsulates `enc` with the recipient's private key and opens messages.
    public struct Recipient: Sendable {
        var context: Context

        public init(privateKey: Curve25519.KeyAgreement.PrivateKey, encapsulatedKey: some ContiguousBytes, info: [UInt8]) throws {
            let shared = try HPKE.decapsulate(privateKey: privateKey, encapsulatedKey: encapsulatedKey)
            context = Context(schedule: try KeySchedule(sharedSecret: shared, info: info))
        }

        public var sequenceNumber: UInt64 { context.sequenceNumber }

        /// Opens the next message in order (ciphertext ‖ tag).
        public mutating func open(_ ciphertext: some ContiguousBytes, authenticating aad: some ContiguousBytes) throws -> SecureBytes {
            let plaintext = try open(ciphertext, sequenceNumber: context.sequenceNumber, authenticating: aad)
            try context.advance()
            return plaintext
        }

        /// Opens the message sealed with sequence number `seq`, without touching the running
        /// counter, so a batch's messages can be checked independently (and in parallel).
        public func open(_ ciphertext: some ContiguousBytes, sequenceNumber seq: UInt64,
                         authenticating aad: some ContiguousBytes) throws -> SecureBytes {
            let ct = ciphertext.withUnsafeBytes { Array($0) }
            guard ct.count >= AES.GCM.tagByteCount else { throw CryptoError.authenticationFailure }
            let box = try AES.GCM.SealedBox(nonce: context.nonce(for: seq),
                                            ciphertext: Array(ct[..<(ct.count - AES.GCM.tagByteCount)]),
                                            tag: Array(ct[(ct.count - AES.GCM.tagByteCount)...]))
            return try AES.GCM.open(box, using: context.schedule.key, authenticating: aad)
        }

        public func exportSecret(context exporterContext: [UInt8], outputByteCount: Int) throws -> SecureBytes {
            try context.export(context: exporterContext, outputByteCount: outputByteCount)
        }
    }

    /// Single-shot base-mode seal (RFC 9180 §6.1): returns enc and the ciphertext of one message.
    /// Used to wrap keys (identity key, round key and its shares) to one holder.
    public static func seal(_ plaintext: some ContiguousBytes, to recipient: Curve25519.KeyAgreement.PublicKey,
                            info: [UInt8], authenticating aad: [UInt8]) throws -> (encapsulatedKey: [UInt8], ciphertext: [UInt8]) {
        var sender = try Sender(recipientKey: recipient, info: info)
        let ct = try sender.seal(plaintext, authenticating: aad)
        return (sender.encapsulatedKey, ct)
    }

    /// Single-shot base-mode open (RFC 9180 §6.1).
    public static func open(_ ciphertext: [UInt8], encapsulatedKey: [UInt8], using privateKey: Curve25519.KeyAgreement.PrivateKey,
                            info: [UInt8], authenticating aad: [UInt8]) throws -> SecureBytes {
        var recipient = try Recipient(privateKey: privateKey, encapsulatedKey: encapsulatedKey, info: info)
        return try recipient.open(ciphertext, authenticating: aad)
    }
}
