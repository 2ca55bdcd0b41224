import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// A vault with a chair, for the audit tests.
struct AuditFixture {
    let dir = TemporaryFolder("evalvault-audit")
    let location: VaultLocation
    let passphraseFile: String
    let vault: Vault
    var state: ClientState { ClientState(directory: dir.path + "/state") }

    /// Appends `count` signed entries in one transaction (large logs for the verifier's tests).
    func appendSignedEntries(_ count: Int, chair: Actor) throws {
        try vault.write {
            for i in 0..<count {
                try vault.appendAudit(AuditRecord(actor: "chair", authenticated: true, action: "seal", target: "round/R1", decision: .allow,
                                                  policies: ["p"], policySHA256: String(repeating: "ab", count: 32),
                                                  details: ["n": .integer(Int64(i))]), signer: chair.keys.signing)
            }
        }
    }

    init() throws {
        location = VaultLocation(directory: dir.path + "/vault")
        passphraseFile = dir.path + "/pass"
        try Data("chair passphrase 7".utf8).write(to: URL(fileURLWithPath: passphraseFile))
        _ = try Vault.initialize(at: location, chair: PrincipalID("chair"), passphrase: SecureBytes(Array("chair passphrase 7".utf8)),
                                 identity: "Chair Person", kdf: Scrypt.Parameters(log2N: 10), state: ClientState(directory: dir.path + "/state"))
        vault = try Vault.open(at: location, state: ClientState(directory: dir.path + "/state"))
    }

    func chair(_ action: String = "audit.export") throws -> Actor {
        try vault.authenticate(PrincipalID("chair"), keyPath: nil,
                               passphrase: PassphraseSource(file: passphraseFile, environmentVariable: "UNUSED", subject: "chair"),
                               action: action, target: "test")
    }

    /// Some history: reads, an apply, a checkpoint.
    func act() throws {
        _ = try vault.showPolicy(claimedActor: nil)
        _ = try vault.explain(actor: PrincipalID("chair"), action: "reveal", round: nil, resource: [:], context: [:])
        _ = try vault.applyPolicy(try PolicySet(source: DefaultPolicy.source, fileName: "p"), actor: try chair("policy.apply"))
        _ = try vault.checkpointNow(actor: try chair("audit.checkpoint"))
    }

    func export() throws -> [UInt8] {
        let actor = try chair()
        let prepared = try vault.prepareAuditExport(actor: actor, format: .jsonl)
        var out: [UInt8] = []
        try vault.writeAuditExport(format: .jsonl, checkpoint: prepared.checkpoint, chairKey: actor.chairKey) { out += $0 }
        return out
    }

    func verify(_ bytes: [UInt8], older: String? = nil) throws -> AuditVerifier.Summary {
        let path = dir.path + "/export-\(UUID().uuidString).jsonl"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        return try AuditVerifier.verify(path: path, olderCheckpoint: older)
    }

    /// Runs the independent Python verifier (Tests/tools/verify_audit.py) on `bytes`.
    func pythonVerify(_ bytes: [UInt8]) throws -> Subprocess.Result {
        let path = dir.path + "/py-\(UUID().uuidString).jsonl"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/verify_audit.py").path
        return try Subprocess.run("/usr/bin/env", ["python3", script, path], environment: Subprocess.baseEnvironment, directory: dir.path)
    }
}

func lines(_ bytes: [UInt8]) -> [[UInt8]] { bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map(Array.init) }
func join(_ lines: [[UInt8]]) -> [UInt8] { lines.flatMap { $0 + [0x0A] } }

@Suite("Audit log (design: Audit log)")
struct AuditLogTests {
    @Test("an export verifies, in Swift and in the independent Python verifier written from docs/audit-format.md")
    func exportVerifies() throws {
        let f = try AuditFixture()
        try f.act()
        let bytes = try f.export()
        let summary = try f.verify(bytes)
        #expect(summary.size == lines(bytes).count - 2)
        #expect(summary.size == 6)  // init, show, explain, apply, checkpoint, export
        let chairKeys = try KeyFile.publicKeys(of: Files.read(f.location.keysDirectory + "/chair.key", what: "k"), path: "k")
        #expect(summary.chairFingerprint == chairKeys.fingerprint)
        let py = try f.pythonVerify(bytes)
        #expect(py.status == 0, "python: \(py.stdout) \(py.stderr)")
        #expect(py.stdout == "ok \(summary.size) \(Base64.encode(summary.root))\n")
        // Every entry is signed or marked unauthenticated; nothing secret is in the log.
        #expect(!bytes.contains(bytes: Array("chair passphrase 7".utf8)) && !bytes.contains(bytes: Array("Chair Person".utf8)))
    }

