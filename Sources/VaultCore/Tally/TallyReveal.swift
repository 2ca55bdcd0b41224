import Foundation
import VaultCrypto

/// Which scores of a tally round count, and their cells, from its batches — the same rule for
/// the chair and for each holder: per evaluator, the latest batch (by its seal time, then id)
/// that scores a place decides that place; every counted score's proof is verified.
enum TallySelection {
    /// The counted scores: per evaluator, latest batch first, the first record of each place.
    static func select(config: RoundConfig, batches: [TallyBatch]) -> [TallyCounting.Input] {
        var inputs: [TallyCounting.Input] = []
        let byEvaluator = Dictionary(grouping: batches, by: \.header.evaluator)
        for evaluator in byEvaluator.keys.sorted() {
            let latestFirst = byEvaluator[evaluator]!.sorted {
                $0.header.time != $1.header.time ? $0.header.time > $1.header.time : $1.header.batchID.lexicographicallyPrecedes($0.header.batchID)
            }
            var taken = Set<Int>()
            for b in latestFirst {
                for r in b.records where taken.insert(r.team * config.criteria.count + r.criterion).inserted {
                    inputs.append(TallyCounting.Input(evaluator: evaluator, team: r.team, criterion: r.criterion, bytes: r.score))
                }
            }
        }
        return inputs
    }

    /// The counted scores' cells, every proof verified.
    static func count(config: RoundConfig, key: Tally.PublicKey, vault: String, batches: [TallyBatch]) throws -> TallyCounting.Counted {
        let inputs = select(config: config, batches: batches)
        guard !inputs.isEmpty else { throw VaultError.invalidData("round \(config.id) has no sealed scores") }
        return try TallyCounting.verifyAndSum(config: config, key: key, vault: vault, inputs: inputs)
    }
}

/// `reveal request` of a tally round: what the chair asks the holders to decrypt — the cell
/// totals of one or more declared reveals of a closed round — with everything a holder needs to
/// check, on its own machine, that each cell it decrypts is a sum of at least `minCell` genuine
/// scores and not a single one: the round, its ceremony, the counted batches as their
/// evaluators signed them, the panel's keys, and the manifest root they hash to.
public struct TallyRevealRequestFile: Sendable {
    public static let formatName = "evalvault-tally-request/1"
    /// A holder never releases a partial decryption of a cell with fewer scores than this,
    /// whatever the request says: the floor below any policy's minimum group.
    public static let minimumCell = 3

    public let vault: String
    public let config: RoundConfig
    public let reveals: [RevealRequestFile.Asked]
    public let manifestRoot: [UInt8]
    public let ceremony: CeremonyRecord
    public let batches: [TallyBatch]
    public let panel: [String: Curve25519.Signing.PublicKey]
    public let minCell: Int
    public let requester: PrincipalID
    public let requesterKeys: PublicKeys
    public let created: String
    public let digest: [UInt8]
    public let bytes: [UInt8]

    public var round: String { config.id }
    public var holders: [PrincipalID] { config.reveal.holders }
    public var threshold: Int { config.reveal.threshold }

    static func make(vault: String, round: Round, reveals: [RevealRequestFile.Asked], manifestRoot: [UInt8], batchFiles: [[UInt8]],
                     panel: [Principal], minCell: Int, requester: Actor, created: String) throws -> TallyRevealRequestFile {
        let bytes = try SignedDocument.sign([
            "format": .string(formatName), "vault": .string(vault), "round": .string(round.id), "config": round.config.canonicalJSON,
            "reveals": .array(reveals.map(\.json)), "manifest_root": .string(Hex.encode(manifestRoot)),
            "ceremony": .string(Base64.encode(round.ceremony ?? [])), "batches": .array(batchFiles.map { .string(Base64.encode($0)) }),
            "panel": .array(panel.map { .object(["id": .string($0.id.rawValue), "ed25519": .string(Base64.encode($0.publicKeys.signing.rawRepresentation))]) }),
            "min_cell": .integer(Int64(minCell)), "requester": .string(requester.id.rawValue),
            "requester_key": .string(Base64.encode(requester.principal.publicKeys.signing.rawRepresentation)),
            "requester_x25519": .string(Base64.encode(requester.principal.publicKeys.agreement.rawRepresentation)),
            "created": .string(created),
        ], with: requester.keys.signing)
        return try TallyRevealRequestFile(bytes: bytes, file: "the reveal request")
    }

