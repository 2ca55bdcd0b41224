import Foundation
import VaultCrypto

/// The byte formats of a sealed batch (design: Cryptography). Everything here is bound into AADs or the
/// evaluator's signature, so a ciphertext moved to another vault, round, batch, position, team
/// or criterion no longer opens, and a batch changed in any way no longer verifies.
enum SealFormat {
    static let version: UInt8 = 1
    static let maxCommentBytes = 1000
    /// Score messages are padded to a multiple of this, so ciphertext sizes say little about comments.
    static let scorePadding = 64
    static let trailerPadding = 128

    /// HPKE `info`: the batch is for this vault, this round and this round key.
    static func info(vaultID: String, roundID: String, roundKey: Curve25519.KeyAgreement.PublicKey) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/round-seal/v1")
        e.append(vaultID); e.append(roundID); e.append(roundKey.rawRepresentation)
        return e.bytes
    }

    /// The AAD of score `seq`: format version, vault, round, batch, position, team, criterion,
    /// each a length-prefixed field (`CanonicalEncoder`). The fixed part is encoded once per
    /// batch and the names once per round, because a bulk seal or a reveal builds a million.
    struct ScoreAAD {
        private var buffer: [UInt8]
        private let prefixCount: Int

        init(vaultID: String, roundID: String, batchID: [UInt8]) {
            var e = CanonicalEncoder(domain: "evalvault/seal/v1")
            e.append([version]); e.append(vaultID); e.append(roundID); e.append(batchID)
            buffer = e.bytes
            prefixCount = buffer.count
            buffer.reserveCapacity(prefixCount + 12 + 2 * 260)
        }

        /// Calls `body` with the AAD of one score; `team` and `criterion` are encoded fields (`CanonicalEncoder.field`).
        mutating func with<R>(seq: Int, team: [UInt8], criterion: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            buffer.removeSubrange(prefixCount...)
            CanonicalEncoder.appendField(Int64(seq), to: &buffer)
            buffer.append(contentsOf: team)
            buffer.append(contentsOf: criterion)
            return try buffer.withUnsafeBytes(body)
        }
    }

    static func trailerAAD(vaultID: String, roundID: String, batchID: [UInt8], count: Int) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/seal-trailer/v1")
        e.append([version]); e.append(vaultID); e.append(roundID); e.append(batchID); e.append(Int64(count))
        return e.bytes
    }

    /// What the evaluator signs: the whole batch, down to each ciphertext's hash and place —
    /// SHA-256 over the canonical encoding of the header and, in order, every place's
    /// (position, team, criterion, SHA-256 of its ciphertext). Fed score by score, so a batch
    /// of any size is digested without holding its ciphertexts.
    final class BatchDigest {
        private var hasher = SHA256.Hasher()
        private var ctHasher = SHA256.Hasher()
        private var scratch: [UInt8] = []
        private var next = 0

        init(vaultID: String, roundID: String, batchID: [UInt8], enc: [UInt8], evaluator: String, time: Int64, count: Int) {
            var e = CanonicalEncoder(domain: "evalvault/batch/v1")
            e.append(vaultID); e.append(roundID); e.append(batchID); e.append(enc); e.append(evaluator); e.append(time)
            e.append(Int64(count))
            hasher.update(data: e.bytes)
        }

        /// Adds the next place; `team` and `criterion` are encoded fields.
        func add(team: [UInt8], criterion: [UInt8], ciphertext: UnsafeRawBufferPointer) {
            scratch.removeAll(keepingCapacity: true)
            CanonicalEncoder.appendField(Int64(next), to: &scratch)
            scratch.append(contentsOf: team)
            scratch.append(contentsOf: criterion)
            scratch.append(contentsOf: [0, 0, 0, 32])  // the ciphertext's hash, as a 32-byte field
            let start = scratch.count
            scratch.append(contentsOf: repeatElement(0, count: 32))
            ctHasher.update(data: ciphertext)
            scratch.withUnsafeMutableBytes { ctHasher.finalizeAndReset(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
            hasher.update(data: scratch)
            next += 1
        }

        func finalize() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 32)
            out.withUnsafeMutableBytes { hasher.finalizeAndReset(into: $0) }
            return out
        }
    }

    /// Score plaintext: version, units (Int64 BE), comment length (UInt16 BE), comment, zero
    /// padding to a multiple of `scorePadding`.
    static func scorePlaintextCount(commentCount: Int) -> Int {
        (1 + 8 + 2 + commentCount + scorePadding - 1) / scorePadding * scorePadding
    }

    /// Writes a score plaintext into `out`, which has `scorePlaintextCount` bytes.
    static func writeScorePlaintext(units: Int64, comment: [UInt8], into out: inout [UInt8]) {
        precondition(out.count == scorePlaintextCount(commentCount: comment.count))
        out.withUnsafeMutableBytes { o in
            o.initializeMemory(as: UInt8.self, repeating: 0)
            o[0] = version
            for i in 0..<8 { o[1 + i] = UInt8(truncatingIfNeeded: units >> (8 * (7 - i))) }
            o[9] = UInt8(comment.count >> 8); o[10] = UInt8(comment.count & 0xff)
            if !comment.isEmpty { comment.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: o[11...]).copyMemory(from: $0) } }
        }
    }

    /// The units of a score plaintext (the comment is never needed by a reveal and stays unread).
    static func units(of p: UnsafeRawBufferPointer) -> Int64? {
        guard p.count >= 11, p.count % scorePadding == 0, p[0] == version else { return nil }
        var v: Int64 = 0
        for i in 0..<8 { v = v << 8 | Int64(p[1 + i]) }
        let commentLength = Int(p[9]) << 8 | Int(p[10])
        guard 11 + commentLength <= p.count else { return nil }
        for i in (11 + commentLength)..<p.count where p[i] != 0 { return nil }
        return v
    }

    struct Trailer {
        let evaluator: String
        let time: Int64
        let signature: [UInt8]
    }

    static func trailerPlaintext(_ t: Trailer) -> [UInt8] {
        let id = Array(t.evaluator.utf8)
        var out: [UInt8] = [version, UInt8(id.count)] + id
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: t.time >> (8 * (7 - i)))) }
        out += t.signature
        out += [UInt8](repeating: 0, count: (trailerPadding - out.count % trailerPadding) % trailerPadding)
        return out
    }

    static func parseTrailer(_ p: SecureBytes) -> Trailer? {
        let b = p.unsafeArray()  // not secret: an id, a time and a signature
        guard b.count >= 2, b[0] == version else { return nil }
        let n = Int(b[1])
        guard b.count >= 2 + n + 8 + 64, let id = String(validating: b[2..<(2 + n)], as: UTF8.self) else { return nil }
        var time: Int64 = 0
        for i in 0..<8 { time = time << 8 | Int64(b[2 + n + i]) }
        let sig = Array(b[(2 + n + 8)..<(2 + n + 8 + 64)])
        guard b[(2 + n + 72)...].allSatisfy({ $0 == 0 }) else { return nil }
        return Trailer(evaluator: id, time: time, signature: sig)
    }
}