    @Test("flipping any single byte of an export makes verify fail (every byte; the Python verifier on a sample)")
    func everyByte() throws {
        let f = try AuditFixture()
        try f.act()
        let bytes = try f.export()
        var rejected = 0
        for i in bytes.indices {
            var b = bytes
            b[i] ^= 0x01
            let e = #expect(throws: VaultError.self, "byte \(i) flipped") { try f.verify(b) }
            if e?.exitStatus == .dataError && e?.message.contains("integrity") == true { rejected += 1 }
        }
        #expect(rejected == bytes.count)
        print("audit export: \(bytes.count) single-byte flips, \(rejected) rejected")
        for i in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 25)) {
            var b = bytes
            b[i] ^= 0x01
            #expect(try f.pythonVerify(b).status == 1, "python accepted byte \(i) flipped")
        }
    }

    @Test("deleting, reordering, duplicating a line or truncating is detected, naming the line")
    func lineEdits() throws {
        let f = try AuditFixture()
        try f.act()
        let l = lines(try f.export())
        let n = l.count
        var variants: [(String, [UInt8])] = []
        for i in 1..<(n - 1) { var x = l; x.remove(at: i); variants.append(("delete line \(i + 1)", join(x))) }
        for i in 1..<(n - 2) { var x = l; x.swapAt(i, i + 1); variants.append(("swap lines \(i + 1),\(i + 2)", join(x))) }
        for i in 1..<(n - 1) { var x = l; x.insert(l[i], at: i); variants.append(("duplicate line \(i + 1)", join(x))) }
        for k in 1..<n { variants.append(("keep \(k) lines", join(Array(l.prefix(k))))) }
        let all = join(l)
        variants.append(("cut mid-line", Array(all.dropLast(10))))
        variants.append(("drop the final newline", Array(all.dropLast())))
        variants.append(("header only", join([l[0]])))
        variants.append(("empty", []))
        variants.append(("a line appended after the checkpoint", join(l + [l[1]])))
        variants.append(("header replaced by another vault's", join([Array(String(decoding: l[0], as: UTF8.self)
            .replacingOccurrences(of: f.vault.id, with: String(repeating: "0", count: 32)).utf8)] + l.dropFirst())))
        for (name, bytes) in variants {
            let e = #expect(throws: VaultError.self, "\(name)") { try f.verify(bytes) }
            #expect(e?.message.contains("integrity") == true, "\(name): \(e?.message ?? "")")
        }
        let deleted = #expect(throws: VaultError.self) { var x = l; x.remove(at: 2); _ = try f.verify(join(x)) }
        #expect(deleted?.message == "integrity check failed: line 3: expected entry seq 1 (entries missing, repeated or out of order)")
    }

    @Test("signatures are checked in parallel runs, yet the first failing line in file order is the one named")
    func parallelSignatureChecks() throws {
        let f = try AuditFixture()
        let chair = try f.chair("test")
        try f.appendSignedEntries(5_000, chair: chair)
        let good = lines(try f.export())
        #expect(try f.verify(join(good)).size >= 5_000)
        // Line k carries the signature of line k+1: well-formed, by an enrolled signer, wrong.
        func swappedSignature(_ l: [[UInt8]], at k: Int) -> [[UInt8]] {
            func sig(_ line: [UInt8]) -> String { String(decoding: line, as: UTF8.self).components(separatedBy: "\"sig\":").last! }
            var out = l
            let text = String(decoding: l[k - 1], as: UTF8.self)
            out[k - 1] = Array(text.replacingOccurrences(of: "\"sig\":" + sig(l[k - 1]), with: "\"sig\":" + sig(l[k])).utf8)
            return out
        }
        for k in [12, 4_500] {  // in the first run of 4,096 and after it
            let e = #expect(throws: VaultError.self) { try f.verify(join(swappedSignature(good, at: k))) }
            #expect(e?.message.contains("line \(k): the signature of entry \(k - 2) by chair does not verify") == true, "\(e?.message ?? "")")
        }
        // A bad signature on line 40 and a missing line 300: line 40 is reported.
        var both = swappedSignature(good, at: 40)
        both.remove(at: 299)
        let e = #expect(throws: VaultError.self) { try f.verify(join(both)) }
        #expect(e?.message.contains("line 40: the signature") == true, "\(e?.message ?? "")")
        both = good
        both.remove(at: 299)
        let gap = #expect(throws: VaultError.self) { try f.verify(join(both)) }
        #expect(gap?.message.contains("line 300: expected entry seq 298") == true, "\(gap?.message ?? "")")
    }

    @Test("a log that grew after an old checkpoint passes with it; a rewritten one (even re-signed by the chair) fails")
    func growthAndRewrite() throws {
        let f = try AuditFixture()
        try f.act()
        let old = try f.vault.latestCheckpoint()!.text
        _ = try f.vault.showPolicy(claimedActor: "someone")
        let grown = try f.export()
        let s = try f.verify(grown, older: old)
        #expect(s.extends == 5 && s.size > 5)

        // The chair rewrites entry 1 (an unauthenticated read). Every signed entry after it signs
        // the root before it, so the export no longer verifies even on its own...
        let chair = try f.chair()
        var l = lines(grown)
        l[2] = Array(String(decoding: l[2], as: UTF8.self).replacingOccurrences(of: "\"actor\":\"anonymous\"", with: "\"actor\":\"nobody\"").utf8)
        let broken = #expect(throws: VaultError.self) { try f.verify(join(l)) }
        #expect(broken?.message.contains("does not verify") == true, "\(broken?.message ?? "")")
        // ...unless the chair re-signs every later entry (here all are the chair's) and the
        // checkpoint: then on its own the forged export verifies, but it does not extend the old
        // checkpoint.
        var frontier = MerkleFrontier()
        for i in 1..<(l.count - 1) {
            guard case .object(var w) = try JSONParser.parse(l[i]), let entry = w["entry"] else { Issue.record("bad line"); return }
            let leaf = Merkle.leafHash(CanonicalJSON.encode(entry))
            if w["sig"] != .null {
                w["sig"] = .string(Base64.encode(try chair.keys.signing.signature(for: AuditSignature.message(leaf: leaf, rootBefore: frontier.root))))
                l[i] = CanonicalJSON.encode(.object(w))
            }
            frontier.append(leaf)
        }
        let note = try Checkpoint(vaultID: f.vault.id, size: frontier.size, root: frontier.root).signedNote(name: "chair", key: chair.keys.signing)
        l[l.count - 1] = CanonicalJSON.encode(.object(["checkpoint": .string(note)]))
        let forged = join(l)
        #expect(try f.verify(forged).size == frontier.size)
        let e = #expect(throws: VaultError.self) { try f.verify(forged, older: old) }
        #expect(e?.message.contains("rewritten") == true)
        // An older checkpoint from another vault or with a bad signature is refused too.
        let other = try AuditFixture()
        let foreign = try other.vault.checkpointNow(actor: try other.chair("audit.checkpoint")).text
        #expect(throws: VaultError.self) { try f.verify(grown, older: foreign) }
        #expect(throws: VaultError.self) { try f.verify(grown, older: old.replacingOccurrences(of: "\n5\n", with: "\n4\n")) }
    }

    @Test("fail closed: when the audit append fails, the action leaves no effect (design: invariant 7)")
    func failClosed() throws {
        let f = try AuditFixture()
        let chair = try f.chair("policy.apply")
        let before = try f.vault.auditSize()
        try f.vault.database.execute("CREATE TRIGGER block_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit table is read-only'); END;")
        let newPolicy = try PolicySet(source: "@id(\"x\") permit (principal, action, resource);", fileName: "x")
        #expect(throws: VaultError.self) { try f.vault.applyPolicy(newPolicy, actor: chair) }
        #expect(try f.vault.policyInForce(chairKey: chair.chairKey).version == 1)
        #expect(throws: VaultError.self) { try f.vault.checkpointNow(actor: chair) }
        #expect(try f.vault.latestCheckpoint() == nil)
        #expect(throws: VaultError.self) { try f.vault.showPolicy(claimedActor: nil) }
        #expect(try f.vault.auditSize() == before)
        try f.vault.database.execute("DROP TRIGGER block_audit")
        #expect(try f.vault.applyPolicy(newPolicy, actor: chair) == 2)
    }

    @Test("the log is append-only in vault.db; a stored entry changed behind its back stops new checkpoints")
    func appendOnly() throws {
        let f = try AuditFixture()
        try f.act()
        #expect(throws: VaultError.self) { try f.vault.database.execute("UPDATE audit_log SET entry = X'00' WHERE seq = 1") }
        #expect(throws: VaultError.self) { try f.vault.database.execute("DELETE FROM audit_log WHERE seq = 1") }
        // Someone with the file drops the trigger and rewrites history: the next command of a
        // client that saw the log refuses it (a fork), and no checkpoint is signed over it.
        try f.vault.database.execute("DROP TRIGGER audit_log_no_update")
        try f.vault.database.execute("UPDATE audit_log SET leaf_hash = zeroblob(32) WHERE seq = 1")
        let e = #expect(throws: VaultError.self) { try Vault.open(at: f.location, state: f.state) }
        #expect(e?.message.contains("not an extension") == true, "\(e?.message ?? "")")
    }

    @Test("a failed authentication is recorded, unauthenticated, and signs nothing")
    func failedAuthentication() throws {
        let f = try AuditFixture()
        let wrong = f.dir.path + "/wrong"
        try Data("not it".utf8).write(to: URL(fileURLWithPath: wrong))
        let before = try f.vault.auditSize()
        let e = #expect(throws: VaultError.self) {
            try f.vault.authenticate(PrincipalID("chair"), keyPath: nil,
                                     passphrase: PassphraseSource(file: wrong, environmentVariable: "X", subject: "chair"),
                                     action: "policy.apply", target: "policy")
        }
        #expect(e?.exitStatus == .noPermission)
        #expect(try f.vault.auditSize() == before + 1)
        let s = try f.vault.database.prepare("SELECT entry, sig FROM audit_log WHERE seq = ?").bind(before)
        #expect(try s.step())
        let entry = try JSONParser.parse(s.blob(0))
        #expect(entry["authenticated"] == .bool(false) && entry["outcome"] == .string("failed") && s.isNull(1))
        #expect(entry["details"]?["reason"] == .string("wrong passphrase"))
    }

    @Test("failed reads are recorded as failed: explain for an unknown principal, a proof out of range")
    func failedReads() throws {
        let f = try AuditFixture()
        let before = try f.vault.auditSize()
        #expect(throws: VaultError.self) { try f.vault.explain(actor: PrincipalID("ghost"), action: "seal", round: nil, resource: [:], context: [:]) }
        #expect(throws: VaultError.self) { try f.vault.explain(actor: PrincipalID("chair"), action: "nope", round: nil, resource: [:], context: [:]) }
        let chair = try f.chair()
        _ = try f.vault.checkpointNow(actor: try f.chair("audit.checkpoint"))
        #expect(throws: VaultError.self) { try f.vault.proveEntry(99, actor: chair) }
        let s = try f.vault.database.prepare("SELECT entry FROM audit_log WHERE seq >= ? ORDER BY seq").bind(before)
        var outcomes: [String] = []
        while try s.step() {
            let e = try JSONParser.parse(s.blob(0))
            outcomes.append("\(e["action"]?.stringValue ?? "") \(e["outcome"]?.stringValue ?? "")")
        }
        #expect(outcomes == ["policy.explain failed", "policy.explain failed", "audit.checkpoint ok", "audit.export failed"])
    }

    @Test("inclusion proofs from `audit prove` verify; a proof for another entry or a bent hash fails")
    func proofs() throws {
        let f = try AuditFixture()
        try f.act()
        let chair = try f.chair()
        for seq in 0..<5 {
            let proof = CanonicalJSON.encode(try f.vault.proveEntry(seq, actor: chair))
            let v = try AuditProof.verify(proof)
            #expect(v.index == seq && v.size == 5)
            var bad = proof
            if let r = String(decoding: proof, as: UTF8.self).range(of: "\"index\":\(seq)") {
                bad = Array(String(decoding: proof, as: UTF8.self).replacingCharacters(in: r, with: "\"index\":\((seq + 1) % 5)").utf8)
            }
            #expect(throws: VaultError.self) { try AuditProof.verify(bad) }
        }
        #expect(throws: VaultError.self) { try f.vault.proveEntry(999, actor: chair) }
    }
}
