import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// A vault with a chair, two committee members and three evaluators (ev-2 conflicted with
/// upstage), each with a key file in the test's folder, and helpers to act as any of them.
final class RoundFixture: @unchecked Sendable {
    let dir = TemporaryFolder("evalvault-round")
    let location: VaultLocation
    /// The chair's machine: its client state folder.
    let state: ClientState
    let vault: Vault
    static let kdf = try! Scrypt.Parameters(log2N: 10)

    init() throws {
        location = VaultLocation(directory: dir.path + "/vault")
        state = ClientState(directory: dir.path + "/state-chair")
        _ = try Vault.initialize(at: location, chair: PrincipalID("chair"), passphrase: SecureBytes(Array("pw-chair".utf8)),
                                 identity: "Chair Identity Zeta", kdf: Self.kdf, state: state)
        vault = try Vault.open(at: location, state: state)
        let chair = try actor("chair")
        for (id, role, conflicts) in [("cm-1", Role.committee, [String]()), ("cm-2", .committee, []), ("ev-1", .evaluator, []),
                                      ("ev-2", .evaluator, ["upstage"]), ("ev-3", .evaluator, []), ("ev-4", .evaluator, []),
                                      ("au-1", .auditor, [])] {
            let keys = PrivateKeys.generate()
            try KeyFile.write(keys, to: dir.path + "/\(id)", passphrase: SecureBytes(Array("pw-\(id)".utf8)), kdf: Self.kdf)
            _ = try vault.addPrincipal(id: PrincipalID(id), role: role, publicKeys: keys.publicKeys,
                                       identity: "Identity of \(id) Quetzal", conflicts: conflicts, actor: chair)
        }
    }

    func keyPath(_ id: String) -> String? { id == "chair" ? nil : dir.path + "/\(id).key" }

    /// The vault as another person's client opens it: its own state folder under the test's.
    func open(as person: String) throws -> Vault {
        try Vault.open(at: location, state: ClientState(directory: dir.path + "/state-\(person)"))
    }

    func actor(_ id: String, action: String = "test", passphrase: String? = nil, in other: Vault? = nil) throws -> Actor {
        let file = dir.path + "/pass-\(UUID().uuidString)"
        try Data((passphrase ?? "pw-\(id)").utf8).write(to: URL(fileURLWithPath: file))
        defer { unlink(file) }
        return try (other ?? vault).authenticate(PrincipalID(id), keyPath: keyPath(id),
                                      passphrase: PassphraseSource(file: file, environmentVariable: "UNUSED", subject: id),
                                      action: action, target: "test")
    }

    static let teams = ["naver-cloud", "upstage", "sk-telecom"]

    /// The reveals the tests' rounds declare (what the tests reveal under the default policy).
    static let declared = """
        [[publish]]
        stat = "mean"
        by = ["team"]
        [[publish]]
        stat = "mean"
        by = ["team", "criterion"]
        [[publish]]
        stat = "weighted_total"
        by = ["team"]
        [[publish]]
        stat = "rank"
        by = ["team"]
        advance = 1
        [[publish]]
        stat = "rank"
        by = ["team"]
        advance = 2
        """

    /// A round with two criteria (one on a 0.5 grid), the given reveal rule and declared reveals.
    func makeRound(_ id: String = "R1", holders: [String] = ["chair"], threshold: Int = 1, open: Bool = true,
                   publish: String = RoundFixture.declared) throws {
        let toml = """
            id = "\(id)"
            teams = [\(Self.teams.map { "\"\($0)\"" }.joined(separator: ", "))]
            [reveal]
            holders = [\(holders.map { "\"\($0)\"" }.joined(separator: ", "))]
            threshold = \(threshold)
            [[criteria]]
            id = "performance"
            weight = 40
            min = 0
            max = 100
            step = 0.5
            [[criteria]]
            id = "safety"
            weight = 25
            min = 1
            max = 5
            step = 1
            \(publish)
            """
        try vault.createRound(try RoundFile.parse(toml, file: "r.toml"), actor: try actor("chair"))
        // k of the holders approve the panel: here all of them take part.
        if open { _ = try vault.openRound(id, actor: try actor("chair"), coHolders: try holders.filter { $0 != "chair" }.map { try actor($0) }) }
    }

    /// A draft round as modified chair software could open it by hand (not stored): a new key,
    /// the next version, the given panel.
    func openedByHand(_ id: String = "R1", panel: [String]) throws -> Round {
        let draft = try vault.round(id, verifiedWith: try vault.chairKey)
        return Round(config: draft.config, state: .open, policyVersion: 1, publicKey: Curve25519.KeyAgreement.PrivateKey().publicKey,
                     version: draft.version + 1, panel: try panel.map { try PrincipalID($0) })
    }