    /// Reads a request and checks what needs no key: the signature by the key it names, the
    /// round, its ceremony, every batch (its evaluator on the panel, its signature), and that the
    /// batches hash to the manifest root named.
    public init(bytes: [UInt8], file: String) throws {
        let doc = try SignedDocument(bytes: bytes, what: file, format: Self.formatName,
                                     required: ["vault", "round", "config", "reveals", "manifest_root", "ceremony", "batches", "panel", "min_cell",
                                                "requester", "requester_key", "requester_x25519", "created"])
        requesterKeys = try doc.requesterKeys()
        guard doc.isSigned(by: requesterKeys.signing) else {
            throw VaultError.integrity("\(file) does not match its signature (changed after the chair signed it)")
        }
        vault = try doc.string("vault")
        guard SignedDocument.isVaultID(vault), let configJSON = doc.body["config"], let c = try? RoundConfig(canonical: configJSON),
              c.canonicalJSON == configJSON, c.mode == .tally, c.id == (try doc.string("round")) else { throw doc.malformed("round definition") }
        config = c
        guard let asked = doc.body["reveals"]?.arrayValue, !asked.isEmpty else { throw doc.malformed("reveals") }
        reveals = try asked.map { a in
            guard let stat = a["stat"]?.stringValue.flatMap(Statistic.init(rawValue:)), RoundMode.tallyStatistics.contains(stat),
                  let by = a["by"]?.arrayValue?.compactMap(\.stringValue), let precision = a["precision"]?.integerValue,
                  let declared = a["declared"], case .bool(let isDeclared) = declared else { throw doc.malformed("reveal") }
            return RevealRequestFile.Asked(reveal: DeclaredReveal(stat: stat, by: by, precision: Int(precision), advance: a["advance"]?.integerValue.map { Int($0) }),
                                           declared: isDeclared)
        }
        manifestRoot = try doc.hex("manifest_root", count: 32)
        ceremony = try CeremonyRecord(bytes: try doc.base64("ceremony"))
        guard ceremony.transcript.request.config == config, ceremony.transcript.request.vault == vault else { throw doc.malformed("ceremony") }
        var panel: [String: Curve25519.Signing.PublicKey] = [:]
        for m in doc.body["panel"]?.arrayValue ?? [] {
            guard let id = m["id"]?.stringValue, let key = m["ed25519"]?.stringValue.flatMap(Base64.decode),
                  let k = try? Curve25519.Signing.PublicKey(rawRepresentation: key) else { throw doc.malformed("panel") }
            panel[id] = k
        }
        self.panel = panel
        minCell = try doc.integer("min_cell", in: 1...1_000_000)
        let joint = ceremony.jointKey.encoded(compressed: false), vaultID = vault, keys = panel
        let batches = try (doc.body["batches"]?.arrayValue ?? []).map { v in
            guard let b = v.stringValue.flatMap(Base64.decode) else { throw doc.malformed("batch") }
            let batch = try TallyBatch(bytes: b, config: c, file: "a batch in \(file)")
            guard batch.header.vault == vaultID, batch.header.jointKey == joint, let key = keys[batch.header.evaluator], batch.isSigned(by: key) else {
                throw VaultError.integrity("\(file): batch \(batch.header.batchName.prefix(16)) is not signed by a panel evaluator of round \(c.id), or is of another vault or key")
            }
            return batch
        }
        let items = batches.map { Manifest.Item(batch: $0.header.batchName, digest: Hex.encode($0.digest), evaluator: $0.header.evaluator, scores: $0.records.count) }
        guard Manifest(vault: vault, round: c.id, items: items).root == manifestRoot else {
            throw VaultError.integrity("\(file): its batches do not hash to the manifest root it names")
        }
        self.batches = batches
        requester = try doc.principal("requester")
        created = try doc.string("created")
        digest = doc.digest
        self.bytes = bytes
    }

    /// The cells this request asks to decrypt, counted from its batches, every proof verified.
    func counted() throws -> TallyCounting.Counted {
        try TallySelection.count(config: config, key: Tally.PublicKey(ceremony.jointKey), vault: vault, batches: batches)
    }

    /// A holder's partial decryptions of every cell, each with its proof — refused if any cell
    /// holds fewer than `max(minCell, minimumCell)` scores. Its key share comes from the ceremony
    /// (the holder's own polynomial and the shares sent to it), never from a file.
    func partials(as holder: PrincipalID, keys: PrivateKeys) throws -> [(cell: TallyCell, decryption: Tally.PartialDecryption)] {
        let counted = try counted()
        let floor = max(minCell, Self.minimumCell)
        if let short = counted.cells.first(where: { $0.count < floor }) {
            throw VaultError.permission("cell \(short.team)/\(short.criterion) holds \(short.count) score\(short.count == 1 ? "" : "s"); a holder decrypts no cell of fewer than \(floor): not approved")
        }
        let share = try ceremony.transcript.secretShare(of: holder, keys: keys)
        let index = try ceremony.transcript.request.index(of: holder)
        let pub = ceremony.transcript.publicShare(index)
        return counted.cells.map { cell in
            (cell, Tally.PartialDecryption(x: cell.x, secretShare: share, publicShare: pub,
                                           context: cell.context(vault: vault, round: config.id, manifestRoot: manifestRoot)))
        }
    }
}
