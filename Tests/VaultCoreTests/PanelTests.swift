import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// The panel — who may seal into a round — is fixed when the round opens and approved by k of
/// its reveal holders, so a chair alone cannot seat puppets (evaluators whose keys it holds)
/// next to a real evaluator and read the real score off a mean (design: invariant 13).
@Suite("Approved panels", .serialized)
struct PanelTests {
    static func score(_ who: String, _ f: RoundFixture, round: String = "R1") throws {
        try f.seal(who, RoundFixture.teams.map { ($0, "performance", "50") }, round: round)
    }

    @Test("opening a 2-of-3 round needs 2 holders; the panel is the evaluators enrolled then; puppets enrolled later cannot seal")
    func puppets() throws {
        let f = try RoundFixture()
        try f.makeRound(holders: ["chair", "cm-1", "cm-2"], threshold: 2, open: false)
        let alone = #expect(throws: VaultError.self) { _ = try f.vault.openRound("R1", actor: try f.actor("chair")) }
        #expect(alone?.exitStatus == .noPermission && alone?.message.contains("needs 2 of its reveal holders") == true, "\(alone?.message ?? "")")
        // A co-holder who is not a holder of this round does not count.
        #expect(throws: VaultError.self) { _ = try f.vault.openRound("R1", actor: try f.actor("chair"), coHolders: [try f.actor("au-1")]) }
        let opened = try f.vault.openRound("R1", actor: try f.actor("chair"), coHolders: [try f.actor("cm-1")])
        #expect(opened.panel.map(\.rawValue) == ["ev-1", "ev-2", "ev-3", "ev-4"])
        try Self.score("ev-1", f)

        // The chair enrols two puppets whose keys it holds: they are not on the panel.
        for puppet in ["ev-8", "ev-9"] {
            let keys = PrivateKeys.generate()
            try KeyFile.write(keys, to: f.dir.path + "/\(puppet)", passphrase: SecureBytes(Array("pw-\(puppet)".utf8)), kdf: RoundFixture.kdf)
            _ = try f.vault.addPrincipal(id: PrincipalID(puppet), role: .evaluator, publicKeys: keys.publicKeys, identity: nil,
                                         conflicts: [], actor: try f.actor("chair"))
            let e = #expect(throws: VaultError.self) { try Self.score(puppet, f) }
            #expect(e?.exitStatus == .noPermission && e?.message.contains("\(puppet) is not on the panel of round R1") == true)
        }
        #expect(try f.vault.sealCounts("R1").batches == 1)

        // Even written straight into the log, a puppet's batch is refused by every client's replay.
        let puppet = try f.actor("ev-9")
        var record = ObjectRecord(kind: .batch, id: String(repeating: "ab", count: 16), sha256: SHA256.hash(data: [1]))
        record.round = "R1"; record.digest = String(repeating: "00", count: 32); record.count = 3; record.evaluator = "ev-9"
        record.signature = Base64.encode(try puppet.keys.signing.signature(for: [UInt8](repeating: 0, count: 32)))  // ev-9's own, valid
        let forced = #expect(throws: VaultError.self) {
            try f.vault.write {
                _ = try f.vault.appendAudit(AuditRecord(actor: "ev-9", authenticated: true, action: "seal", target: "round/R1", decision: .allow),
                                            signer: puppet.keys.signing, objects: [record])
            }
        }
        #expect(forced?.message.contains("ev-9 is not on its panel") == true, "\(forced?.message ?? "")")
    }

    @Test("an open entry without k holder approvals is refused by the replay, even signed by the chair")
    func approvalsChecked() throws {
        let f = try RoundFixture()
        try f.makeRound(holders: ["chair", "cm-1", "cm-2"], threshold: 2, open: false)
        let chair = try f.actor("chair")
        let opened = try f.openedByHand(panel: ["ev-1"])
        let record = opened.objectRecord(vaultID: f.vault.id)
        let message = Round.openApprovalBytes(vaultID: f.vault.id, roundID: "R1", recordSHA256: record.sha256)
        func attempt(_ approvals: [JSONValue]) -> VaultError? {
            do {
                try f.vault.write {
                    _ = try f.vault.appendAudit(AuditRecord(actor: "chair", authenticated: true, action: "round.open", target: "round/R1",
                                                            decision: .allow, details: ["approvals": .array(approvals)]),
                                                signer: chair.keys.signing, objects: [record])
                }
                return nil
            } catch let e as VaultError { return e } catch { return .internalError("\(error)") }
        }
        func approval(_ who: String, over bytes: [UInt8]) throws -> JSONValue {
            .object(["holder": .string(who), "sig": .string(Base64.encode(try f.actor(who).keys.signing.signature(for: bytes)))])
        }
        #expect(attempt([])?.message.contains("with 0 holder approvals; it needs 2") == true)
        #expect(attempt([try approval("chair", over: message)])?.message.contains("it needs 2") == true)
        // A non-holder's signature, or a holder's over something else, is not an approval.
        #expect(attempt([try approval("chair", over: message), try approval("au-1", over: message)])?.message.contains("not a valid signature") == true)
        #expect(attempt([try approval("chair", over: message), try approval("cm-1", over: [0])])?.message.contains("not a valid signature") == true)
        // Two holders' approvals of exactly this record pass the replay.
        #expect(attempt([try approval("chair", over: message), try approval("cm-2", over: message)]) == nil)
    }

    @Test("a panel listed in the round file is the panel; an id that is not an enrolled evaluator is refused at open")
    func listedPanel() throws {
        let f = try RoundFixture()
        for (id, panel) in [("P1", "[\"ev-3\", \"ev-1\"]"), ("P2", "[\"ev-1\", \"cm-1\"]")] {
            let toml = "id = \"\(id)\"\nteams = [\"upstage\"]\npanel = \(panel)\n[reveal]\nholders = [\"chair\"]\nthreshold = 1\n"
                + "[[criteria]]\nid = \"performance\"\nweight = 1\nmin = 0\nmax = 10\nstep = 1\n"
            try f.vault.createRound(try RoundFile.parse(toml, file: "p.toml"), actor: try f.actor("chair"))
        }
        #expect(try f.vault.openRound("P1", actor: try f.actor("chair")).panel.map(\.rawValue) == ["ev-1", "ev-3"])
        let e = #expect(throws: VaultError.self) { _ = try f.vault.openRound("P2", actor: try f.actor("chair")) }
        #expect(e?.message.contains("names cm-1, not an enrolled, enabled evaluator") == true, "\(e?.message ?? "")")
        let dup = #expect(throws: VaultError.self) {
            _ = try RoundFile.parse("id = \"P3\"\nteams = [\"a\"]\npanel = [\"ev-1\", \"ev-1\"]\n[reveal]\nholders = [\"chair\"]\nthreshold = 1\n[[criteria]]\nid = \"c\"\nweight = 1\nmin = 0\nmax = 1\nstep = 1\n", file: "p.toml")
        }
        #expect(dup?.message.contains("p.toml:3: panel: ev-1 is listed twice") == true, "\(dup?.message ?? "")")
    }

    @Test("differencing: a copy of the vault that lost one evaluator's batch reveals nothing (65), whoever's client opens it")
    func differencingOnACopy() throws {
        let f = try RoundFixture()
        try f.makeRound()
        for (ev, n) in [("ev-1", "60"), ("ev-2", "70"), ("ev-3", "80"), ("ev-4", "90")] {
            try f.seal(ev, [("naver-cloud", "performance", n), ("sk-telecom", "performance", n)])
        }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let request = RevealRequest(round: "R1", stat: .mean, by: ["team"], trim: nil, advance: nil, precision: 2, format: .json)
        let m4 = try f.vault.reveal(request, actor: try f.actor("chair"), coHolders: [], publish: false)
        #expect(String(decoding: m4.output, as: UTF8.self).contains("\"n\":4"))
        // The copy: ev-4's batch deleted, as a holder of the key and a copy would try.
        try f.vault.database.truncateWAL()
        let copy = f.dir.path + "/copy"
        try FileManager.default.copyItem(atPath: f.location.directory, toPath: copy)
        let db = try Database(path: copy + "/vault.db", create: false)
        try db.execute("PRAGMA foreign_keys = OFF")
        let batch = try #require(f.vault.log.batches(ofRound: "R1").first { $0.evaluator == "ev-4" })
        try db.prepare("DELETE FROM batch_chunks WHERE batch = ?").bind(Hex.decode(batch.id)!).run()
        try db.prepare("DELETE FROM batches WHERE id = ?").bind(Hex.decode(batch.id)!).run()
        // Neither the chair's client nor a fresh one reveals from it.
        for state in [f.state.directory, f.dir.path + "/state-fresh"] {
            let vault = try Vault.open(at: VaultLocation(directory: copy), state: ClientState(directory: state))
            let e = #expect(throws: VaultError.self) {
                _ = try vault.reveal(request, actor: try f.actor("chair", in: vault), coHolders: [], publish: false)
            }
            #expect(e?.exitStatus == .dataError && e?.message.contains("is missing from vault.db") == true, "\(e?.message ?? "")")
        }
    }
}
