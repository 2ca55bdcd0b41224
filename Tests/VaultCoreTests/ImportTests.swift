import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// Sealing on an evaluator's own machine from a round descriptor, and the chair's `import`:
/// every refusal performed on real files (design: Across machines).
@Suite("Descriptors, batch files and import")
struct ImportTests {
    /// The descriptor of R1, as the chair publishes it.
    static func descriptor(_ f: RoundFixture, round: String = "R1") throws -> RoundDescriptor {
        let bytes = try f.vault.publishRound(round, actor: try f.actor("chair"))
        return try RoundDescriptor(bytes: bytes, file: "\(round).round")
    }

    static func keys(_ f: RoundFixture, _ id: String) throws -> PrivateKeys {
        try KeyFile.load(path: f.dir.path + "/\(id).key", passphrase: SecureBytes(Array("pw-\(id)".utf8)))
    }

    /// Seals rows to a batch file as `id`, in that evaluator's own state folder.
    static func sealFile(_ f: RoundFixture, _ d: RoundDescriptor, _ id: String, _ rows: [(String, String, String)],
                         name: String? = nil) throws -> String {
        let out = f.dir.path + "/\(name ?? id).batch"
        _ = try d.seal(ScoreSheet(rows.map { ScoreInput(team: $0.0, criterion: $0.1, score: Fixed($0.2)!, comment: nil) }),
                       evaluator: PrincipalID(id), keys: try keys(f, id), out: out, client: ClientState(directory: f.dir.path + "/state-\(id)"))
        return out
    }

    static let rows = RoundFixture.teams.map { ($0, "performance", "70") }

    @Test("sealed offline and imported, a batch counts exactly like one sealed in the vault folder; importing it again adds nothing")
    func roundTrip() throws {
        let f = try RoundFixture()
        try f.makeRound()
        let d = try Self.descriptor(f)
        #expect(d.vault == f.vault.id && d.round.id == "R1" && d.round.panel.count >= 3)
        let file = try Self.sealFile(f, d, "ev-1", [("upstage", "performance", "81.5"), ("naver-cloud", "performance", "20")])
        try f.seal("ev-3", [("upstage", "performance", "60")])
        let chair = try f.actor("chair")
        let before = try f.vault.auditSize()
        let r = try f.vault.importBatch(path: file, actor: chair)
        #expect(r.seq != nil && r.evaluator == "ev-1" && r.scores == 2)
        #expect(try f.vault.auditSize() == before + 1, "one signed entry per batch")
        let again = try f.vault.importBatch(path: file, actor: chair)
        #expect(again.seq == nil)
        #expect(try f.vault.auditSize() == before + 1)
        let opened = try f.open()
        func units(_ ev: String, _ team: String) -> Int64? {
            opened.scores.first { opened.evaluatorID(of: $0) == ev && opened.teamID(of: $0) == team }?.units
        }
        #expect(units("ev-1", "upstage") == 163 && units("ev-1", "naver-cloud") == 40 && units("ev-3", "upstage") == 120)
        // The file is the stored form: vault.db holds its header and chunks, byte for byte.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let s = try f.vault.database.prepare("SELECT b.header, c.ct FROM batches b JOIN batch_chunks c ON c.batch = b.id WHERE b.id = ?")
            .bind(Hex.decode(r.batch)!)
        #expect(try s.step())
        let stored = s.blob(0) + s.blob(1)
        #expect(Array(bytes.prefix(stored.count)) == stored)
    }

