import Foundation
import VaultCrypto

/// A tally round's batch file (docs/tally-format.md, *Tally batch*): one evaluator's encrypted
/// scores, each with its range proof, in the clear (there is nothing to hide in them: a single
/// score can be decrypted by no one), signed by the evaluator over the whole file.
///
/// Why not the sealed rounds' format: those batches are encrypted to the round's X25519 key,
/// which a tally round does not have, and the vault could not check their proofs at import.
public struct TallyBatch: Sendable {
    /// `"evbatch"` and version 3 (sealed rounds' batches are version 2), so either reader
    /// refuses the other's file by its version byte.
    public static let magic: [UInt8] = Array("evbatch".utf8) + [0x03]
    static let trailerSize = BatchFormat.trailerSize

    /// The header's fields, in file order.
    public struct Header: Sendable, Equatable {
        public let vault: String
        public let round: String
        /// The round's joint key, uncompressed (65 bytes).
        public let jointKey: [UInt8]
        public let batchID: [UInt8]
        public let evaluator: String
        /// The evaluator's clock at sealing, microseconds since 1970.
        public let time: Int64

        public init(vault: String, round: String, jointKey: [UInt8], batchID: [UInt8], evaluator: String, time: Int64) {
            self.vault = vault; self.round = round; self.jointKey = jointKey; self.batchID = batchID; self.evaluator = evaluator; self.time = time
        }

        public var batchName: String { Hex.encode(batchID) }

        /// magic ‖ u16(L) ‖ body, each field u16(length) ‖ bytes.
        var encoded: [UInt8] {
            var body: [UInt8] = []
            for field in [Array(vault.utf8), Array(round.utf8), jointKey, batchID, Array(evaluator.utf8), time.bigEndianBytes] {
                body += UInt16(field.count).bigEndianBytes + field
            }
            return TallyBatch.magic + UInt16(body.count).bigEndianBytes + body
        }
    }

    /// One score: its place (indices into the round's teams and criteria) and its encoding.
    public struct Record: Sendable, Equatable {
        public let team: Int
        public let criterion: Int
        public let score: [UInt8]
    }

    public let header: Header
    public let headerBytes: [UInt8]
    public let records: [Record]
    public let signature: [UInt8]
    /// What the evaluator signs: SHA-256("evalvault/tally-batch-digest/v1" ‖ 0x00 ‖ header ‖
    /// SHA-256(records) ‖ u64(count)).
    public let digest: [UInt8]

    static func digest(header: [UInt8], records: ArraySlice<UInt8>, count: Int) -> [UInt8] {
        let recordsHash = records.withUnsafeBytes { SHA256.hash(data: $0) }
        return SHA256.hash(data: Array("evalvault/tally-batch-digest/v1".utf8) + [0] + header + recordsHash + UInt64(count).bigEndianBytes)
    }

