import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// Reveal holders stay home (design: Across machines; docs/requests.md): the chair writes a
/// signed request, each holder approves it on its own machine — its key file and its own state
/// folder, no vault — and the chair completes the open or the reveal from the approval files.
/// Real key files, real vaults, real files between them; every refusal with its exit status.
@Suite("Approvals across machines (request and approval files)", .serialized)
struct ApprovalTests {
    /// A holder's own machine: its key file, its own client state folder, and no vault.
    struct Holder {
        let id: PrincipalID
        let keys: PrivateKeys
        let client: HolderClient

        /// `evalvault approve FILE --yes`: the request read from a file (with the size cap), checked, approved.
        func approve(_ path: String) throws -> [UInt8] {
            let bytes = try Files.read(path, what: "request", limit: RequestFile.maxFileSize)
            let inspection = try client.inspect(bytes, file: path, holder: id)
            return try client.approve(inspection, as: id, keys: keys)
        }

        func approve(bytes: [UInt8], in f: RoundFixture) throws -> [UInt8] {
            try approve(try write(bytes, "request-\(UUID().uuidString).req", in: f))
        }
    }

    static func holder(_ f: RoundFixture, _ id: String, state: String? = nil) throws -> Holder {
        let path = id == "chair" ? f.location.keyBasePath(for: try PrincipalID("chair")) + ".key" : f.dir.path + "/\(id).key"
        return Holder(id: try PrincipalID(id), keys: try KeyFile.load(path: path, passphrase: SecureBytes(Array("pw-\(id)".utf8))),
                      client: HolderClient(state: ClientState(directory: f.dir.path + "/machine-\(state ?? id)")))
    }

    @discardableResult
    static func write(_ bytes: [UInt8], _ name: String, in f: RoundFixture) throws -> String {
        let path = f.dir.path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The refusal `body` must end in: its exit status and a fragment of its message.
    static func refused(_ status: VaultCore.ExitStatus, _ fragment: String, sourceLocation: Testing.SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("not refused (expected \(status.rawValue): \(fragment))", sourceLocation: sourceLocation)
        } catch let e as VaultError {
            #expect(e.exitStatus == status && e.message.contains(fragment), "\(e.exitStatus.rawValue) \(e.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("not a VaultError: \(error)", sourceLocation: sourceLocation)
        }
    }

    static let mean = RevealRequest(round: "R1", stat: .mean, by: ["team"], trim: nil, advance: nil, precision: 2, format: .json)

    /// A draft round R1 and its open request, made by the chair.
    static func openRequest(_ f: RoundFixture, holders: [String], threshold: Int) throws -> OpenRequestFile {
        try f.makeRound(holders: holders, threshold: threshold, open: false)
        return try f.vault.makeOpenRequest("R1", actor: try f.actor("chair"))
    }

    static func complete(_ f: RoundFixture, _ request: OpenRequestFile, _ approvals: [[UInt8]], round: String = "R1") throws -> Round {
        try f.vault.openRound(request: request.bytes, file: "open.req", approvals: approvals.enumerated().map { ($1, "approval-\($0)") },
                              actor: try f.actor("chair"), expectedRound: round)
    }

    /// Opened by files (with `approving` holders' approvals), scored by four evaluators so that
    /// every cell holds at least 3, and closed.
    static func closedRound(_ f: RoundFixture, holders: [String], threshold: Int, approving: [String]) throws {
        let request = try openRequest(f, holders: holders, threshold: threshold)
        _ = try complete(f, request, try approving.map { try holder(f, $0).approve(bytes: request.bytes, in: f) })
        for ev in ["ev-1", "ev-2", "ev-3", "ev-4"] { try f.seal(ev, Known.scores.filter { $0.0 == ev }.map { ($0.1, $0.2, $0.3) }) }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
    }

    static func revealByFiles(_ f: RoundFixture, _ request: RevealRequestFile, _ approvals: [[UInt8]], publish: Bool = false) throws -> [RevealOutcome] {
        try f.vault.reveal(request: request.bytes, file: "reveal.req", approvals: approvals.enumerated().map { ($1, "approval-\($0)") },
                           actor: try f.actor("chair"), format: .json, publish: publish)
    }

    static func lastEntry(_ f: RoundFixture) throws -> JSONValue {
        let s = try f.vault.database.prepare("SELECT entry FROM audit_log ORDER BY seq DESC LIMIT 1")
        #expect(try s.step())
        return try JSONParser.parse(s.blob(0))
    }