    @Test("import refuses a batch for another vault, another round's key, an evaluator off the panel, a tampered chunk, a truncated file")
    func refusals() throws {
        let f = try RoundFixture()
        try f.makeRound()
        let d = try Self.descriptor(f)
        let chair = try f.actor("chair")
        func refused(_ path: String, _ status: VaultCore.ExitStatus, _ fragment: String) {
            let e = #expect(throws: VaultError.self) { try f.vault.importBatch(path: path, actor: chair) }
            #expect(e?.exitStatus == status && e?.message.contains(fragment) == true, "\(e?.message ?? "")")
        }
        // Another vault: the same people, another chair's vault and round.
        let g = try RoundFixture()
        try g.makeRound()
        let foreign = try Self.sealFile(g, try Self.descriptor(g), "ev-1", Self.rows, name: "foreign")
        refused(foreign, .dataError, "is a batch for vault \(g.vault.id); this vault is \(f.vault.id)")

        // Another round of this vault (R2): a batch for it imports into R2, never into R1 — and a
        // batch whose header names R1 but was sealed to R2's key is refused.
        try f.makeRound("R2")
        let r2 = try Self.descriptor(f, round: "R2")
        let forR2 = try Self.sealFile(f, r2, "ev-3", Self.rows, name: "r2")
        #expect(try f.vault.importBatch(path: forR2, actor: chair).round == "R2")
        let mixed = RoundDescriptorForTests.with(r2, roundID: "R1", from: d)
        let wrongKey = try Self.sealFile(f, mixed, "ev-4", Self.rows, name: "wrong-key")
        refused(wrongKey, .dataError, "is sealed to another key than round R1's")

        // An evaluator enrolled after the round opened is not on its panel: its client refuses
        // to seal, and a batch it builds anyway is refused by import.
        let keys = PrivateKeys.generate()
        _ = try f.vault.addPrincipal(id: PrincipalID("ev-9"), role: .evaluator, publicKeys: keys.publicKeys, identity: nil, conflicts: [], actor: chair)
        let e = #expect(throws: VaultError.self) {
            _ = try d.seal(ScoreSheet([ScoreInput(team: "upstage", criterion: "performance", score: Fixed(50), comment: nil)]), evaluator: PrincipalID("ev-9"),
                           keys: keys, out: f.dir.path + "/ev-9.batch", client: ClientState(directory: f.dir.path + "/state-ev-9"))
        }
        #expect(e?.exitStatus == .noPermission && e?.message.contains("ev-9 is not on the panel of round R1") == true)
        let puppet = RoundDescriptorForTests.adding("ev-9", key: keys.publicKeys.signing.rawRepresentation, to: d)
        let offPanel = f.dir.path + "/ev-9.batch"
        _ = try puppet.seal(ScoreSheet([ScoreInput(team: "upstage", criterion: "performance", score: Fixed(50), comment: nil)]), evaluator: PrincipalID("ev-9"),
                            keys: keys, out: offPanel, client: ClientState(directory: f.dir.path + "/state-ev-9"))
        refused(offPanel, .noPermission, "sealed by ev-9, who is not on the panel of round R1")

