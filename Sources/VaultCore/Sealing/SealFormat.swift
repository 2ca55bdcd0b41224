import Foundation
import VaultCrypto

/// The byte formats of a sealed batch (SPEC §5). Everything here is bound into AADs or the
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

    /// The AAD of score `seq`: format version, vault, round, batch, position, team, criterion.
    static func scoreAAD(vaultID: String, roundID: String, batchID: [UInt8], seq: Int, team: String, criterion: String) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/seal/v1")
        e.append([version]); e.append(vaultID); e.append(roundID); e.append(batchID); e.append(Int64(seq)); e.append(team); e.append(criterion)
        return e.bytes
    }

    static func trailerAAD(vaultID: String, roundID: String, batchID: [UInt8], count: Int) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/seal-trailer/v1")
        e.append([version]); e.append(vaultID); e.append(roundID); e.append(batchID); e.append(Int64(count))
        return e.bytes
    }

    /// What the evaluator signs: the whole batch, down to each ciphertext's hash and place.
    static func digest(vaultID: String, roundID: String, batchID: [UInt8], enc: [UInt8], evaluator: String, time: Int64,
                       places: [(team: String, criterion: String, ct: [UInt8])]) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/batch/v1")
        e.append(vaultID); e.append(roundID); e.append(batchID); e.append(enc); e.append(evaluator); e.append(time)
        e.append(Int64(places.count))
        for (i, p) in places.enumerated() {
            e.append(Int64(i)); e.append(p.team); e.append(p.criterion); e.append(SHA256.hash(data: p.ct))
        }
        return SHA256.hash(data: e.bytes)
    }

    /// Score plaintext: version, units (Int64 BE), comment length (UInt16 BE), comment, zero padding.
    static func scorePlaintext(units: Int64, comment: [UInt8]) -> SecureBytes {
        let raw = 1 + 8 + 2 + comment.count
        let padded = (raw + scorePadding - 1) / scorePadding * scorePadding
        return SecureBytes(count: padded) { out in
            out[0] = version
            for i in 0..<8 { out[1 + i] = UInt8(truncatingIfNeeded: units >> (8 * (7 - i))) }
            out[9] = UInt8(comment.count >> 8); out[10] = UInt8(comment.count & 0xff)
            for (i, b) in comment.enumerated() { out[11 + i] = b }
        }
    }

    /// The units of a score plaintext (the comment is never needed by a reveal and stays unread).
    static func units(of plaintext: SecureBytes) -> Int64? {
        plaintext.withUnsafeBytes { p -> Int64? in
            guard p.count >= 11, p.count % scorePadding == 0, p[0] == version else { return nil }
            var v: Int64 = 0
            for i in 0..<8 { v = v << 8 | Int64(p[1 + i]) }
            let commentLength = Int(p[9]) << 8 | Int(p[10])
            guard 11 + commentLength <= p.count, (11 + commentLength..<p.count).allSatisfy({ p[$0] == 0 }) else { return nil }
            return v
        }
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