    // MARK: The flows

    @Test("open by files: the chair's request, a holder's approval made with no vault (pinning the chair), the open completed; every client's replay accepts it")
    func openByFiles() throws {
        let f = try RoundFixture()
        let request = try Self.openRequest(f, holders: ["chair", "cm-1", "cm-2"], threshold: 2)
        #expect(try Self.lastEntry(f)["action"] == .string("round.open.request"))
        #expect(try f.vault.round("R1", verifiedWith: f.vault.chairKey).state == .draft)
        let path = try Self.write(request.bytes, "open.req", in: f)
        let cm1 = try Self.holder(f, "cm-1")
        let inspection = try cm1.client.inspect(try Files.read(path, what: "request", limit: RequestFile.maxFileSize), file: path, holder: cm1.id)
        let chairFingerprint = try f.actor("chair").principal.publicKeys.fingerprint
        #expect(inspection.firstUse && inspection.chairFingerprint == chairFingerprint)
        #expect(inspection.summary.contains { $0.contains("panel (who may seal): ev-1, ev-2, ev-3, ev-4") })
        let approval = try cm1.client.approve(inspection, as: cm1.id, keys: cm1.keys)
        // The holder's machine pinned the chair's key: a state with no log, only the pin.
        let pin = try #require(try cm1.client.state.load(vaultID: f.vault.id))
        let chairKey = try f.vault.chairKey
        #expect(pin.size == 0 && pin.chairKey == chairKey && pin.chairID == "chair")
        #expect(try !cm1.client.inspect(request.bytes, file: path, holder: cm1.id).firstUse)

        // The chair counts as a holder present; with cm-1's approval that is 2 of 3.
        let opened = try Self.complete(f, request, [approval])
        #expect(opened.state == .open && opened.publicKey == request.round.publicKey && opened.panel.map(\.rawValue) == ["ev-1", "ev-2", "ev-3", "ev-4"])
        let entry = try Self.lastEntry(f)
        #expect(entry["action"] == .string("round.open") && entry["details"]?["request_sha256"] == .string(Hex.encode(request.digest)))
        #expect(entry["details"]?["approvals"]?.arrayValue?.compactMap { $0["holder"]?.stringValue } == ["chair", "cm-1"])
        // The open entry has today's shape: a client that never saw the vault replays it.
        let fresh = try Vault.open(at: f.location, state: ClientState(directory: f.dir.path + "/state-fresh"))
        #expect(try fresh.round("R1", verifiedWith: fresh.chairKey).panel == opened.panel)
        try f.seal("ev-1", [("upstage", "performance", "50")])
        // The stored wraps are the request's: the key the holders' wraps give matches the round's.
        #expect(try f.vault.roundPrivateKey(opened, holders: [try f.actor("chair"), try f.actor("cm-2")]).publicKey == opened.publicKey)
    }