        // A byte changed in the encrypted chunk: the evaluator's signature no longer verifies.
        let good = try Self.sealFile(f, d, "ev-1", Self.rows)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
        let (_, headerLength) = try BatchFormat.Header.parse(bytes, file: good)
        for (name, change) in [("chunk", { (b: inout [UInt8]) in b[headerLength + 5] ^= 1 }),
                               ("count", { (b: inout [UInt8]) in b[b.count - 65] ^= 1 }),
                               ("signature", { (b: inout [UInt8]) in b[b.count - 1] ^= 1 }),
                               ("evaluator", { (b: inout [UInt8]) in
                                   let at = bytes.firstRange(of: Array("ev-1".utf8))!.lowerBound + 3
                                   b[at] = UInt8(ascii: "3")
                               })] {
            var copy = bytes
            change(&copy)
            let path = f.dir.path + "/changed-\(name).batch"
            try Data(copy).write(to: URL(fileURLWithPath: path))
            let e = #expect(throws: VaultError.self) { try f.vault.importBatch(path: path, actor: chair) }
            #expect(e?.exitStatus == .dataError, "\(name): \(e?.message ?? "")")
        }
        for cut in [1, 40, bytes.count - headerLength - 1] {
            let path = f.dir.path + "/cut-\(cut).batch"
            try Data(bytes.dropLast(cut)).write(to: URL(fileURLWithPath: path))
            refused(path, .dataError, "cut short or damaged")
        }
        // Every refusal stored nothing; the audit log records each attempt as failed.
        #expect(try f.vault.sealCounts("R1").batches == 0)
        #expect(try f.vault.importBatch(path: good, actor: chair).seq != nil)
    }

    @Test("a descriptor signed by another chair key than the one pinned is refused; a changed descriptor does not verify")
    func pinning() throws {
        let f = try RoundFixture()
        try f.makeRound()
        let bytes = try f.vault.publishRound("R1", actor: try f.actor("chair"))
        let client = ClientState(directory: f.dir.path + "/state-ev-1")
        let d = try RoundDescriptor(bytes: bytes, file: "R1.round")
        #expect(try d.pin(in: client) == true)
        #expect(try d.pin(in: client) == false)
        // The same vault id, re-signed by a writer's key: refused against the pin.
        var text = String(decoding: bytes, as: UTF8.self)
        let forged = RoundDescriptorForTests.resigned(bytes, with: PrivateKeys.generate())
        let other = try RoundDescriptor(bytes: forged, file: "forged.round")
        let e = #expect(throws: VaultError.self) { try other.pin(in: client) }
        #expect(e?.exitStatus == .dataError && e?.message.contains("is not the one this client pinned") == true, "\(e?.message ?? "")")
        // One character changed: the chair's signature does not verify.
        text = text.replacingOccurrences(of: "\"upstage\"", with: "\"upstagf\"")
        let changed = #expect(throws: VaultError.self) { try RoundDescriptor(bytes: Array(text.utf8), file: "changed.round") }
        #expect(changed?.exitStatus == .dataError)
    }
}

/// Builders of descriptors that no honest chair would sign, for the refusals above.
enum RoundDescriptorForTests {
    /// `d` with its round id replaced by `roundID` and its vault's descriptor `same` otherwise
    /// (a batch sealed with it names R1 but is sealed to R2's key).
    static func with(_ d: RoundDescriptor, roundID: String, from same: RoundDescriptor) -> RoundDescriptor {
        RoundDescriptor(vault: d.vault, round: Round(config: same.round.config, state: .open, policyVersion: d.round.policyVersion,
                                                      publicKey: d.round.publicKey, version: d.round.version, panel: d.round.panel),
                        policy: d.policy, chair: d.chair, chairKeys: d.chairKeys, members: d.members, checkpoint: d.checkpoint)
    }

    static func adding(_ id: String, key: [UInt8], to d: RoundDescriptor) -> RoundDescriptor {
        var members = d.members
        members[id] = (key, [])
        return RoundDescriptor(vault: d.vault, round: Round(config: d.round.config, state: .open, policyVersion: d.round.policyVersion,
                                                             publicKey: d.round.publicKey, version: d.round.version,
                                                             panel: d.round.panel + [try! PrincipalID(id)]),
                               policy: d.policy, chair: d.chair, chairKeys: d.chairKeys, members: members, checkpoint: d.checkpoint)
    }

    /// The descriptor re-signed with another key put in as the chair's (checkpoint included).
    static func resigned(_ bytes: [UInt8], with keys: PrivateKeys) -> [UInt8] {
        guard case .object(var o)? = try? JSONParser.parse(bytes, integersOnly: true) else { return [] }
        o.removeValue(forKey: "signature")
        o["chair_ed25519"] = .string(Base64.encode(keys.publicKeys.signing.rawRepresentation))
        o["chair_x25519"] = .string(Base64.encode(keys.publicKeys.agreement.rawRepresentation))
        let note = try! Checkpoint.parse(note: o["checkpoint"]!.stringValue!)
        o["checkpoint"] = .string(try! note.checkpoint.signedNote(name: o["chair"]!.stringValue!, key: keys.signing))
        o["signature"] = .string(Base64.encode(try! keys.signing.signature(for: CanonicalJSON.encode(.object(o)))))
        return CanonicalJSON.encode(.object(o))
    }
}