    @discardableResult
    func seal(_ who: String, _ rows: [(String, String, String)], round: String = "R1", comment: String? = nil) throws -> SealReceipt {
        try vault.seal(rows.map { ScoreInput(team: $0.0, criterion: $0.1, score: Fixed($0.2)!, comment: comment) }, round: round, actor: try actor(who))
    }

    func open(_ round: String = "R1", holders: [String] = ["chair"]) throws -> OpenedRound {
        let chair = try actor("chair")
        let r = try vault.round(round, verifiedWith: chair.chairKey)
        let key = try vault.roundPrivateKey(r, holders: try holders.map { try actor($0) })
        return try vault.openRound(r, privateKey: key, chairKey: chair.chairKey)
    }
}

@Suite("Sealing (design: Concepts, Cryptography)")
struct SealingTests {
    @Test("sealed scores open only with the round key, exactly as sealed; re-sealing supersedes")
    func roundTrip() throws {
        let f = try RoundFixture()
        try f.makeRound()
        try f.seal("ev-1", [("upstage", "performance", "81.5"), ("upstage", "safety", "4")], comment: "strong, but slow")
        try f.seal("ev-3", [("naver-cloud", "performance", "0"), ("sk-telecom", "performance", "100")])
        for score in ["60", "75.5", "90"] { try f.seal("ev-1", [("upstage", "performance", score)]) }  // the last one counts
        // 7 scores were sealed; 4 count (the latest per evaluator and place).
        let latest = try f.open()
        #expect(latest.scores.count == 4)
        func units(_ ev: String, _ team: String, _ c: String) -> Int64? {
            latest.scores.first { latest.evaluatorID(of: $0) == ev && latest.teamID(of: $0) == team && latest.criterionID(of: $0) == c }?.units
        }
        #expect(units("ev-1", "upstage", "performance") == 180)  // 90 / 0.5, the re-seal
        #expect(units("ev-1", "upstage", "safety") == 3)         // (4 - 1) / 1
        #expect(units("ev-3", "naver-cloud", "performance") == 0)
        #expect(units("ev-3", "sk-telecom", "performance") == 200)
    }