    @Test("reveal by files gives the same bytes as the one-machine reveal; the result is published and verifies",
          arguments: [(["cm-1"], 1, ["cm-1"]), (["cm-1", "cm-2"], 2, ["cm-1", "cm-2"]), (["chair", "cm-1", "cm-2"], 2, ["cm-2"])])
    func revealByFiles(holders: [String], threshold: Int, approving: [String]) throws {
        let f = try RoundFixture()
        try Self.closedRound(f, holders: holders, threshold: threshold, approving: approving)
        let request = try sealedRequest(f.vault.makeRevealRequest(Self.mean, actor: try f.actor("chair")))
        #expect(try Self.lastEntry(f)["action"] == .string("reveal.request"))
        #expect(request.reveals == [.init(reveal: DeclaredReveal(stat: .mean, by: ["team"]), declared: true)])
        let manifest = try f.vault.manifest(of: "R1")
        #expect(request.manifestRoot == manifest.root)
        let approvals = try approving.map { try Self.holder(f, $0).approve(bytes: request.bytes, in: f) }
        let byFiles = try Self.revealByFiles(f, request, approvals, publish: true)
        let present = try holders.filter { $0 != "chair" }.map { try f.actor($0) }
        let here = try f.vault.reveal(Self.mean, actor: try f.actor("chair"), coHolders: present, publish: false)
        #expect(byFiles.count == 1 && byFiles[0].output == here.output)
        #expect(String(decoding: here.output, as: UTF8.self).contains("{\"n\":4,\"team\":\"naver-cloud\""))
        let verified = try ResultStatement.verify(try #require(byFiles[0].statement))
        #expect(verified.manifestRoot == Hex.encode(request.manifestRoot))
        // Each holder's machine recorded the manifest root it released its piece for.
        for h in approving where h != "chair" {
            #expect(try Self.holder(f, h).client.state.approvedRoot(vault: f.vault.id, round: "R1") == Hex.encode(request.manifestRoot))
        }
        // The one-machine reveal goes through a request as well: its entry names one.
        #expect(try Self.lastEntry(f)["details"]?["request_sha256"]?.stringValue?.count == 64)
    }

    @Test("--with is the same path: a co-holder's approval in the chair's command is an approval file's, and the open and reveal entries name their request")
    func withIsTheSamePath() throws {
        let f = try RoundFixture()
        try f.makeRound(holders: ["chair", "cm-1", "cm-2"], threshold: 2)
        var entry = try Self.lastEntry(f)
        #expect(entry["action"] == .string("round.open") && entry["details"]?["request_sha256"]?.stringValue?.count == 64)
        #expect(entry["details"]?["approvals"]?.arrayValue?.count == 3)
        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, Known.scores.filter { $0.0 == ev }.map { ($0.1, $0.2, $0.3) }) }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        // A file approval and a co-holder present in the command mix.
        let request = try sealedRequest(f.vault.makeRevealRequest(Self.mean, actor: try f.actor("chair")))
        let cm2 = try Self.holder(f, "cm-2").approve(bytes: request.bytes, in: f)
        let mixed = try f.vault.reveal(request: request.bytes, file: "r", approvals: [(cm2, "cm-2.approval")], actor: try f.actor("chair"),
                                       coHolders: [try f.actor("cm-1")], format: .json, publish: false)
        entry = try Self.lastEntry(f)
        #expect(entry["details"]?["holders"] == .array([.string("chair"), .string("cm-1"), .string("cm-2")]))
        #expect(entry["details"]?["request_sha256"] == .string(Hex.encode(request.digest)))
        let here = try f.vault.reveal(Self.mean, actor: try f.actor("chair"), coHolders: [try f.actor("cm-1")], publish: false)
        #expect(mixed[0].output == here.output)
    }

    @Test("nothing secret in the files: no round key, no share, no ephemeral key, in any encoding")
    func noSecretsInFiles() throws {
        let f = try RoundFixture()
        let request = try Self.openRequest(f, holders: ["chair", "cm-1", "cm-2"], threshold: 2)
        let openApproval = try Self.holder(f, "cm-1").approve(bytes: request.bytes, in: f)
        let round = try Self.complete(f, request, [openApproval])
        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, Known.scores.filter { $0.0 == ev }.map { ($0.1, $0.2, $0.3) }) }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let reveal = try sealedRequest(f.vault.makeRevealRequest(Self.mean, actor: try f.actor("chair")))
        let revealApprovals = try ["cm-1", "cm-2"].map { try Self.holder(f, $0).approve(bytes: reveal.bytes, in: f) }
        let files = [request.bytes, openApproval, reveal.bytes] + revealApprovals
        var secrets: [[UInt8]] = [try f.vault.roundPrivateKey(round, holders: [try f.actor("chair"), try f.actor("cm-1")]).rawRepresentation.unsafeArray()]
        for h in ["chair", "cm-1", "cm-2"] {
            let wrap = try #require(request.wraps.first { $0.holder.rawValue == h })
            secrets.append(try Approver.unwrap(wrap, vault: f.vault.id, round: "R1", keys: try Self.holder(f, h).keys).unsafeArray())
        }
        let ephemeral = try HPKE.open(reveal.ephemeralWrap.ct, encapsulatedKey: reveal.ephemeralWrap.enc, using: try f.actor("chair").keys.agreement,
                                      info: PieceLabels.ephemeralInfo(vault: f.vault.id, round: "R1"),
                                      authenticating: PieceLabels.ephemeralAAD(requester: reveal.requester, ephemeralKey: reveal.ephemeralKey))
        secrets.append(ephemeral.unsafeArray())
        for secret in secrets {
            for encoding in [secret, Array(Base64.encode(secret).utf8), Array(Hex.encode(secret).utf8), Array(secret.suffix(32))] {
                for file in files { #expect(!file.contains(bytes: encoding)) }
            }
        }
    }

    // MARK: Refusals

    @Test("an approval of another request is refused (65), for an open and for a reveal; an open approval is no reveal approval")
    func approvalForAnotherRequest() throws {
        let f = try RoundFixture()
        let first = try Self.openRequest(f, holders: ["cm-1", "cm-2"], threshold: 2)
        let second = try f.vault.makeOpenRequest("R1", actor: try f.actor("chair"))
        let cm1 = try Self.holder(f, "cm-1"), cm2 = try Self.holder(f, "cm-2")
        let ofFirst = try cm1.approve(bytes: first.bytes, in: f)
        Self.refused(.dataError, "approves another request") { _ = try Self.complete(f, second, [ofFirst, try cm2.approve(bytes: second.bytes, in: f)]) }
        #expect(try f.vault.round("R1", verifiedWith: f.vault.chairKey).state == .draft)
        let openApprovals = [try cm1.approve(bytes: second.bytes, in: f), try cm2.approve(bytes: second.bytes, in: f)]
        _ = try Self.complete(f, second, openApprovals)
        // A request is used once: the round is no longer a draft.
        Self.refused(.usage, "only a draft round can be opened") { _ = try Self.complete(f, first, [ofFirst, try cm2.approve(bytes: first.bytes, in: f)]) }

        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, Known.scores.filter { $0.0 == ev }.map { ($0.1, $0.2, $0.3) }) }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let a = try sealedRequest(f.vault.makeRevealRequest(Self.mean, actor: try f.actor("chair")))
        let b = try sealedRequest(f.vault.makeRevealRequest(Self.mean, actor: try f.actor("chair")))
        let ofA = try cm1.approve(bytes: a.bytes, in: f)
        Self.refused(.dataError, "approves another request") { _ = try Self.revealByFiles(f, b, [ofA, try cm2.approve(bytes: b.bytes, in: f)]) }
        Self.refused(.dataError, "approves an open request; this is a reveal request") { _ = try Self.revealByFiles(f, b, openApprovals) }
        #expect(try Self.lastEntry(f)["outcome"] == .string("failed"))
        // The same root twice is fine: b is approved as well.
        #expect(try Self.revealByFiles(f, b, [try cm1.approve(bytes: b.bytes, in: f), try cm2.approve(bytes: b.bytes, in: f)]).count == 1)
    }

    @Test("a request for another vault or another round is refused (65)")
    func anotherVaultOrRound() throws {
        let f = try RoundFixture(), g = try RoundFixture()
        let request = try Self.openRequest(f, holders: ["cm-1"], threshold: 1)
        try g.makeRound(holders: ["cm-1"], threshold: 1, open: false)
        Self.refused(.dataError, "the open request is for vault \(f.vault.id); this is vault \(g.vault.id)") {
            _ = try g.vault.openRound(request: request.bytes, file: "open.req", approvals: [], actor: try g.actor("chair"), expectedRound: "R1")
        }
        try f.makeRound("R2", holders: ["cm-1"], threshold: 1, open: false)
        let approval = try Self.holder(f, "cm-1").approve(bytes: request.bytes, in: f)
        Self.refused(.dataError, "the open request is for round R1, not R2") { _ = try Self.complete(f, request, [approval], round: "R2") }
        #expect(try Self.complete(f, request, [approval]).state == .open)

        // An approval of vault f's request, shown to vault g's completion of its own request.
        let other = try g.vault.makeOpenRequest("R1", actor: try g.actor("chair"))
        Self.refused(.dataError, "approves a request for vault \(f.vault.id) round R1, not this one") {
            _ = try g.vault.openRound(request: other.bytes, file: "open.req", approvals: [(approval, "cm-1.approval")], actor: try g.actor("chair"),
                                      expectedRound: "R1")
        }
        // A reveal request of vault f, completed in vault g.
        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, Known.scores.filter { $0.0 == ev }.map { ($0.1, $0.2, $0.3) }) }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let reveal = try sealedRequest(f.vault.makeRevealRequest(Self.mean, actor: try f.actor("chair")))
        Self.refused(.dataError, "the reveal request is for vault \(f.vault.id)") {
            _ = try g.vault.reveal(request: reveal.bytes, file: "r", approvals: [], actor: try g.actor("chair"), format: .json, publish: false)
        }
    }

    @Test("a request changed anywhere — every single byte — is refused by the holder (65); a forged one re-signed by another key too, once pinned")
    func tamperedRequest() throws {
        let f = try RoundFixture()
        let request = try Self.openRequest(f, holders: ["chair", "cm-1", "cm-2"], threshold: 2)
        let cm1 = try Self.holder(f, "cm-1")
        for (kind, bytes) in [("open", request.bytes)] + [("reveal", try revealRequestBytes(f))] {
            for i in bytes.indices {
                var changed = bytes
                changed[i] ^= 0x01
                do {
                    _ = try cm1.client.inspect(changed, file: "\(kind).req", holder: cm1.id)
                    Issue.record("\(kind) request: byte \(i) changed, not refused")
                } catch let e as VaultError {
                    if e.exitStatus != .dataError { Issue.record("\(kind) request: byte \(i): \(e.exitStatus.rawValue) \(e.message)") }
                }
            }
        }
        // JSON-wise: a panel with one more evaluator, the signature kept.
        var json = try #require(try JSONParser.parse(request.bytes).objectValue)
        var record = try #require(json["round_record"]?.objectValue)
        record["panel"] = .array(["ev-1", "ev-2", "ev-3", "ev-4", "ev-9"].map { .string($0) })
        json["round_record"] = .object(record)
        let widened = CanonicalJSON.encode(.object(json)) + [0x0A]
        Self.refused(.dataError, "does not match its signature") { _ = try cm1.client.inspect(widened, file: "open.req", holder: cm1.id) }
        Self.refused(.dataError, "does not match its signature") {
            _ = try f.vault.openRound(request: widened, file: "open.req", approvals: [], actor: try f.actor("chair"), expectedRound: "R1")
        }
        // The same change re-signed by a forger's key: whole, but not the chair's. A holder that
        // pinned the chair refuses it; the chair's completion refuses it too.
        _ = try cm1.approve(bytes: request.bytes, in: f)
        let forger = PrivateKeys.generate()
        json["requester_key"] = .string(Base64.encode(forger.signing.publicKey.rawRepresentation))
        json["requester_x25519"] = .string(Base64.encode(forger.agreement.publicKey.rawRepresentation))
        json.removeValue(forKey: "signature")
        let forged = try SignedDocument.sign(json, with: forger.signing)
        // It must still hash right to be whole: recompute the record hash as a forger would.
        var reparsed = try #require(try JSONParser.parse(forged).objectValue)
        reparsed.removeValue(forKey: "signature")
        let forgedRound = try OpenRequestFile(bytes: request.bytes, file: "x").round
        let widenedRound = Round(config: forgedRound.config, state: .open, policyVersion: forgedRound.policyVersion, publicKey: forgedRound.publicKey,
                                 version: forgedRound.version, panel: try ["ev-1", "ev-2", "ev-3", "ev-4", "ev-9"].map { try PrincipalID($0) })
        reparsed["round_record_sha256"] = .string(Hex.encode(SHA256.hash(data: widenedRound.signedBytes(vaultID: f.vault.id))))
        let whole = try SignedDocument.sign(reparsed, with: forger.signing)
        _ = try OpenRequestFile(bytes: whole, file: "forged.req")  // whole on its own
        Self.refused(.dataError, "but this client pinned chair chair") { _ = try cm1.client.inspect(whole, file: "forged.req", holder: cm1.id) }
        Self.refused(.dataError, "was made by chair (fingerprint") {
            _ = try f.vault.openRound(request: whole, file: "forged.req", approvals: [], actor: try f.actor("chair"), expectedRound: "R1")
        }
        #expect(try f.vault.round("R1", verifiedWith: f.vault.chairKey).state == .draft)
    }

    /// A closed 2-of-3 round's reveal request (a second vault, so `f`'s round stays a draft).
    func revealRequestBytes(_ f: RoundFixture) throws -> [UInt8] {
        let g = try RoundFixture()
        try g.makeRound(holders: ["chair", "cm-1", "cm-2"], threshold: 2)
        for ev in ["ev-1", "ev-3", "ev-4"] { try g.seal(ev, Known.scores.filter { $0.0 == ev }.map { ($0.1, $0.2, $0.3) }) }
        _ = try g.vault.closeRound("R1", actor: try g.actor("chair"))
        return try sealedRequest(g.vault.makeRevealRequest(Self.mean, actor: try g.actor("chair"))).bytes
    }

    @Test("an approval changed anywhere — every single byte — is refused by the chair (65, or 77 when the change names a non-holder); nothing opens or is revealed")
    func tamperedApproval() throws {
        let f = try RoundFixture()
        let request = try Self.openRequest(f, holders: ["cm-1", "cm-2"], threshold: 2)
        let cm1 = try Self.holder(f, "cm-1"), cm2 = try Self.holder(f, "cm-2")
        let approval = try cm1.approve(bytes: request.bytes, in: f), other = try cm2.approve(bytes: request.bytes, in: f)
        func check(_ bytes: [UInt8], stride step: Int, _ attempt: ([UInt8]) throws -> Void) {
            for i in Swift.stride(from: 0, to: bytes.count, by: step) {
                var changed = bytes
                changed[i] ^= 0x01
                do {
                    try attempt(changed)
                    Issue.record("byte \(i) changed, not refused")
                } catch let e as VaultError {
                    let ok = e.exitStatus == .dataError || (e.exitStatus == .noPermission && e.message.contains("is not a reveal holder of round R1"))
                    if !ok { Issue.record("byte \(i): \(e.exitStatus.rawValue) \(e.message)") }
                } catch { Issue.record("byte \(i): \(error)") }
            }
        }
        check(approval, stride: 1) { _ = try Self.complete(f, request, [$0, other]) }
        #expect(try f.vault.round("R1", verifiedWith: f.vault.chairKey).state == .draft)
        _ = try Self.complete(f, request, [approval, other])

        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, Known.scores.filter { $0.0 == ev }.map { ($0.1, $0.2, $0.3) }) }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let reveal = try sealedRequest(f.vault.makeRevealRequest(Self.mean, actor: try f.actor("chair")))
        let released = try cm1.approve(bytes: reveal.bytes, in: f), released2 = try cm2.approve(bytes: reveal.bytes, in: f)
        let before = try f.vault.auditSize()
        check(released, stride: 3) { _ = try Self.revealByFiles(f, reveal, [$0, released2]) }
        // Every refusal is audited, none is a reveal that came out.
        let s = try f.vault.database.prepare("SELECT entry FROM audit_log WHERE seq >= ?").bind(before)
        while try s.step() { #expect(try JSONParser.parse(s.blob(0))["outcome"] != .string("ok")) }
        #expect(try Self.revealByFiles(f, reveal, [released, released2]).count == 1)
    }

    @Test("a principal who is not a holder of the round is refused with its name (77), at the holder and at the chair")
    func notAHolder() throws {
        let f = try RoundFixture()
        let request = try Self.openRequest(f, holders: ["chair", "cm-1"], threshold: 2)
        let cm2 = try Self.holder(f, "cm-2")
        Self.refused(.noPermission, "cm-2 is not a reveal holder of round R1 (its holders: chair, cm-1)") { _ = try cm2.approve(bytes: request.bytes, in: f) }
        Self.refused(.noPermission, "au-1 is not a reveal holder of round R1") { _ = try Self.holder(f, "au-1").approve(bytes: request.bytes, in: f) }
        // An approval cm-2 signs by hand (its own software) still names it: refused.
        let forged = try ApprovalFile.make(kind: .open, vault: f.vault.id, round: "R1", requestDigest: request.digest, holder: cm2.id,
                                           roundSignature: try cm2.keys.signing.signature(for: Round.openApprovalBytes(vaultID: f.vault.id, roundID: "R1", recordSHA256: request.recordSHA256)),
                                           signer: cm2.keys.signing)
        Self.refused(.noPermission, "cm-2 is not a reveal holder of round R1 (its holders: chair, cm-1)") { _ = try Self.complete(f, request, [forged]) }
        // cm-1's approval signed with cm-2's key is not cm-1's.
        let impostor = try ApprovalFile.make(kind: .open, vault: f.vault.id, round: "R1", requestDigest: request.digest, holder: try PrincipalID("cm-1"),
                                             roundSignature: try cm2.keys.signing.signature(for: Round.openApprovalBytes(vaultID: f.vault.id, roundID: "R1", recordSHA256: request.recordSHA256)),
                                             signer: cm2.keys.signing)
        Self.refused(.dataError, "does not verify as cm-1's approval") { _ = try Self.complete(f, request, [impostor]) }
        // A holder with the wrong key file cannot open its wrap.
        let wrongKey = Holder(id: try PrincipalID("cm-1"), keys: cm2.keys, client: HolderClient(state: ClientState(directory: f.dir.path + "/machine-x")))
        Self.refused(.noPermission, "it is not the key enrolled as cm-1") { _ = try wrongKey.approve(bytes: request.bytes, in: f) }
    }

    @Test("too few approvals: 77, saying how many the round needs, its holders, and who approved — for the open and for the reveal")
    func tooFewApprovals() throws {
        let f = try RoundFixture()
        let request = try Self.openRequest(f, holders: ["cm-1", "cm-2"], threshold: 2)
        let cm1 = try Self.holder(f, "cm-1"), cm2 = try Self.holder(f, "cm-2")
        let one = try cm1.approve(bytes: request.bytes, in: f)
        Self.refused(.noPermission, "round R1 needs 2 of its reveal holders (cm-1, cm-2) to approve its panel and open; 1 took part") {
            _ = try Self.complete(f, request, [one])
        }
        #expect(try Self.lastEntry(f)["outcome"] == .string("denied"))
        // The same approval twice is one holder.
        Self.refused(.noPermission, "1 took part (add --with ID for each co-holder, or --approval FILE from each holder's `evalvault approve`): cm-1") {
            _ = try Self.complete(f, request, [one, one])
        }
        _ = try Self.complete(f, request, [one, try cm2.approve(bytes: request.bytes, in: f)])
        for ev in ["ev-1", "ev-3", "ev-4"] { try f.seal(ev, Known.scores.filter { $0.0 == ev }.map { ($0.1, $0.2, $0.3) }) }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let reveal = try sealedRequest(f.vault.makeRevealRequest(Self.mean, actor: try f.actor("chair")))
        Self.refused(.noPermission, "round R1 needs 2 of its reveal holders (cm-1, cm-2) to release its key for this reveal; 1 took part") {
            _ = try Self.revealByFiles(f, reveal, [try cm2.approve(bytes: reveal.bytes, in: f)])
        }
        Self.refused(.noPermission, "0 took part") { _ = try Self.revealByFiles(f, reveal, []) }
    }

    @Test("a holder's client refuses a second manifest root for the same round (65, naming both), and keeps the first")
    func secondManifestRoot() throws {
        let f = try RoundFixture()
        try Self.closedRound(f, holders: ["chair", "cm-1"], threshold: 2, approving: ["cm-1"])
        let request = try sealedRequest(f.vault.makeRevealRequest(Self.mean, actor: try f.actor("chair")))
        let cm1 = try Self.holder(f, "cm-1")
        _ = try cm1.approve(bytes: request.bytes, in: f)
        // The chair's key, on a copy of the vault that lost a batch (modified software): the same
        // round over another set of batches, properly signed.
        var json = try #require(try JSONParser.parse(request.bytes).objectValue)
        json.removeValue(forKey: "signature")
        let otherRoot = Hex.encode(SHA256.hash(data: Array("another set of batches".utf8)))
        json["manifest_root"] = .string(otherRoot)
        let second = try SignedDocument.sign(json, with: try f.actor("chair").keys.signing)
        Self.refused(.dataError, "this client approved round R1 for manifest root \(Hex.encode(request.manifestRoot)); this request names manifest root \(otherRoot)") {
            _ = try cm1.approve(bytes: second, in: f)
        }
        #expect(try cm1.client.state.approvedRoot(vault: f.vault.id, round: "R1") == Hex.encode(request.manifestRoot))
        // The chair's own vault refuses it as well: it is not this round's manifest.
        Self.refused(.dataError, "the reveal request names manifest root \(otherRoot)") { _ = try Self.revealByFiles(f, try RevealRequestFile(bytes: second, file: "x"), []) }
        // Another request over the same root is approved.
        let again = try sealedRequest(f.vault.makeRevealRequest(RevealRequest(round: "R1", stat: .rank, by: ["team"], trim: nil, advance: 1, precision: 2, format: .table),
                                                                actor: try f.actor("chair")))
        #expect(try Self.revealByFiles(f, again, [try cm1.approve(bytes: again.bytes, in: f)])[0].result.groups.count == 3)
    }

    @Test("what a reveal request may ask: refused early by the policy (77); only declared reveals of a closed round travel (64)")
    func revealRequestLimits() throws {
        let f = try RoundFixture()
        try f.makeRound(holders: ["chair", "cm-1"], threshold: 2)
        try f.seal("ev-1", [("upstage", "performance", "50")])
        let chair = try f.actor("chair")
        Self.refused(.noPermission, "denied") { _ = try f.vault.makeRevealRequest(Self.mean, actor: chair) }
        _ = try f.vault.closeRound("R1", actor: chair)
        Self.refused(.noPermission, "denied by policy reveal-only-declared: round R1 declares mean by team at precision 2; this request asks precision 3") {
            _ = try f.vault.makeRevealRequest(RevealRequest(round: "R1", stat: .mean, by: ["team"], trim: nil, advance: nil, precision: 3, format: .json), actor: chair)
        }
        Self.refused(.noPermission, "denied by policy never-by-evaluator") {
            _ = try f.vault.makeRevealRequest(RevealRequest(round: "R1", stat: .mean, by: ["team", "evaluator"], trim: nil, advance: nil, precision: 2, format: .json), actor: chair)
        }
        // A policy that permits undeclared reveals still cannot send one to the holders.
        let g = try RoundFixture()
        try RevealTests.permit(g)
        try g.makeRound(holders: ["chair", "cm-1"], threshold: 2)
        Self.refused(.usage, "round R1 is open; a reveal request needs a closed round") { _ = try sealedRequest(g.vault.makeRevealRequest(Self.mean, actor: try g.actor("chair"))) }
        _ = try g.vault.closeRound("R1", actor: try g.actor("chair"))
        Self.refused(.usage, "a reveal request asks only for what the round declares: round R1 does not declare max by team") {
            _ = try g.vault.makeRevealRequest(RevealRequest(round: "R1", stat: .max, by: ["team"], trim: nil, advance: nil, precision: 2, format: .json),
                                              actor: try g.actor("chair"))
        }
    }

    @Test("an open request made before the panel changed is out of date (64); another principal cannot complete the chair's request")
    func staleOrForeignRequest() throws {
        let f = try RoundFixture()
        let request = try Self.openRequest(f, holders: ["chair"], threshold: 1)
        let keys = PrivateKeys.generate()
        _ = try f.vault.addPrincipal(id: PrincipalID("ev-9"), role: .evaluator, publicKeys: keys.publicKeys, identity: nil, conflicts: [],
                                     actor: try f.actor("chair"))
        Self.refused(.usage, "the open request for round R1 is out of date (the panel is now ev-1, ev-2, ev-3, ev-4, ev-9)") { _ = try Self.complete(f, request, []) }
        let fresh = try f.vault.makeOpenRequest("R1", actor: try f.actor("chair"))
        Self.refused(.dataError, "was made by chair") {
            _ = try f.vault.openRound(request: fresh.bytes, file: "open.req", approvals: [], actor: try f.actor("cm-1"), expectedRound: "R1")
        }
        #expect(try Self.complete(f, fresh, []).panel.count == 5)
    }

    @Test("files that are not requests or approvals: not JSON, another format, over the size cap — refused (65), naming the file")
    func malformedFiles() throws {
        let f = try RoundFixture()
        let request = try Self.openRequest(f, holders: ["cm-1"], threshold: 1)
        let approval = try Self.holder(f, "cm-1").approve(bytes: request.bytes, in: f)
        let cm1 = try Self.holder(f, "cm-1")
        Self.refused(.dataError, "x.req is not valid JSON") { _ = try cm1.client.inspect(Array("not json".utf8), file: "x.req", holder: cm1.id) }
        Self.refused(.dataError, "x.req is not an evalvault request") { _ = try cm1.client.inspect(approval, file: "x.req", holder: cm1.id) }
        Self.refused(.dataError, "a.approval is not an evalvault-approval/1 file") { _ = try ApprovalFile(bytes: request.bytes, file: "a.approval") }
        let big = try Self.write([UInt8](repeating: 0x20, count: RequestFile.maxFileSize + 1), "big.req", in: f)
        Self.refused(.dataError, "is larger than 8 MiB") { _ = try cm1.approve(big) }
        // An unexpected member, even one the chair signed, is refused: what is shown is all there is.
        var json = try #require(try JSONParser.parse(request.bytes).objectValue)
        json.removeValue(forKey: "signature")
        json["note"] = .string("approve quickly")
        Self.refused(.dataError, "has unexpected members: note") {
            _ = try cm1.client.inspect(try SignedDocument.sign(json, with: try f.actor("chair").keys.signing), file: "x.req", holder: cm1.id)
        }
    }
}

/// The sealed round's reveal request inside a request file (these tests use sealed rounds).
func sealedRequest(_ r: RequestFile) throws -> RevealRequestFile {
    guard case .reveal(let request) = r else { throw VaultError.internalError("not a sealed round's reveal request") }
    return request
}
