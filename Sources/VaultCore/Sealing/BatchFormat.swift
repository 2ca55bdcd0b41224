import Foundation
import VaultCrypto

/// The batch file, version 2: one `seal` command's scores as one authenticated file, which is
/// also how vault.db stores them (docs/batch-format.md says it byte by byte).
///
///     file    = header ‖ chunk₀ ‖ … ‖ chunkₙ₋₁ ‖ count (u64 BE) ‖ signature (64 bytes)
///     header  = "evbatch" 0x02 ‖ u16 BE body length ‖ body
///     body    = field(vault) ‖ field(round) ‖ field(round key) ‖ field(batch id) ‖ field(evaluator)
///               ‖ field(time, 8 bytes BE µs) ‖ field(HPKE enc)       field = u16 BE length ‖ bytes
///
/// The payload — every score's place, value and comment, as 16-byte records — is encrypted in
/// 64 KiB chunks with AES-256-GCM under a key exported from the batch's HPKE context, with
/// STREAM nonces (chunk counter ‖ final flag) as age's payload uses: a chunk can't be dropped,
/// reordered, duplicated or moved to another batch, and the stream can't be cut short. The
/// evaluator signs the header, every chunk and the count. Why places are inside: a reader of
/// vault.db (or of the file in transit) learns how many scores a batch holds, not which teams or
/// criteria it scored.
public enum BatchFormat {
    public static let magic: [UInt8] = Array("evbatch".utf8) + [2]
    /// Plaintext bytes per chunk (every chunk but the last holds exactly this).
    public static let chunkSize = 65_536
    public static let chunkCiphertextSize = chunkSize + AES.GCM.tagByteCount
    public static let recordSize = 16
    public static let trailerSize = 8 + 64
    public static let maxHeaderBody = 1024
    public static let maxCommentBytes = 1000
    /// A batch holds at most this many scores (a 100,000 × 1,000 grid).
    public static let maxScores = 100_000_000

    /// The plaintext header of a batch.
    public struct Header: Sendable, Equatable {
        public let vault: String
        public let round: String
        public let roundKey: [UInt8]
        public let batchID: [UInt8]
        public let evaluator: String
        /// The evaluator's clock when sealing (µs since 1970): the later of two batches by one
        /// evaluator supersedes the earlier, place by place.
        public let time: Int64
        public let enc: [UInt8]

        public var batchName: String { Hex.encode(batchID) }

        public var bytes: [UInt8] {
            var body: [UInt8] = []
            func field(_ b: [UInt8]) { body += [UInt8(b.count >> 8), UInt8(b.count & 0xff)] + b }
            field(Array(vault.utf8)); field(Array(round.utf8)); field(roundKey); field(batchID); field(Array(evaluator.utf8))
            field((0..<8).map { UInt8(truncatingIfNeeded: time >> (8 * (7 - $0))) }); field(enc)
            return magic + [UInt8(body.count >> 8), UInt8(body.count & 0xff)] + body
        }