    @Test("an evaluator's keys cannot open any seal, nor unwrap the round key")
    func evaluatorCannotOpen() throws {
        let f = try RoundFixture()
        try f.makeRound("R2", holders: ["chair", "cm-1", "cm-2"], threshold: 2)
        try f.seal("ev-1", [("upstage", "performance", "70")], round: "R2")
        let ev = try f.actor("ev-1")
        let r = try f.vault.round("R2", verifiedWith: ev.chairKey)
        // Not a holder: no wrap to unwrap, so no key, whatever it holds.
        #expect(throws: VaultError.self) { try f.vault.roundPrivateKey(r, holders: [ev]) }
        #expect(throws: VaultError.self) { try f.vault.roundPrivateKey(r, holders: [ev, try f.actor("ev-3")]) }
        // Its own X25519 key opens no batch and no key wrap in the vault.
        let s = try f.vault.database.prepare("SELECT b.header, c.ct FROM batches b JOIN batch_chunks c ON c.batch = b.id")
        var tried = 0
        while try s.step() {
            let header = s.blob(0)
            let (h, _) = try BatchFormat.Header.parse(header, file: "vault.db")
            let recipient = try HPKE.Recipient(privateKey: ev.keys.agreement, encapsulatedKey: h.enc, info: BatchFormat.info(vault: f.vault.id, round: "R2"))
            let key = try recipient.exportSecret(context: BatchFormat.payloadKeyContext(header: header), outputByteCount: 32)
            let ct = s.blob(1)
            var out = [UInt8](repeating: 0, count: ct.count - 16)
            let cipher = try AES.GCM.KeyedCipher(key: SymmetricKey(key))
            let nonce = BatchFormat.nonce(0, last: true)
            let opened = ct.withUnsafeBytes { c in
                nonce.withUnsafeBytes { n in
                    out.withUnsafeMutableBytes { cipher.open(c, nonce: n, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: $0) }
                }
            }
            #expect(!opened)
            tried += 1
        }
        let wraps = try f.vault.database.prepare("SELECT enc, ct FROM key_wraps")
        while try wraps.step() {
            #expect(throws: CryptoError.self) {
                try HPKE.open(wraps.blob(1), encapsulatedKey: wraps.blob(0), using: ev.keys.agreement, info: Vault.roundKeyInfo(vaultID: f.vault.id, roundID: "R2"),
                              authenticating: Array("round-share:ev-1".utf8))
            }
            tried += 1
        }
        #expect(tried >= 4)
        // One holder is not enough; two are; a third changes nothing.
        #expect(throws: VaultError.self) { try f.open("R2", holders: ["chair"]) }
        #expect(try f.open("R2", holders: ["chair", "cm-2"]).scores.count == 1)
        #expect(try f.open("R2", holders: ["cm-1", "cm-2", "chair"]).scores.count == 1)
    }

    @Test("a batch's stored chunks, header, count or signature changed in vault.db is caught when the round is opened", arguments: [
        "UPDATE batch_chunks SET ct = randomblob(length(ct))",
        "UPDATE batch_chunks SET ct = substr(ct, 1, length(ct) - 1)",
        "UPDATE batch_chunks SET n = 1",
        "DELETE FROM batch_chunks",
        "INSERT INTO batch_chunks SELECT batch, n + 1, ct FROM batch_chunks",
        "UPDATE batches SET header = randomblob(length(header))",
        "UPDATE batches SET signature = randomblob(64)",
        "UPDATE batches SET count = 1",
        "UPDATE batches SET chunks = 2",
    ])
    func moved(sql: String) throws {
        let f = try RoundFixture()
        try f.makeRound()
        try f.seal("ev-1", [("upstage", "performance", "81.5"), ("upstage", "safety", "4")])
        try f.vault.database.execute("PRAGMA foreign_keys = OFF")
        try f.vault.database.execute(sql)
        let e = #expect(throws: VaultError.self) { try f.open() }
        #expect(e?.exitStatus == .dataError)
        #expect(e?.message.contains("integrity") == true && e?.message.contains("batch") == true, "\(e?.message ?? "")")
    }

    @Test("a batch moved to another round, swapped between batches, or deleted is caught")
    func movedBatches() throws {
        let f = try RoundFixture()
        try f.makeRound("R1")
        try f.makeRound("R2")
        try f.seal("ev-1", [("upstage", "performance", "81.5")], round: "R1")
        try f.seal("ev-3", [("upstage", "performance", "50")], round: "R2")
        try f.seal("ev-3", [("sk-telecom", "performance", "50")], round: "R2")
        try f.vault.database.execute("UPDATE batches SET round = 'R2' WHERE round = 'R1'")
        #expect(throws: VaultError.self) { try f.open("R2") }
        try f.vault.database.execute("UPDATE batches SET round = 'R1' WHERE id = (SELECT min(id) FROM batches)")
        // Deleting a batch (and its seals) is caught: its signed seal entry still names it.
        let g = try RoundFixture()
        try g.makeRound()
        try g.seal("ev-1", [("upstage", "performance", "81.5")])
        try g.seal("ev-3", [("upstage", "performance", "20")])
        try g.vault.database.execute("PRAGMA foreign_keys = OFF")
        // One batch's chunk put in place of the other's: the payload key is bound to the header.
        try g.vault.database.execute("""
            UPDATE batch_chunks SET ct = (SELECT c2.ct FROM batch_chunks c2 WHERE c2.batch != batch_chunks.batch)
            WHERE batch = (SELECT min(id) FROM batches)
            """)
        let swapped = #expect(throws: VaultError.self) { try g.open() }
        #expect(swapped?.message.contains("does not open") == true, "\(swapped?.message ?? "")")
        try g.vault.database.execute("DELETE FROM batch_chunks WHERE batch = (SELECT min(id) FROM batches); DELETE FROM batches WHERE id = (SELECT min(id) FROM batches)")
        let e = #expect(throws: VaultError.self) { try g.open() }
        #expect(e?.message.contains("integrity") == true && e?.message.contains("is missing from vault.db") == true, "\(e?.message ?? "")")
    }

    @Test("conflicted, disabled, and after-close seals are denied and store nothing")
    func denials() throws {
        let f = try RoundFixture()
        try f.makeRound()
        let conflicted = #expect(throws: VaultError.self) { try f.seal("ev-2", [("sk-telecom", "performance", "60"), ("upstage", "performance", "60")]) }
        #expect(conflicted == .denied(policyIDs: ["no-seal-with-conflict"]))
        #expect(try f.vault.sealCounts("R1").batches == 0)
        try f.seal("ev-2", [("sk-telecom", "performance", "60")])
        try f.vault.disablePrincipal(PrincipalID("ev-3"), actor: try f.actor("chair"))
        let disabled = #expect(throws: VaultError.self) { try f.seal("ev-3", [("sk-telecom", "performance", "60")]) }
        #expect(disabled?.exitStatus == .noPermission && disabled?.message.contains("disabled") == true)
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let closed = #expect(throws: VaultError.self) { try f.seal("ev-1", [("sk-telecom", "performance", "60")]) }
        #expect(closed == .denied(policyIDs: [], reason: "round R1 is closed; the policy permits seal only when it is open"))
        #expect(try f.vault.sealCounts("R1").batches == 1)
        // Disabling looks forward: a disabled evaluator's earlier batch still counts.
        let g = try RoundFixture()
        try g.makeRound()
        try g.seal("ev-3", [("sk-telecom", "performance", "60")])
        try g.vault.disablePrincipal(PrincipalID("ev-3"), actor: try g.actor("chair"))
        #expect(try g.open().evaluators == ["ev-3"])
    }

    @Test("scores are checked against the grid, team and criterion before anything is sealed")
    func validation() throws {
        let f = try RoundFixture()
        try f.makeRound()
        for (team, criterion, score, fragment) in [
            ("upstage", "performance", "81.3", "use 0 to 100 in steps of 0.5"), ("upstage", "performance", "100.5", "use 0 to 100"),
            ("upstage", "safety", "0", "use 1 to 5 in steps of 1"), ("upstage", "safety", "2.5", "in steps of 1"),
            ("openai", "safety", "2", "team \"openai\" is not in round R1"), ("upstage", "speed", "2", "criterion \"speed\" is not in round R1"),
        ] {
            let e = #expect(throws: VaultError.self) { try f.seal("ev-1", [(team, criterion, score)]) }
            #expect(e?.exitStatus == .dataError && e?.message.contains(fragment) == true, "\(e?.message ?? "")")
        }
        let csv = Array("team,criterion,score,comment\nupstage,performance,80,ok\nupstage,safety,9,\"too high\"\nsk-telecom,safety,3,\n".utf8)
        let e = #expect(throws: VaultError.self) {
            try f.vault.seal(try ScoreSheet.fromCSV(csv, file: "s.csv"), round: "R1", actor: try f.actor("ev-1"), file: "s.csv")
        }
        #expect(e?.message.hasPrefix("s.csv:3: score 9 is not allowed for criterion safety") == true)
        #expect(e?.message.hasSuffix("nothing was sealed") == true)
        let twice = #expect(throws: VaultError.self) { try f.seal("ev-1", [("upstage", "safety", "3"), ("upstage", "safety", "4")]) }
        #expect(twice?.message.contains("scored twice") == true)
        #expect(try f.vault.sealCounts("R1").batches == 0)
    }

    @Test("a round key swapped by a writer of vault.db is refused by an evaluator who pinned the chair")
    func pinnedChair() throws {
        let f = try RoundFixture()
        try f.makeRound()
        try f.seal("ev-1", [("upstage", "performance", "81.5")])  // pins the chair's key
        // The attacker writes vault.db: a new chair key, the chair's record re-signed with it,
        // and the round re-signed with a round key of the attacker's.
        let forger = PrivateKeys.generate()
        let chair = try f.vault.principal(PrincipalID("chair"), verifiedWith: try f.actor("chair").chairKey)
        let fakeChair = Principal(id: chair.id, role: .chair, publicKeys: forger.publicKeys, identityCiphertext: nil, conflicts: [], enabled: true, version: 9)
        try f.vault.database.prepare("UPDATE principals SET x25519_pub = ?, ed25519_pub = ?, identity_ct = NULL, version = 9, chair_sig = ? WHERE id = 'chair'")
            .bind(forger.publicKeys.agreement.rawRepresentation, forger.publicKeys.signing.rawRepresentation,
                  try forger.signing.signature(for: fakeChair.signedBytes(vaultID: f.vault.id))).run()
        let round = try f.vault.round("R1", verifiedWith: chair.publicKeys.signing)
        let evil = Curve25519.KeyAgreement.PrivateKey()
        let swapped = Round(config: round.config, state: .open, policyVersion: round.policyVersion, publicKey: evil.publicKey, version: round.version + 1, panel: round.panel)
        try f.vault.database.prepare("UPDATE rounds SET public_key = ?, version = ?, chair_sig = ? WHERE id = 'R1'")
            .bind(evil.publicKey.rawRepresentation, swapped.version, try forger.signing.signature(for: swapped.signedBytes(vaultID: f.vault.id))).run()
        let e = #expect(throws: VaultError.self) { try f.seal("ev-1", [("upstage", "safety", "3")]) }
        #expect(e?.message.contains("integrity") == true)
        #expect(try f.vault.sealCounts("R1").batches == 1)
        // A fresh client with no pin replays the log from its first entry, signed by the real
        // chair: it pins the real key, and the forged round is refused for it too.
        let e2 = #expect(throws: VaultError.self) { _ = try f.open(as: "ev-3-new") }
        #expect(e2?.message.contains("integrity") == true && e2?.message.contains("principal chair") == true)
    }

    @Test("no score, comment, identity or passphrase in vault.db, its WAL or Keys/ (design: invariant 1)")
    func confidentialityAtRest() throws {
        let f = try RoundFixture()
        try f.makeRound()
        let comment = "Comment-Xylophone-Marker"
        try f.seal("ev-1", [("upstage", "performance", "93.5"), ("upstage", "safety", "4")], comment: comment)
        try f.seal("ev-3", [("naver-cloud", "performance", "17.5")], comment: comment)
        // Keep the WAL alive: a second connection mid-use, as during a command.
        let other = try Vault.open(at: f.location)
        _ = try other.sealCounts("R1")
        let files = f.dir.allFiles().filter { $0.hasPrefix(f.location.directory) }
        #expect(files.contains { $0.hasSuffix("vault.db-wal") }, "the WAL should exist while a connection is open: \(files)")
        var needles: [[UInt8]] = ["93.5", "17.5", comment, "Quetzal", "Chair Identity Zeta", "pw-chair", "pw-ev-1"].map { Array($0.utf8) }
        // The plaintext encoding of each score (version byte, then units as Int64 big-endian).
        for units: Int64 in [187, 3, 35] { needles.append([1] + (0..<8).map { UInt8(truncatingIfNeeded: units >> (8 * (7 - $0))) }) }
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            for n in needles { #expect(!bytes.contains(bytes: n), "\(file) holds \(String(decoding: n, as: UTF8.self))") }
        }
    }
}