    /// Encrypts `scores` (place indices and grid index) under `key`, each with its proof bound
    /// to this evaluator and place, on both cores, and returns the signed file's bytes. Places
    /// must be distinct; they are written in (team, criterion) order.
    public static func make(header: Header, config: RoundConfig, key: Tally.PublicKey,
                            scores: [(team: Int, criterion: Int, index: Int)], signer: Curve25519.Signing.PrivateKey) throws -> [UInt8] {
        let sorted = scores.sorted { ($0.team, $0.criterion) < ($1.team, $1.criterion) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.team == b.team && a.criterion == b.criterion {
            throw VaultError.usage("\(config.teams[a.team])/\(config.criteria[a.criterion].id) is scored twice in one batch")
        }
        let grids = config.criteria.map(TallyCounting.grid)
        let slots = sorted.map { _ in EncodedScore() }
        // Each thread encrypts every other score into its own slots.
        try Parallel.forEach(2) { half in
            for i in stride(from: half, to: sorted.count, by: 2) {
                let s = sorted[i]
                let ctx = Tally.context(vault: header.vault, round: header.round, key: key.point, evaluator: header.evaluator,
                                        team: config.teams[s.team], criterion: config.criteria[s.criterion].id, grid: grids[s.criterion])
                slots[i].bytes = Tally.encrypt(index: s.index, grid: grids[s.criterion], key: key, context: ctx).encoded
            }
        }
        let headerBytes = header.encoded
        var records: [UInt8] = []
        for (i, s) in sorted.enumerated() {
            records += UInt16(s.team).bigEndianBytes + UInt16(s.criterion).bigEndianBytes + slots[i].bytes
        }
        let d = digest(header: headerBytes, records: records[...], count: sorted.count)
        return headerBytes + records + BatchFormat.trailer(count: sorted.count, signature: try signer.signature(for: d))
    }

    /// Reads a file strictly against the round it is for: the header's fields, every record's
    /// place and length (its criterion's grid decides it), places in increasing order (so none
    /// twice), the count, the trailer. The signature and the proofs are checked by the caller
    /// (`isSigned(by:)`, `TallyCounting.verifyAndSum`), which knows the evaluator's key.
    public init(bytes: [UInt8], config: RoundConfig, file: String) throws {
        let damaged = VaultError.invalidData("\(file) is not a whole tally batch of round \(config.id) (cut short, padded or damaged); ask its sender for it again")
        guard bytes.count >= 10 + Self.trailerSize, Array(bytes[0..<8]) == Self.magic else {
            if bytes.count >= 8, Array(bytes[0..<7]) == Array(Self.magic[0..<7]) {
                throw VaultError.invalidData("\(file) is a batch of a sealed round (format version \(bytes[7])), not of tally round \(config.id)")
            }
            throw damaged
        }
        let length = Int(bytes[8]) << 8 | Int(bytes[9])
        guard length <= 1_024, 10 + length + Self.trailerSize <= bytes.count else { throw damaged }
        var at = 10, fields: [[UInt8]] = []
        while at < 10 + length {
            guard at + 2 <= 10 + length else { throw damaged }
            let n = Int(bytes[at]) << 8 | Int(bytes[at + 1])
            guard at + 2 + n <= 10 + length else { throw damaged }
            fields.append(Array(bytes[(at + 2)..<(at + 2 + n)]))
            at += 2 + n
        }
        func text(_ b: [UInt8]) -> String? {
            (1...128).contains(b.count) && b.allSatisfy { (0x21...0x7E).contains($0) } ? String(decoding: b, as: UTF8.self) : nil
        }
        guard fields.count == 6, let vault = text(fields[0]), let round = text(fields[1]), fields[2].count == 65, fields[3].count == 16,
              let evaluator = text(fields[4]), fields[5].count == 8 else { throw damaged }
        let time = fields[5].reduce(Int64(0)) { $0 << 8 | Int64($1) }
        guard round == config.id else {
            throw VaultError.invalidData("\(file) is a batch of round \(round), not of round \(config.id)")
        }
        header = Header(vault: vault, round: round, jointKey: fields[2], batchID: fields[3], evaluator: evaluator, time: time)
        headerBytes = Array(bytes[0..<(10 + length)])
        let end = bytes.count - Self.trailerSize
        // The trailer is a sealed batch's: u64(count) ‖ signature.
        guard let (count, signature) = BatchFormat.parseTrailer(bytes[end...]) else { throw damaged }
        let sizes = config.criteria.map { Tally.EncryptedScore.byteCount(bitCount: TallyCounting.grid($0).bitCount) }
        var records: [Record] = []
        at = 10 + length
        var last = (-1, -1)
        while at < end {
            guard at + 4 <= end else { throw damaged }
            let team = Int(bytes[at]) << 8 | Int(bytes[at + 1]), criterion = Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            guard team < config.teams.count, criterion < config.criteria.count, at + 4 + sizes[criterion] <= end else { throw damaged }
            guard (team, criterion) > last else {
                throw VaultError.invalidData("\(file) lists \(config.teams[team])/\(config.criteria[criterion].id) twice or out of order")
            }
            last = (team, criterion)
            records.append(Record(team: team, criterion: criterion, score: Array(bytes[(at + 4)..<(at + 4 + sizes[criterion])])))
            at += 4 + sizes[criterion]
        }
        guard records.count == count, count > 0 else { throw damaged }
        self.records = records
        self.signature = signature
        digest = Self.digest(header: headerBytes, records: bytes[headerBytes.count..<end], count: count)
    }

    /// Whether these bytes start as a tally batch (version 3), so `import` reads them as one.
    public static func isTallyBatch(_ head: [UInt8]) -> Bool { head.count >= 8 && Array(head[0..<8]) == magic }

    /// The round id in a tally batch's header, read before the round is known (nil if the
    /// header is malformed; the full reading then says why).
    static func roundID(of bytes: [UInt8]) -> String? {
        guard isTallyBatch(bytes), bytes.count >= 12 else { return nil }
        var at = 10
        for i in 0..<2 {
            guard at + 2 <= bytes.count else { return nil }
            let n = Int(bytes[at]) << 8 | Int(bytes[at + 1])
            guard at + 2 + n <= bytes.count, (1...128).contains(n) else { return nil }
            if i == 1 { return String(decoding: bytes[(at + 2)..<(at + 2 + n)], as: UTF8.self) }
            at += 2 + n
        }
        return nil
    }

    /// The file's bytes again from what vault.db keeps: the header, the records (stored in
    /// chunks) and the trailer made of the count and signature.
    static func reassemble(header: [UInt8], records: [UInt8], count: Int, signature: [UInt8]) -> [UInt8] {
        header + records + BatchFormat.trailer(count: count, signature: signature)
    }

    /// The records part of the file, as it is stored in vault.db's chunk rows.
    func recordBytes(of bytes: [UInt8]) -> ArraySlice<UInt8> { bytes[headerBytes.count..<(bytes.count - Self.trailerSize)] }

    /// The evaluator's signature over `digest`.
    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool { key.isValidSignature(signature, for: digest) }

    /// The records as counting takes them.
    public var inputs: [TallyCounting.Input] {
        records.map { TallyCounting.Input(evaluator: header.evaluator, team: $0.team, criterion: $0.criterion, bytes: $0.score) }
    }
}

/// One score's encoding, written by the one thread that encrypts it.
private final class EncodedScore: @unchecked Sendable {
    // @unchecked: written by exactly one worker, read only after both workers finished.
    var bytes: [UInt8] = []
}