        /// Parses a header at the start of `bytes`; returns it and its length. Strict: every
        /// field has its exact size, ids are well formed, nothing follows the last field.
        public static func parse(_ bytes: some Collection<UInt8>, file: String) throws -> (Header, Int) {
            let b = Array(bytes.prefix(10 + maxHeaderBody))
            func bad(_ why: String) -> VaultError { .invalidData("\(file) is not an evalvault batch (\(why))") }
            guard b.count >= 10, Array(b[0..<7]) == Array(magic[0..<7]) else { throw bad("no batch header") }
            guard b[7] == magic[7] else { throw VaultError.invalidData("\(file) is a batch of format version \(b[7]); this evalvault reads version \(magic[7])") }
            let n = Int(b[8]) << 8 | Int(b[9])
            guard n <= maxHeaderBody, b.count >= 10 + n else { throw bad("its header is cut short") }
            var at = 10
            func field(_ what: String, size: Int? = nil) throws -> [UInt8] {
                guard at + 2 <= 10 + n else { throw bad("its header lacks the \(what)") }
                let len = Int(b[at]) << 8 | Int(b[at + 1])
                guard at + 2 + len <= 10 + n, size == nil || len == size else { throw bad("its header's \(what) is malformed") }
                defer { at += 2 + len }
                return Array(b[(at + 2)..<(at + 2 + len)])
            }
            func id(_ what: String) throws -> String {
                let raw = try field(what)
                guard let s = String(validating: raw, as: UTF8.self), !s.isEmpty, s.count <= 128,
                      s.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f }) else { throw bad("its header's \(what) is malformed") }
                return s
            }
            let vault = try id("vault id"), round = try id("round id")
            let roundKey = try field("round key", size: 32), batchID = try field("batch id", size: 16)
            let evaluator = try id("evaluator id")
            let t = try field("time", size: 8)
            let time = t.reduce(Int64(0)) { $0 << 8 | Int64($1) }
            let enc = try field("encapsulated key", size: 32)
            guard at == 10 + n else { throw bad("its header has bytes after its last field") }
            return (Header(vault: vault, round: round, roundKey: roundKey, batchID: batchID, evaluator: evaluator, time: time, enc: enc), at)
        }
    }

    /// HPKE `info`: the batch is for this vault and round.
    static func info(vault: String, round: String) -> [UInt8] {
        var out = Array("evalvault/batch/v2".utf8) + [0]
        for s in [vault, round] { let b = Array(s.utf8); out += [UInt8(b.count >> 8), UInt8(b.count & 0xff)] + b }
        return out
    }

    /// The HPKE exporter context of the payload key: bound to the whole header, so a chunk can
    /// only ever open under the header it was written with.
    static func payloadKeyContext(header: [UInt8]) -> [UInt8] {
        Array("evalvault/batch-payload/v2".utf8) + [0] + SHA256.hash(data: header)
    }

    /// The payload key a reader derives with the round's private key (`info`: `info(vault:round:)`),
    /// or nil when the header's encapsulated key is invalid.
    static func payloadKey(privateKey: Curve25519.KeyAgreement.PrivateKey, enc: [UInt8], headerBytes: [UInt8], info: [UInt8]) -> SymmetricKey? {
        (try? HPKE.exportedSecret(privateKey: privateKey, encapsulatedKey: enc, info: info,
                                  context: payloadKeyContext(header: headerBytes), outputByteCount: 32)).map(SymmetricKey.init)
    }

    /// STREAM nonce: the chunk's index as 11 bytes big-endian, then 1 for the last chunk, else 0.
    static func nonce(_ index: Int, last: Bool) -> [UInt8] {
        var n = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { n[3 + i] = UInt8(truncatingIfNeeded: UInt64(index) >> (8 * (7 - i))) }
        n[11] = last ? 1 : 0
        return n
    }

    /// How many chunks a payload of `ciphertextBytes` is cut into, or nil if no valid cut exists.
    static func chunkCount(ciphertextBytes p: Int) -> Int? {
        guard p > AES.GCM.tagByteCount else { return nil }
        let n = (p + chunkCiphertextSize - 1) / chunkCiphertextSize
        let last = p - (n - 1) * chunkCiphertextSize
        return last > AES.GCM.tagByteCount ? n : nil
    }

    /// The digest the evaluator signs: SHA-256 over a domain, the header, the SHA-256 of each
    /// chunk's ciphertext in order, and the count. Per-chunk hashes let a reveal hash chunks on
    /// every core; the order and the count make it one exact stream.
    final class Digest {
        private var hasher = SHA256.Hasher()
        init(header: [UInt8]) {
            hasher.update(data: Array("evalvault/batch-digest/v2".utf8) + [0])
            hasher.update(data: header)
        }
        func add(chunkHash: [UInt8]) { hasher.update(data: chunkHash) }
        func finalize(count: Int) -> [UInt8] {
            hasher.update(data: (0..<8).map { UInt8(truncatingIfNeeded: UInt64(count) >> (8 * (7 - $0))) })
            var out = [UInt8](repeating: 0, count: 32)
            out.withUnsafeMutableBytes { hasher.finalizeAndReset(into: $0) }
            return out
        }
    }

    static func trailer(count: Int, signature: [UInt8]) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: UInt64(count) >> (8 * (7 - $0))) } + signature
    }

    static func parseTrailer(_ t: some Collection<UInt8>) -> (count: Int, signature: [UInt8])? {
        let b = Array(t)
        guard b.count == trailerSize else { return nil }
        let count = b[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard count >= 1, count <= UInt64(maxScores) else { return nil }
        return (Int(count), Array(b[8...]))
    }

    static func paddedCommentCount(_ c: Int) -> Int { (c + 15) / 16 * 16 }
}

/// Reads the records of a decrypted payload stream, chunk after chunk (a record or a comment
/// may straddle two chunks), checking each against the round's grid as it goes.
struct RecordParser {
    let teams: Int, criteria: Int
    let stepCounts: [Int64]
    private var carry: [UInt8] = []
    private(set) var count = 0
    /// The comment bytes still to skip, then the padding bytes (which must be zero).
    private var skip = 0
    private var padding = 0