@Suite("Round files and CSV")
struct RoundFileTests {
    static let valid = """
        id = "2025-R1"
        teams = ["a", "b"]
        [reveal]
        holders = ["chair", "cm-1"]
        threshold = 2
        [[criteria]]
        id = "p"
        weight = 40
        min = 0
        max = 100
        step = 0.5
        [[criteria]]
        id = "q"
        weight = 2.5
        min = 0
        max = 1
        step = 0.1
        """

    @Test("a valid file loads exactly (0.1 stays 0.1)")
    func valid() throws {
        let c = try RoundFile.parse(Self.valid, file: "r.toml")
        #expect(c.id == "2025-R1" && c.teams == ["a", "b"] && c.reveal.threshold == 2)
        #expect(c.criteria[1].step == Fixed("0.1")! && c.criteria[1].stepCount == 10 && c.criteria[1].weight == Fixed("2.5")!)
        #expect(try c.criteria[1].units(of: Fixed("0.3")!) == 3)
    }

    @Test("each invalid field is reported with file, line and key", arguments: [
        ("weight = 40", "weight = 0", "r.toml:8: criteria[1].weight: must be greater than 0 (is 0)"),
        ("weight = 40", "weight = -3", "r.toml:8: criteria[1].weight: must be greater than 0 (is -3)"),
        ("min = 0\nmax = 100", "min = 100\nmax = 100", "r.toml:9: criteria[1].min: must be less than max (100 ≥ 100)"),
        ("step = 0.5", "step = 0.3", "r.toml:11: criteria[1].step: 0.3 does not divide the range 0 to 100"),
        ("threshold = 2", "threshold = 3", "r.toml:5: reveal.threshold: is 3 but there are only 2 holders"),
        ("id = \"q\"", "id = \"p\"", "r.toml:13: criteria[2].id: criterion \"p\" is defined twice"),
        ("teams = [\"a\", \"b\"]", "teams = [\"a\", \"a\"]", "r.toml:2: teams: team \"a\" is listed twice"),
        ("holders = [\"chair\", \"cm-1\"]", "holders = [\"chair\", \"chair\"]", "r.toml:4: reveal.holders: holder chair is listed twice"),
        ("id = \"2025-R1\"", "id = \"2025 R1\"", "r.toml:1: id: \"2025 R1\" is not a valid round id (letters, digits, '-', '_', '.')"),
        ("step = 0.5", "step = 0.5\ncolour = \"red\"", "r.toml:12: criteria[1].colour: unknown key"),
        ("threshold = 2", "threshold = 2\n[oops", "r.toml:6:6: expected ']' to close the table header"),
    ])
    func invalid(find: String, replace: String, expected: String) {
        let e = #expect(throws: VaultError.self) { try RoundFile.parse(Self.valid.replacingOccurrences(of: find, with: replace), file: "r.toml") }
        #expect(e?.exitStatus == .dataError)
        #expect(e?.message.components(separatedBy: "\n").contains { $0.hasPrefix(expected) } == true, "\(e?.message ?? "")")
    }

