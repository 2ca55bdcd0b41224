import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// The vault folder is untrusted storage (design: invariants 10–12). Each test performs one
/// attack of the review on real files — a second SQLite connection edits vault.db as a writer
/// of the folder would, with every guard SQLite offers switched off — and asserts the refusal.
@Suite("Attacks by a writer of the vault folder", .serialized)
struct UntrustedFolderTests {
    /// A writer's connection: triggers dropped, constraints off.
    static func attacker(_ f: RoundFixture) throws -> Database {
        let db = try Database(path: f.location.databasePath, create: false)
        try db.execute("PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON; DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete")
        return db
    }

    static func mean(_ vault: Vault, _ f: RoundFixture, round: String = "R1", publish: Bool = false) throws -> RevealOutcome {
        try vault.reveal(RevealRequest(round: round, stat: .mean, by: ["team"], trim: nil, advance: nil, precision: 2, format: .json),
                         actor: try f.actor("chair", in: vault), coHolders: [], publish: publish)
    }

    static func expectIntegrity(_ what: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(what): not refused")
        } catch let e as VaultError {
            #expect(e.exitStatus == .dataError && e.message.contains("integrity"), "\(what): \(e.message)")
        } catch {
            Issue.record("\(what): \(error)")
        }
    }

    static func rows(_ n: String) -> [(String, String, String)] { RoundFixture.teams.map { ($0, "performance", n) } }

    /// Attack 1 as the review performed it: the batch deleted, its signed seal entry rewritten in
    /// place as an unsigned "wrong passphrase" failure, with its leaf hash recomputed.
    static func dropSeal(_ f: RoundFixture, _ receipt: Receipt) throws {
        let db = try attacker(f)
        let batch = Hex.decode(receipt.batch)!
        try db.prepare("DELETE FROM batch_chunks WHERE batch = ?").bind(batch).run()
        try db.prepare("DELETE FROM batches WHERE id = ?").bind(batch).run()
        let forged = AuditRecord(actor: "ev-1", authenticated: false, action: "seal", target: "round/R1", outcome: .failed,
                                 details: ["reason": .string("wrong passphrase")]).entry(seq: receipt.seq!, time: Timestamp.now())
        let bytes = CanonicalJSON.encode(forged)
        try db.prepare("UPDATE audit_log SET entry = ?, leaf_hash = ?, sig = NULL WHERE seq = ?").bind(bytes, Merkle.leafHash(bytes), receipt.seq).run()
    }

    @Test("1. a seal deleted and its entry rewritten as an unsigned failure: the evaluator's receipt says 'not counted', its client refuses the forked log, and a chair that saw the seal refuses to close")
    func sealDisappears() throws {
        let f = try RoundFixture()
        try f.makeRound()
        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, Self.rows("60")) }
        // ev-1 seals again from its own machine (its own client state).
        let evVault = try f.open(as: "ev-1")
        let sealed = try evVault.seal(Self.rows("90").map { ScoreInput(team: $0.0, criterion: $0.1, score: Fixed($0.2)!, comment: nil) },
                                      round: "R1", actor: try f.actor("ev-1", in: evVault))
        let receipt = sealed.receipt
        #expect(FileManager.default.fileExists(atPath: sealed.receiptPath))

        // The fixture's chair client looks at the vault after the seal (it has seen it).
        _ = try Vault.open(at: f.location, state: f.state)
        try Self.dropSeal(f, receipt)

        // The chair never saw the seal: it closes and publishes over the forged log...
        let chairVault = try Vault.open(at: f.location, state: ClientState(directory: f.dir.path + "/state-chair-late"))
        // (a fresh chair client; the fixture's chair client saw the seal, tested below)
        _ = try chairVault.closeRound("R1", actor: try f.actor("chair", in: chairVault))
        let published = try Self.mean(chairVault, f, publish: true)
        // ...but the evaluator's receipt does not verify against the result: "not counted".
        Self.expectIntegrity("receipt verify") { _ = try Receipt.verify(receipt, result: published.statement!) }
        #expect(throws: VaultError.self) { try Receipt.verify(receipt, result: published.statement!) }
        // And the evaluator's client refuses the vault: its log is not an extension of what it saw.
        Self.expectIntegrity("evaluator reopens") { _ = try f.open(as: "ev-1") }
        // A chair client that had seen the seal refuses the forged log before anything happens.
        Self.expectIntegrity("chair that saw it") { _ = try Vault.open(at: f.location, state: f.state) }
        // An honest receipt verifies against an honest result (the same check can pass).
        let g = try RoundFixture()
        try g.makeRound()
        for ev in ["ev-1", "ev-3", "ev-4"] { try g.seal(ev, Self.rows("70")) }
        let honest = try g.seal("ev-1", Self.rows("80")).receipt
        _ = try g.vault.closeRound("R1", actor: try g.actor("chair"))
        let result = try Self.mean(g.vault, g, publish: true)
        #expect(try Receipt.verify(honest, result: result.statement!).round == "R1")
    }

    @Test("1, with any signed entry after the seal: even a client that never saw the vault refuses, since every signature covers the history before it")
    func sealRewrittenUnderLaterSignatures() throws {
        let f = try RoundFixture()
        try f.makeRound()
        let victim = try f.seal("ev-1", Self.rows("90")).receipt
        for ev in ["ev-3", "ev-4"] { try f.seal(ev, Self.rows("60")) }  // signed entries after it
        try Self.dropSeal(f, victim)
        // A chair client that had never opened this vault: the next signed entry no longer verifies.
        do {
            _ = try Vault.open(at: f.location, state: ClientState(directory: f.dir.path + "/state-new-chair"))
            Issue.record("the rewritten history was accepted")
        } catch let e as VaultError {
            #expect(e.exitStatus == .dataError && e.message.contains("audit entry \(victim.seq! + 1)") && e.message.contains("signature that does not verify"),
                    "\(e.message)")
        }
    }

    @Test("2. old chair-signed rows put back: a reopened round and a re-enabled principal are refused")
    func replayRows() throws {
        let f = try RoundFixture()
        try f.makeRound()
        try f.seal("ev-1", Self.rows("60"))
        let db = try Self.attacker(f)
        func save(_ table: String, _ whereSQL: String) throws -> String {
            let s = try db.prepare("SELECT quote(\(try Self.columns(table, db).joined(separator: ") || ',' || quote("))) FROM \(table) WHERE \(whereSQL)")
            _ = try s.step()
            return s.text(0)
        }
        let openRow = try save("rounds", "id = 'R1'")
        let enabledRow = try save("principals", "id = 'ev-4'")
        try f.vault.disablePrincipal(PrincipalID("ev-4"), actor: try f.actor("chair"))
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        try db.execute("INSERT OR REPLACE INTO rounds VALUES (\(openRow)); INSERT OR REPLACE INTO principals VALUES (\(enabledRow))")
        let again = try f.open(as: "chair-next")
        Self.expectIntegrity("seal into the replayed open round") { try f.seal("ev-3", Self.rows("10")) }
        Self.expectIntegrity("reveal over the replayed round") { _ = try Self.mean(again, f) }
        Self.expectIntegrity("the replayed enabled principal acts") { _ = try f.actor("ev-4", in: again) }
    }

    static func columns(_ table: String, _ db: Database) throws -> [String] {
        let s = try db.prepare("PRAGMA table_info(\(table))")
        var out: [String] = []
        while try s.step() { out.append(s.text(1)) }
        return out
    }

    @Test("3. the chair's identity-key wrap swapped for one of a key the writer knows: refused before anything is encrypted under it")
    func wrapSwapped() throws {
        let f = try RoundFixture()
        let chair = try f.actor("chair")
        let known = SymmetricKey(randomByteCount: 32)
        let (enc, ct) = try HPKE.seal(known.bytes, to: chair.principal.publicKeys.agreement, info: f.vault.identityKeyWrapInfo(),
                                      authenticating: Array("chair".utf8))
        try Self.attacker(f).prepare("UPDATE key_wraps SET enc = ?, ct = ? WHERE purpose = 'identity-key' AND recipient = 'chair'").bind(enc, ct).run()
        let keys = PrivateKeys.generate()
        Self.expectIntegrity("enrol with an identity") {
            _ = try f.vault.addPrincipal(id: PrincipalID("ev-9"), role: .evaluator, publicKeys: keys.publicKeys,
                                         identity: "Real Name Omega", conflicts: [], actor: chair)
        }
        // Even a wrap whose row the log vouched for is checked against the key's commitment.
        #expect(Hex.encode(f.vault.identityKeyCommitment(known)) != f.vault.log.identityKeyCommitment)
        #expect(throws: VaultError.self) { try f.vault.principal(PrincipalID("ev-9"), verifiedWith: chair.chairKey) }
    }

    @Test("4. the newest policy deleted is refused; a policy applied after a round opened does not govern it")
    func policyRollback() throws {
        let f = try RoundFixture()
        try f.makeRound()
        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, Self.rows("60")) }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let denyAll = DefaultPolicy.source + "\n@id(\"no-reveals-now\")\nforbid (principal, action == Action::\"reveal\", resource);\n"
        #expect(try f.vault.applyPolicy(try PolicySet(source: denyAll, fileName: "deny.policy"), actor: try f.actor("chair")) == 2)
        // R1 opened under version 1 and stays governed by it.
        #expect(try f.vault.policy(for: try f.vault.round("R1", verifiedWith: f.vault.chairKey), chairKey: f.vault.chairKey).version == 1)
        let before = try Self.mean(f.vault, f).output
        // A round opened now is governed by version 2, which denies its reveals.
        try f.makeRound("R2")
        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, Self.rows("50"), round: "R2") }
        _ = try f.vault.closeRound("R2", actor: try f.actor("chair"))
        #expect(throws: VaultError.denied(policyIDs: ["no-reveals-now"])) { _ = try Self.mean(f.vault, f, round: "R2") }
        // The writer deletes version 2 to bring version 1 back for R2: refused.
        try Self.attacker(f).execute("DELETE FROM policies WHERE version = 2")
        let again = try f.open(as: "chair-next")
        Self.expectIntegrity("reveal after the rollback") { _ = try Self.mean(again, f, round: "R2") }
        Self.expectIntegrity("policy in force after the rollback") { _ = try again.policyInForce(chairKey: again.chairKey) }
        #expect(before.count > 0)
    }

    @Test("5. the chair replaced: a rewritten chair record and round key, or a whole new vault under the same id, is refused by a client that pinned the chair")
    func pinsHold() throws {
        let f = try RoundFixture()
        try f.makeRound()
        let ev = try f.open(as: "ev-1")
        _ = try f.actor("ev-1", in: ev)  // ev-1 has pinned the chair (its state is outside the vault)
        // The writer re-signs the chair record and the round with its own keys.
        let fake = PrivateKeys.generate()
        let round = try f.vault.round("R1", verifiedWith: f.vault.chairKey)
        let swapped = Round(config: round.config, state: .open, policyVersion: round.policyVersion,
                            publicKey: Curve25519.KeyAgreement.PrivateKey().publicKey, version: round.version, panel: round.panel)
        let chairRow = try f.vault.principal(PrincipalID("chair"), verifiedWith: f.vault.chairKey)
        let fakeChair = Principal(id: chairRow.id, role: .chair, publicKeys: fake.publicKeys, identityCiphertext: chairRow.identityCiphertext,
                                  conflicts: [], enabled: true, version: chairRow.version)
        let db = try Self.attacker(f)
        try db.prepare("UPDATE rounds SET public_key = ?, chair_sig = ? WHERE id = 'R1'")
            .bind(swapped.publicKey!.rawRepresentation, try fake.signing.signature(for: swapped.signedBytes(vaultID: f.vault.id))).run()
        try db.prepare("UPDATE principals SET x25519_pub = ?, ed25519_pub = ?, chair_sig = ? WHERE id = 'chair'")
            .bind(fake.publicKeys.agreement.rawRepresentation, fake.publicKeys.signing.rawRepresentation,
                  try fake.signing.signature(for: fakeChair.signedBytes(vaultID: f.vault.id))).run()
        let evAgain = try f.open(as: "ev-1")
        Self.expectIntegrity("seal to the swapped round key") {
            _ = try evAgain.seal([ScoreInput(team: "upstage", criterion: "performance", score: Fixed("50")!, comment: nil)],
                                 round: "R1", actor: try f.actor("ev-1", in: evAgain))
        }
        // A whole new vault under the same id, made by the writer: the first entry's chair key
        // is not the pinned one.
        let id = f.vault.id
        try FileManager.default.removeItem(atPath: f.location.directory)
        let state = ClientState(directory: f.dir.path + "/state-writer")
        _ = try Vault.initialize(at: f.location, chair: PrincipalID("chair"), passphrase: SecureBytes(Array("writer".utf8)),
                                 identity: nil, kdf: RoundFixture.kdf, state: state)
        let w = try Database(path: f.location.databasePath, create: false)
        try w.prepare("UPDATE vault_meta SET value = ? WHERE key = 'vault_id'").bind(id).run()
        Self.expectIntegrity("a new vault under the pinned id") { _ = try f.open(as: "ev-1") }
    }

    @Test("6. an older copy of vault.db restored: refused by every client that saw later, naming both sizes; no checkpoint is signed over it")
    func rollback() throws {
        let f = try RoundFixture()
        try f.makeRound()
        try f.seal("ev-1", Self.rows("60"))
        try f.vault.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let old = f.dir.path + "/old.db"
        try FileManager.default.copyItem(atPath: f.location.databasePath, toPath: old)
        try f.seal("ev-1", Self.rows("95"))  // an acknowledged correction
        _ = try f.vault.checkpointNow(actor: try f.actor("chair"))
        let seen = f.vault.log.size
        try f.vault.database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: f.location.databasePath + suffix) }
        try FileManager.default.removeItem(atPath: f.location.databasePath)
        try FileManager.default.copyItem(atPath: old, toPath: f.location.databasePath)
        do {
            _ = try Vault.open(at: f.location, state: f.state)
            Issue.record("the rollback was not noticed")
        } catch let e as VaultError {
            #expect(e.exitStatus == .dataError && e.message.contains("rolled back") && e.message.contains("\(seen)"), "\(e.message)")
        }
    }

    @Test("7. a seal racing round close: the state is read inside the seal's transaction, so nothing commits after close")
    func sealAfterClose() throws {
        let f = try RoundFixture()
        try f.makeRound()
        let evVault = try f.open(as: "ev-3")
        let ev = try f.actor("ev-3", in: evVault)
        evVault.beforeSealTransaction = { _ = try? f.vault.closeRound("R1", actor: try f.actor("chair")) }
        #expect(throws: VaultError.usage("round R1 is closed; nothing can be sealed into it any more")) {
            _ = try evVault.seal([ScoreInput(team: "upstage", criterion: "performance", score: Fixed("50")!, comment: nil)], round: "R1", actor: ev)
        }
        evVault.beforeSealTransaction = nil
        #expect(try f.vault.round("R1", verifiedWith: f.vault.chairKey).state == .closed)
        #expect(try f.vault.sealCounts("R1").batches == 0)
        #expect(try f.vault.manifest(of: "R1").items.isEmpty)
    }

    @Test("8. disabling looks forward: a disabled evaluator's earlier batches still count; it cannot act; principal enable restores it")
    func disableForward() throws {
        let f = try RoundFixture()
        try f.makeRound()
        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, Self.rows("60")) }
        try f.vault.disablePrincipal(PrincipalID("ev-4"), actor: try f.actor("chair"))
        #expect(throws: VaultError.self) { _ = try f.actor("ev-4") }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let out = String(decoding: try Self.mean(f.vault, f).output, as: UTF8.self)
        #expect(out.contains("\"n\":3"), "\(out)")
        try f.vault.enablePrincipal(PrincipalID("ev-4"), actor: try f.actor("chair"))
        #expect(try f.actor("ev-4").principal.enabled)
    }

    @Test("9. a result statement re-signed by the chair with two teams swapped fails verify-result: it is not the statement the log recorded")
    func resultBound() throws {
        let f = try RoundFixture()
        try f.makeRound()
        for (ev, n) in [("ev-1", "60"), ("ev-3", "70"), ("ev-4", "80")] {
            try f.seal(ev, [("naver-cloud", "performance", n), ("upstage", "performance", "10"), ("sk-telecom", "performance", "20")])
        }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let statement = try Self.mean(f.vault, f, publish: true).statement!
        let verified = try ResultStatement.verify(statement)
        #expect(verified.round == "R1" && verified.manifestLeaves.count == 3)
        // The chair re-signs a statement with naver-cloud's and upstage's values swapped.
        guard case .object(var body) = try JSONParser.parse(statement) else { Issue.record("not an object"); return }
        let log = body.removeValue(forKey: "log")!
        body.removeValue(forKey: "signature")
        let text = CanonicalJSON.string(.object(body)).replacingOccurrences(of: "\"70.00\"", with: "\"X\"")
            .replacingOccurrences(of: "\"10.00\"", with: "\"70.00\"").replacingOccurrences(of: "\"X\"", with: "\"10.00\"")
        #expect(text != CanonicalJSON.string(.object(body)))
        guard case .object(var swapped) = try JSONParser.parse(Array(text.utf8)) else { return }
        let chair = try f.actor("chair")
        swapped["signature"] = .string(Base64.encode(try chair.keys.signing.signature(for: CanonicalJSON.encode(.object(swapped)))))
        swapped["log"] = log
        Self.expectIntegrity("swapped statement") { _ = try ResultStatement.verify(CanonicalJSON.encode(.object(swapped))) }
        // Pinning the chair key: the right key passes, another is refused.
        _ = try ResultStatement.verify(statement, expectedChair: .key(chair.principal.publicKeys))
        _ = try ResultStatement.verify(statement, expectedChair: .fingerprint(chair.principal.publicKeys.fingerprint.description))
        Self.expectIntegrity("another chair key") { _ = try ResultStatement.verify(statement, expectedChair: .key(PrivateKeys.generate().publicKeys)) }
    }

    // MARK: Found by the hostile review of this version, each fixed

    @Test("review: a chair's open record with a lowered threshold is refused by the replay; one with a panel the row does not have is refused on load")
    func forgedOpenRecord() throws {
        let f = try RoundFixture()
        try f.makeRound(holders: ["chair", "cm-1", "cm-2"], threshold: 2, open: false)
        let chair = try f.actor("chair")
        let honest = try f.openedByHand(panel: ["ev-1", "ev-3"])
        func open(_ record: ObjectRecord, approvers: [String]) throws {
            let message = Round.openApprovalBytes(vaultID: f.vault.id, roundID: "R1", recordSHA256: record.sha256)
            let approvals: [JSONValue] = try approvers.map {
                .object(["holder": .string($0), "sig": .string(Base64.encode(try f.actor($0).keys.signing.signature(for: message)))])
            }
            try f.vault.write {
                _ = try f.vault.store(honest, signedBy: chair.keys.signing, replacing: true)
                _ = try f.vault.appendAudit(AuditRecord(actor: "chair", authenticated: true, action: "round.open", target: "round/R1",
                                                        decision: .allow, details: ["approvals": .array(approvals)]),
                                            signer: chair.keys.signing, objects: [record])
            }
        }
        var lowered = honest.objectRecord(vaultID: f.vault.id)
        lowered.threshold = 1
        let e = #expect(throws: VaultError.self) { try open(lowered, approvers: ["chair"]) }
        #expect(e?.message.contains("changes the reveal holders or threshold of round R1") == true, "\(e?.message ?? "")")
        var stuffed = honest.objectRecord(vaultID: f.vault.id)
        stuffed.panel = ["ev-1", "ev-3", "ev-4"]
        try open(stuffed, approvers: ["chair", "cm-1"])  // the replay alone cannot see the row...
        Self.expectIntegrity("a round whose record and row disagree") { _ = try f.open(as: "fresh").round("R1", verifiedWith: chair.chairKey) }
    }

    @Test("review: a declared conflict is a hard rule: refused at seal under a policy that would allow it")
    func conflictIsHard() throws {
        let f = try RoundFixture()
        _ = try f.vault.applyPolicy(try PolicySet(source: """
            @id("anything") permit (principal, action, resource);
            """, fileName: "open.policy"), actor: try f.actor("chair"))
        try f.makeRound()
        let e = #expect(throws: VaultError.self) { try f.seal("ev-2", [("upstage", "performance", "90")]) }
        #expect(e?.exitStatus == .noPermission && e?.message.contains("declared a conflict with team upstage") == true, "\(e?.message ?? "")")
        #expect(try f.vault.sealCounts("R1").batches == 0)
    }

    @Test("review: a vault replaced in place under a new id is refused by a client that knew the folder; a vault id that is a path is refused")
    func replacedInPlace() throws {
        let f = try RoundFixture()
        _ = try f.open(as: "ev-1")
        try FileManager.default.moveItem(atPath: f.location.directory, toPath: f.dir.path + "/vault.real")
        _ = try Vault.initialize(at: f.location, chair: PrincipalID("chair"), passphrase: SecureBytes(Array("writer".utf8)), identity: nil,
                                 kdf: RoundFixture.kdf, state: ClientState(directory: f.dir.path + "/state-writer"))
        do {
            _ = try f.open(as: "ev-1")
            Issue.record("the replaced vault was accepted")
        } catch let e as VaultError {
            #expect(e.exitStatus == .dataError && e.message.contains("held vault \(f.vault.id)"), "\(e.message)")
        }
        let db = try Database(path: f.location.databasePath, create: false)
        try db.execute("UPDATE vault_meta SET value = '../../../../tmp/x' WHERE key = 'vault_id'")
        Self.expectIntegrity("a vault id that is a path") { _ = try f.open(as: "someone-new") }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/x.json"))
    }

    @Test("review: shred destroys a round's key wraps even when a writer renamed one to look like something else")
    func shredIsComplete() throws {
        let f = try RoundFixture()
        try f.makeRound(holders: ["chair", "cm-1", "cm-2"], threshold: 2)
        for ev in ["ev-1", "ev-3", "ev-4"] { try Self.seal(f, ev) }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        try Self.attacker(f).execute("UPDATE key_wraps SET purpose = 'round-sharE' WHERE scope = 'R1' AND recipient IN ('chair', 'cm-1')")
        let vault = try f.open(as: "chair-later")
        Self.expectIntegrity("the renamed wraps are not the logged ones") { _ = try vault.roundPrivateKey(try vault.round("R1", verifiedWith: vault.chairKey), holders: [try f.actor("chair", in: vault), try f.actor("cm-1", in: vault)]) }
        // The writer hopes the renamed wraps survive the shred, to rename them back afterwards.
        _ = try vault.shredRound("R1", actor: try f.actor("chair", in: vault))
        let left = try Self.attacker(f).prepare("SELECT count(*) FROM key_wraps WHERE scope = 'R1'")
        _ = try left.step()
        #expect(left.int(0) == 0)
    }

    static func seal(_ f: RoundFixture, _ who: String) throws { try f.seal(who, Self.rows("60")) }
}
