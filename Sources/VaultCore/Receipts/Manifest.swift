import Foundation
import VaultCrypto

/// The batches a closed round counts, signed by the chair at close: for each batch its id, the
/// digest its evaluator signed, the evaluator and how many scores it holds. Its Merkle root
/// (RFC 9162 leaves, one per batch in id order) is in the close entry and in every result
/// statement, so an evaluator can prove from a published result alone that its batch was
/// counted — or see that it was not (design: Audit log, invariant 11).
public struct Manifest: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public let batch: String
        public let digest: String
        public let evaluator: String
        public let scores: Int

        /// The manifest leaf: canonical JSON of the four fields.
        public var leafHash: [UInt8] {
            Merkle.leafHash(CanonicalJSON.encode(.object([
                "batch": .string(batch), "digest": .string(digest), "evaluator": .string(evaluator), "scores": .integer(Int64(scores)),
            ])))
        }
    }

    public static let formatName = "evalvault-manifest/1"
    public let vault: String
    public let round: String
    /// Sorted by batch id.
    public let items: [Item]

    /// The leaves and root, computed once (a round of a thousand batches is a thousand hashes,
    /// and a reveal asks for the root several times).
    public let leafHashes: [[UInt8]]
    public let root: [UInt8]

    public init(vault: String, round: String, items: [Item]) {
        self.vault = vault
        self.round = round
        self.items = items.sorted { $0.batch < $1.batch }
        leafHashes = self.items.map(\.leafHash)
        root = Merkle.root(ofLeafHashes: leafHashes[...])
    }

    public static func == (a: Manifest, b: Manifest) -> Bool { a.vault == b.vault && a.round == b.round && a.items == b.items }

    /// The manifest of a round as the log records its batches.
    init(vault: String, round: String, log: LogState) {
        self.init(vault: vault, round: round, items: Self.items(ofRound: round, in: log))
    }

    /// The items of a round as the log records its batches, sorted by batch id (without the
    /// leaf hashes, for a comparison with a signed manifest).
    static func items(ofRound round: String, in log: LogState) -> [Item] {
        log.batches(ofRound: round).map { Item(batch: $0.id, digest: $0.digest ?? "", evaluator: $0.evaluator ?? "", scores: $0.count ?? 0) }
    }

    public var scoreCount: Int { items.reduce(0) { $0 + $1.scores } }

    /// The stored form: canonical JSON.
    public var bytes: [UInt8] {
        CanonicalJSON.encode(.object([
            "format": .string(Self.formatName), "vault": .string(vault), "round": .string(round),
            "batches": .array(items.map { .object(["batch": .string($0.batch), "digest": .string($0.digest),
                                                   "evaluator": .string($0.evaluator), "scores": .integer(Int64($0.scores))]) }),
        ]))
    }

    init(bytes: [UInt8]) throws {
        let bad = VaultError.integrity("a stored manifest is malformed")
        guard let v = try? JSONParser.parse(bytes, allowWhitespace: false), v["format"]?.stringValue == Self.formatName,
              let vault = v["vault"]?.stringValue, let round = v["round"]?.stringValue, let list = v["batches"]?.arrayValue else { throw bad }
        let items = try list.map { b -> Item in
            guard let id = b["batch"]?.stringValue, let d = b["digest"]?.stringValue, let e = b["evaluator"]?.stringValue,
                  let n = b["scores"]?.integerValue else { throw bad }
            return Item(batch: id, digest: d, evaluator: e, scores: Int(n))
        }
        self.init(vault: vault, round: round, items: items)
    }
}

/// What `seal` gives the evaluator to keep: enough to find its batch in the log (entry seq and
/// leaf hash) and in a published result's manifest (batch id, digest, evaluator, size).
public struct Receipt: Sendable, Equatable {
    public static let formatName = "evalvault-receipt/1"
    public let vault: String
    public let round: String
    public let batch: String
    public let digest: String
    public let evaluator: String
    public let scores: Int
    /// The entry that recorded the batch and its leaf hash; nil for a batch sealed to a file
    /// (the entry is written when the chair imports it).
    public let seq: Int?
    public let leafHash: String?

    public var item: Manifest.Item { .init(batch: batch, digest: digest, evaluator: evaluator, scores: scores) }

    public var json: JSONValue {
        .object(["format": .string(Self.formatName), "vault": .string(vault), "round": .string(round), "batch": .string(batch),
                 "digest": .string(digest), "evaluator": .string(evaluator), "scores": .integer(Int64(scores))]
                .merging(seq.map { ["seq": .integer(Int64($0))] } ?? [:]) { a, _ in a }
                .merging(leafHash.map { ["leaf_hash": .string($0)] } ?? [:]) { a, _ in a })
    }

    public var bytes: [UInt8] { CanonicalJSON.encode(json) + [0x0A] }

    public init(vault: String, round: String, batch: String, digest: String, evaluator: String, scores: Int, seq: Int?, leafHash: String?) {
        self.vault = vault; self.round = round; self.batch = batch; self.digest = digest
        self.evaluator = evaluator; self.scores = scores; self.seq = seq; self.leafHash = leafHash
    }

    public init(bytes: [UInt8], file: String) throws {
        let bad = VaultError.invalidData("\(file) is not an evalvault receipt")
        guard let v = try? JSONParser.parse(bytes, integersOnly: true), v["format"]?.stringValue == Self.formatName,
              let vault = v["vault"]?.stringValue, let round = v["round"]?.stringValue, let batch = v["batch"]?.stringValue,
              let digest = v["digest"]?.stringValue, let evaluator = v["evaluator"]?.stringValue,
              let scores = v["scores"]?.integerValue else { throw bad }
        self.init(vault: vault, round: round, batch: batch, digest: digest, evaluator: evaluator, scores: Int(scores),
                  seq: v["seq"]?.integerValue.map { Int($0) }, leafHash: v["leaf_hash"]?.stringValue)
    }

    /// `receipt verify RECEIPT --result RESULT.json`: the result must verify on its own (with
    /// the pinned chair key when given), be for this receipt's vault and round, and its
    /// manifest must hold this batch with this digest. Anything else is exit 65, said plainly.
    public static func verify(_ receipt: Receipt, result: [UInt8], expectedChair: ResultStatement.ChairPin? = nil) throws -> ResultStatement.Verified {
        let verified = try ResultStatement.verify(result, expectedChair: expectedChair)
        guard verified.vault == receipt.vault, verified.round == receipt.round else {
            throw VaultError.integrity("the result is for vault \(verified.vault) round \(verified.round), the receipt for vault \(receipt.vault) round \(receipt.round)")
        }
        guard verified.manifestLeaves.contains(receipt.item.leafHash) else {
            throw VaultError.integrity("batch \(receipt.batch) (\(receipt.scores) score\(receipt.scores == 1 ? "" : "s")) is NOT in the published result's manifest: it was not counted; take this receipt to the chair or the auditor")
        }
        return verified
    }
}