    @Test("holders must be enrolled chair or committee members")
    func holders() throws {
        let f = try RoundFixture()
        for (holders, fragment) in [(["chair", "ev-1"], "reveal holder ev-1 is evaluator, not chair or committee"),
                                    (["chair", "cm-9"], "reveal holder cm-9 is not enrolled")] {
            let toml = RoundFileTests.valid.replacingOccurrences(of: "holders = [\"chair\", \"cm-1\"]",
                                                                 with: "holders = [\(holders.map { "\"\($0)\"" }.joined(separator: ", "))]")
            let e = #expect(throws: VaultError.self) { try f.vault.createRound(try RoundFile.parse(toml, file: "r"), actor: try f.actor("chair")) }
            #expect(e?.message.contains(fragment) == true, "\(e?.message ?? "")")
        }
    }

    /// Round B: 400 teams × 100 criteria, so one batch can hold 40,000 distinct places.
    static func makeBulkRound(_ f: RoundFixture) throws {
        let teams = 400, criteria = 100
        let toml = "id = \"B\"\nteams = [\((0..<teams).map { "\"t\($0)\"" }.joined(separator: ","))]\n[reveal]\nholders = [\"chair\"]\nthreshold = 1\n"
            + (0..<criteria).map { "[[criteria]]\nid = \"c\($0)\"\nweight = 1\nmin = 0\nmax = 100\nstep = 0.5\n" }.joined()
        try f.vault.createRound(try RoundFile.parse(toml, file: "b.toml"), actor: try f.actor("chair"))
        _ = try f.vault.openRound("B", actor: try f.actor("chair"))
    }

    @Test("a store failure in the middle of the seal pipeline leaves nothing: no batch, no seal, no 'ok' audit entry")
    func pipelineFailureRollsBack() throws {
        let f = try RoundFixture()
        try Self.makeBulkRound(f)
        // The tenth chunk's insert fails (records 36,864 on), after the first 32,768 rows were read.
        try f.vault.database.execute("""
            CREATE TRIGGER fail_midway BEFORE INSERT ON batch_chunks WHEN NEW.n = 9
            BEGIN SELECT RAISE(ABORT, 'injected failure'); END
            """)
        let evaluator = try f.actor("ev-1")
        let before = try f.vault.auditSize()
        let inputs = (0..<40_000).map { ScoreInput(team: "t\($0 / 100)", criterion: "c\($0 % 100)", score: Fixed(50), comment: nil) }
        var ticks: [Int] = []
        let e = #expect(throws: VaultError.self) { try f.vault.seal(inputs, round: "B", actor: evaluator) { done, _ in ticks.append(done) } }
        #expect(e?.message.contains("injected failure") == true, "\(e?.message ?? "")")
        #expect(ticks.contains(32_768), "rows were sealed and stored before the failure")
        let counts = try f.vault.sealCounts("B")
        #expect(counts.batches == 0 && counts.scores == 0)
        let rows = try f.vault.database.prepare("SELECT count(*) FROM batch_chunks")
        #expect(try rows.step() && rows.int(0) == 0)
        #expect(try f.vault.auditSize() == before, "no audit entry claims a seal")
        try f.vault.database.execute("DROP TRIGGER fail_midway")
        #expect(try f.vault.seal(inputs, round: "B", actor: evaluator).count == 40_000)
    }

    @Test("a bulk seal bigger than one pipeline chunk and one reading group opens to exactly what was sealed")
    func bulkRoundTrip() throws {
        let f = try RoundFixture()
        try Self.makeBulkRound(f)
        let criteria = 100
        // 40,000 scores from one CSV (two chunks), then two more batches: over 65,536 in all (two groups).
        var rng = SeededRandom(seed: 20261129)
        var expected: [String: Int64] = [:]
        var csv = "team,criterion,score,comment\n"
        for i in 0..<40_000 {
            let units = Int64(rng.next() % 201)
            expected["ev-1/t\(i / criteria)/c\(i % criteria)"] = units
            csv += "t\(i / criteria),c\(i % criteria),\(Fixed(micros: units * 500_000))\(i % 997 == 0 ? ",\"a, comment\"" : ",")\n"
        }
        let path = f.dir.path + "/bulk.csv"
        try Data(csv.utf8).write(to: URL(fileURLWithPath: path))
        var ticks: [Int] = []
        let receipt = try f.vault.seal(try ScoreSheet.fromCSV(file: path), round: "B", actor: try f.actor("ev-1"), file: path) { done, _ in ticks.append(done) }
        // Progress is the CSV's bytes read (the file is streamed; its rows are not counted first).
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(receipt.count == 40_000 && ticks.last == size && ticks.count >= 1)
        for ev in ["ev-3", "ev-4"] {
            var inputs: [ScoreInput] = []
            for i in 0..<15_000 {
                let units = Int64(rng.next() % 201)
                expected["\(ev)/t\(i / criteria)/c\(i % criteria)"] = units
                inputs.append(ScoreInput(team: "t\(i / criteria)", criterion: "c\(i % criteria)", score: Fixed(micros: units * 500_000), comment: nil))
            }
            _ = try f.vault.seal(inputs, round: "B", actor: try f.actor(ev))
        }
        let opened = try f.open("B")
        #expect(opened.scores.count == 70_000)
        var mismatches = 0
        for s in opened.scores where expected["\(opened.evaluatorID(of: s))/\(opened.teamID(of: s))/\(opened.criterionID(of: s))"] != s.units { mismatches += 1 }
        #expect(mismatches == 0)
        #expect(Set(opened.scores.map { "\(opened.evaluatorID(of: $0))/\(opened.teamID(of: $0))/\(opened.criterionID(of: $0))" }) == Set(expected.keys))
    }

    @Test("RFC 4180: quotes, doubled quotes, commas and line breaks in fields, CRLF; errors name the line")
    func csv() throws {
        let text = "team,criterion,score,comment\r\nupstage,performance,81.5,\"fast, \"\"clean\"\"\nand tidy\"\r\n\r\nnc-ai,safety,3,\n"
        let r = try CSVReader.parse(Array(text.utf8), file: "f.csv")
        #expect(r.map(\.line) == [1, 2, 5])
        #expect(r[1].fields == ["upstage", "performance", "81.5", "fast, \"clean\"\nand tidy"])
        #expect(r[2].fields == ["nc-ai", "safety", "3", ""])
        for (bad, message) in [("a,b\"c\n", "f.csv:1: a quote inside an unquoted field"), ("a,\"b\"c\n", "f.csv:1: text after a closing quote"),
                               ("x\n\"open", "f.csv:2: a quoted field is never closed")] {
            let e = #expect(throws: VaultError.self) { try CSVReader.parse(Array(bad.utf8), file: "f.csv") }
            #expect(e?.message.hasPrefix(message) == true, "\(e?.message ?? "")")
        }
        let e = #expect(throws: VaultError.self) { try ScoreSheet.fromCSV(Array("team,criterion,score\na,b\nc,d,x\n".utf8), file: "s.csv") }
        #expect(e?.message == "s.csv:2: expected 3 fields, found 2\ns.csv:3: \"x\" is not a number\nnothing was sealed")
        #expect(throws: VaultError.self) { try ScoreSheet.fromCSV(Array("team,score\n".utf8), file: "s.csv") }
    }

    @Test("Fixed: exact parsing and printing")
    func fixed() {
        #expect(Fixed("81.5")?.micros == 81_500_000 && Fixed("-0.25")?.description == "-0.25" && Fixed("100")?.description == "100")
        for bad in ["", ".", "1.", ".5", "1e3", "1.0000001", "abc", "1,5", "99999999999999"] { #expect(Fixed(bad) == nil, "\(bad)") }
    }
}

