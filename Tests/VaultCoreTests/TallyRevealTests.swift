import Foundation
import Testing
@testable import VaultCore
import VaultCrypto

/// What a holder's client checks before it releases anything in a tally round's reveal, on real
/// keys and files: it recomputes every cell from the evaluators' signed batches and refuses a
/// cell of fewer than 3 scores (a chair cannot get a single score decrypted), batches that do not
/// hash to the manifest root named, and a batch not signed by a panel evaluator; any two
/// holders' partial decryptions give the plain sums.
@Suite("Tally reveal: the holder's checks")
struct TallyRevealTests {
    struct Round2 {
        let people: CeremonyTests.People
        let record: CeremonyRecord
        let round: VaultCore.Round
        let evaluators: [String: PrivateKeys]
        let vault = String(repeating: "ab", count: 16)

        init() throws {
            people = try CeremonyTests.People()
            let commits = try people.commits()
            let transcript = try CeremonyTranscript(request: people.request, commits: commits)
            let statements = try zip(people.ids, people.keys).map { id, k in
                (try CeremonyVerifiedFile.make(transcript: transcript, holder: id, keys: k).bytes, "\(id).verified")
            }
            record = try CeremonyRecord(request: people.request, commits: commits.map { ($0.bytes, "c") }, statements: statements)
            evaluators = Dictionary(uniqueKeysWithValues: (1...4).map { ("ev-\($0)", PrivateKeys.generate()) })
            round = VaultCore.Round(config: people.config, state: .closed, policyVersion: 1, publicKey: nil, version: 4,
                                    panel: try evaluators.keys.sorted().map { try PrincipalID($0) }, ceremony: record.bytes)
        }

        /// One batch per evaluator: (team index, grid index) of the round's one criterion.
        func batch(_ evaluator: String, _ scores: [(team: Int, index: Int)], signer: PrivateKeys? = nil) throws -> [UInt8] {
            let header = TallyBatch.Header(vault: vault, round: round.id, jointKey: record.jointKey.encoded(compressed: false),
                                           batchID: SecureRandom.bytes(count: 16), evaluator: evaluator, time: 1_796_000_000_000_000)
            return try TallyBatch.make(header: header, config: round.config, key: Tally.PublicKey(record.jointKey),
                                       scores: scores.map { ($0.team, 0, $0.index) }, signer: (signer ?? evaluators[evaluator]!).signing)
        }

        func request(_ files: [[UInt8]], root: [UInt8]? = nil) throws -> TallyRevealRequestFile {
            let batches = try files.map { try TallyBatch(bytes: $0, config: round.config, file: "b") }
            let items = batches.map { Manifest.Item(batch: $0.header.batchName, digest: Hex.encode($0.digest), evaluator: $0.header.evaluator, scores: $0.records.count) }
            let chair = Principal(id: people.ids[0], role: .chair, publicKeys: people.keys[0].publicKeys, identityCiphertext: nil, conflicts: [],
                                  enabled: true, version: 1)
            let panel = try evaluators.keys.sorted().map {
                Principal(id: try PrincipalID($0), role: .evaluator, publicKeys: evaluators[$0]!.publicKeys, identityCiphertext: nil, conflicts: [],
                          enabled: true, version: 1)
            }
            return try TallyRevealRequestFile.make(vault: vault, round: round,
                                                   reveals: [RevealRequestFile.Asked(reveal: DeclaredReveal(stat: .rank, by: ["team"]), declared: true)],
                                                   manifestRoot: root ?? Manifest(vault: vault, round: round.id, items: items).root, batchFiles: files,
                                                   panel: panel, minCell: 3,
                                                   requester: Actor(principal: chair, keys: people.keys[0], chairKey: people.keys[0].publicKeys.signing),
                                                   created: "2026-11-30T00:00:00Z")
        }
    }

    @Test("any two holders decrypt the plain cell sums; a cell of 2 scores is refused by every holder")
    func sumsAndFloor() throws {
        let r = try Round2()
        // upstage (index 1): ev-1, ev-2, ev-3; lg-ai-research (index 0): ev-1, ev-2, ev-4.
        let files = [try r.batch("ev-1", [(0, 10), (1, 150)]), try r.batch("ev-2", [(0, 20), (1, 160)]),
                     try r.batch("ev-3", [(1, 170)]), try r.batch("ev-4", [(0, 30)])]
        let request = try r.request(files)
        let parsed = try TallyRevealRequestFile(bytes: request.bytes, file: "rank.req")
        var counted = try parsed.counted()
        let partials = try [1, 2].map { try parsed.partials(as: r.people.ids[$0], keys: r.people.keys[$0]) }
        let byCell = counted.cells.indices.map { c in
            [1, 2].enumerated().map { j, i in
                TallyRecord.Partial(holder: r.people.ids[i].rawValue, index: i + 1, decryption: partials[j][c].decryption)
            }
        }
        counted.cells = try TallyCounting.decrypt(counted.cells, partials: byCell, config: r.round.config)
        #expect(counted.cells.map { "\($0.team):\($0.total!)" } == ["lg-ai-research:60", "upstage:480"])

        // Without ev-4's batch, lg-ai-research holds 2 scores: no holder decrypts anything.
        let short = try r.request(Array(files.prefix(3)))
        for i in 0..<3 {
            #expect { try short.partials(as: r.people.ids[i], keys: r.people.keys[i]) } throws: { error in
                "\(error)".contains("cell lg-ai-research/reasoning holds 2 scores; a holder decrypts no cell of fewer than 3")
            }
        }
    }

    @Test("batches that are not the manifest named, or not signed by a panel evaluator, are refused before anything is decrypted")
    func batchesChecked() throws {
        let r = try Round2()
        let files = [try r.batch("ev-1", [(0, 10)]), try r.batch("ev-2", [(0, 20)]), try r.batch("ev-3", [(0, 30)])]
        // A root over other batches (one left out) than those carried.
        let other = try r.request(Array(files.prefix(2)))
        #expect { try r.request(files, root: other.manifestRoot) } throws: { "\($0)".contains("do not hash to the manifest root") }
        // A batch signed with a key that is not the evaluator's (a puppet the chair holds).
        let forged = try r.batch("ev-3", [(0, 99)], signer: PrivateKeys.generate())
        #expect { try r.request(Array(files.prefix(2)) + [forged]) } throws: { "\($0)".contains("not signed by a panel evaluator") }
        // Someone else's key file cannot release a holder's share.
        let request = try r.request(files)
        #expect(throws: VaultError.self) { try request.partials(as: r.people.ids[1], keys: PrivateKeys.generate()) }
    }
}