    init(teams: Int, criteria: Int, stepCounts: [Int64]) {
        self.teams = teams; self.criteria = criteria; self.stepCounts = stepCounts
    }

    /// Appends every whole record in `plain` to `out`, each checked against the grid; throws a
    /// reason for a malformed record. Records go into a buffer the caller reuses, not through a
    /// closure per record: a reveal reads a million of them on one thread.
    mutating func feed(_ plain: UnsafeRawBufferPointer, into out: inout [PlacedRecord]) throws {
        var i = 0
        let n = plain.count
        while i < n {
            if skip > 0 {
                let s = Swift.min(skip, n - i)
                skip -= s; i += s
                continue
            }
            if padding > 0 {
                guard plain[i] == 0 else { throw RecordError("score \(count - 1) has a comment padded with non-zero bytes") }
                padding -= 1; i += 1
                continue
            }
            if !carry.isEmpty || n - i < BatchFormat.recordSize {
                let take = Swift.min(BatchFormat.recordSize - carry.count, n - i)
                carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: plain[i..<(i + take)]))
                i += take
                if carry.count == BatchFormat.recordSize {
                    let r = carry
                    carry.removeAll(keepingCapacity: true)
                    try r.withUnsafeBytes { out.append(try record($0)) }
                }
                continue
            }
            // The common case: whole records without comments, read straight from the buffer.
            let base = plain.baseAddress!
            let stepCounts = self.stepCounts
            out.reserveCapacity(out.count + (n - i) / BatchFormat.recordSize)
            while n - i >= BatchFormat.recordSize {
                let head = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                guard head & 0xFFFF == 0 else { break }  // a comment follows: the general path
                let team = Int(head >> 32), criterion = Int((head >> 16) & 0xFFFF)
                let units = Int64(bitPattern: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)))
                try check(team: team, criterion: criterion, units: units, stepCounts: stepCounts)
                out.append(PlacedRecord(team: Int32(team), criterion: Int32(criterion), units: units, seq: Int32(count)))
                count += 1
                i += BatchFormat.recordSize
            }
            if i < n && n - i >= BatchFormat.recordSize {
                out.append(try record(UnsafeRawBufferPointer(rebasing: plain[i..<(i + BatchFormat.recordSize)])))
                i += BatchFormat.recordSize
            }
        }
    }

    private mutating func record(_ r: UnsafeRawBufferPointer) throws -> PlacedRecord {
        let team = Int(r[0]) << 24 | Int(r[1]) << 16 | Int(r[2]) << 8 | Int(r[3])
        let criterion = Int(r[4]) << 8 | Int(r[5])
        let comment = Int(r[6]) << 8 | Int(r[7])
        var units: Int64 = 0
        for k in 8..<16 { units = units << 8 | Int64(r[k]) }
        guard comment <= BatchFormat.maxCommentBytes else {
            try check(team: team, criterion: criterion, units: 0, stepCounts: stepCounts)
            throw RecordError("score \(count) has a comment longer than \(BatchFormat.maxCommentBytes) bytes")
        }
        try check(team: team, criterion: criterion, units: units, stepCounts: stepCounts)
        skip = comment
        padding = BatchFormat.paddedCommentCount(comment) - comment
        count += 1
        return PlacedRecord(team: Int32(team), criterion: Int32(criterion), units: units, seq: Int32(count - 1))
    }

    /// A record's place exists in the round and its value lies on its criterion's grid (both
    /// paths of `feed` check it here).
    @inline(__always)
    private func check(team: Int, criterion: Int, units: Int64, stepCounts: [Int64]) throws {
        guard team < teams, criterion < criteria else { throw RecordError("score \(count) is placed at a team or criterion the round does not have") }
        guard units >= 0, units <= stepCounts[criterion] else { throw RecordError("score \(count) is off its criterion's grid") }
    }

    /// True when the stream ended on a record boundary.
    var isComplete: Bool { carry.isEmpty && skip == 0 && padding == 0 }

    mutating func wipe() { secureWipe(&carry) }
}

struct RecordError: Error { let why: String; init(_ why: String) { self.why = why } }

/// One record read from a batch: its place (indexes into the round's teams and criteria), its
/// value in grid steps, and its position in the batch.
struct PlacedRecord {
    var team: Int32
    var criterion: Int32
    var units: Int64
    var seq: Int32
}