@Suite("Shredding and passphrase change")
struct ShredTests {
    @Test("after round shred no byte of the key wraps remains in vault.db or its WAL, and the round cannot be opened")
    func shred() throws {
        let f = try RoundFixture()
        try f.makeRound("R2", holders: ["chair", "cm-1", "cm-2"], threshold: 2)
        try f.seal("ev-1", [("upstage", "performance", "70")], round: "R2")
        let wraps = try f.vault.database.prepare("SELECT ct FROM key_wraps WHERE scope = 'R2'")
        var secrets: [[UInt8]] = []
        while try wraps.step() { secrets.append(wraps.blob(0)) }
        #expect(secrets.count == 3)
        let chair = try f.actor("chair")
        #expect(throws: VaultError.self) { try f.vault.shredRound("R2", actor: chair) }  // still open
        _ = try f.vault.closeRound("R2", actor: chair)
        #expect(try f.vault.shredRound("R2", actor: chair) == 3)
        for file in f.dir.allFiles() where file.hasPrefix(f.location.directory) {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            for s in secrets { #expect(!bytes.contains(bytes: Array(s.prefix(24))), "\(file) still holds a shredded wrap") }
        }
        let r = try f.vault.round("R2", verifiedWith: chair.chairKey)
        #expect(r.state == .shredded)
        #expect(throws: VaultError.self) { try f.vault.roundPrivateKey(r, holders: [chair, try f.actor("cm-1")]) }
        let e = #expect(throws: VaultError.self) {
            try f.vault.reveal(RevealRequest(round: "R2", stat: .mean, by: ["team"], trim: nil, advance: nil, precision: 2, format: .table),
                               actor: chair, coHolders: [try f.actor("cm-1")], publish: false)
        }
        #expect(e?.exitStatus == .noInput && e?.message.contains("shredded") == true)
    }

    @Test("a passphrase change keeps the keys, needs the old passphrase, and refuses a world-readable file")
    func changePassphrase() throws {
        let dir = TemporaryFolder()
        let keys = PrivateKeys.generate()
        let kdf = try Scrypt.Parameters(log2N: 10)
        try KeyFile.write(keys, to: dir.path + "/k", passphrase: SecureBytes(Array("old".utf8)), kdf: kdf)
        #expect(throws: VaultError.self) { try KeyFile.changePassphrase(path: dir.path + "/k.key", old: SecureBytes(Array("wrong".utf8)), new: SecureBytes(Array("new".utf8)), kdf: nil) }
        try KeyFile.changePassphrase(path: dir.path + "/k.key", old: SecureBytes(Array("old".utf8)), new: SecureBytes(Array("new".utf8)), kdf: nil)
        #expect(Files.mode(dir.path + "/k.key") == 0o600)
        #expect(throws: VaultError.self) { try KeyFile.load(path: dir.path + "/k.key", passphrase: SecureBytes(Array("old".utf8))) }
        #expect(try KeyFile.load(path: dir.path + "/k.key", passphrase: SecureBytes(Array("new".utf8))).publicKeys == keys.publicKeys)
        chmod(dir.path + "/k.key", 0o644)
        #expect(throws: VaultError.self) { try KeyFile.changePassphrase(path: dir.path + "/k.key", old: SecureBytes(Array("new".utf8)), new: SecureBytes(Array("x".utf8)), kdf: nil) }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.sorted() == ["k.key", "k.pub"], "no temporary file left behind")
    }
}

/// Inputs the fuzzers found that used to crash the process; each must now be a clean error.
@Suite("Fuzzer findings")
struct FuzzFindingTests {
    @Test("round files whose table header does not start with a key (toml++, used before our own reader, asserted and aborted)",
          arguments: ["[(", "[=", "[ (", "[é]", "[[(", "[[[", "[ [", "[]", "id = \"x\"\n[ # c\n", "[\t("])
    func tableHeaders(text: String) {
        let e = #expect(throws: VaultError.self) { try RoundFile.parse(text, file: "f.toml") }
        #expect(e?.exitStatus == .dataError && (e?.message.hasPrefix("f.toml:1:") == true || e?.message.hasPrefix("f.toml:2:") == true), "\(e?.message ?? "")")
    }

    @Test("huge numbers in a round file or a score are refused, not an overflow trap")
    func hugeNumbers() {
        for weight in ["9223372036854775807", "1000000000000", "-9999999999999", "1e300", "9999999999999.5"] {
            let toml = RoundFileTests.valid.replacingOccurrences(of: "weight = 40", with: "weight = \(weight)")
            let e = #expect(throws: VaultError.self) { try RoundFile.parse(toml, file: "r.toml") }
            #expect(e?.exitStatus == .dataError, "weight \(weight): \(e?.message ?? "")")
        }
        #expect(Fixed("999999999999.999999") != nil && Fixed("9999999999999") == nil)
        let extreme = RoundFileTests.valid.replacingOccurrences(of: "min = 0\nmax = 100", with: "min = -999999999999\nmax = 999999999999")
        #expect(throws: Never.self) { _ = try? RoundFile.parse(extreme, file: "r.toml") }
    }

    @Test("a non-integer number in an audit export, proof or result statement is refused, not a trap")
    func floats() throws {
        let dir = TemporaryFolder()
        try Data("1.3\n".utf8).write(to: URL(fileURLWithPath: dir.path + "/a.jsonl"))
        let e = #expect(throws: VaultError.self) { try AuditVerifier.verify(path: dir.path + "/a.jsonl") }
        #expect(e?.message.contains("only integers") == true)
        #expect(throws: VaultError.self) { try AuditProof.verify(Array(#"{"entry":{"seq":1.5},"index":1e3}"#.utf8)) }
        #expect(throws: VaultError.self) { try ResultStatement.verify(Array(#"{"format":"evalvault-result/1","n":2.5,"signature":"AA=="}"#.utf8)) }
        #expect(CanonicalJSON.string(.array([.decimal("2.5")])) == "[2.5]")
    }
}
