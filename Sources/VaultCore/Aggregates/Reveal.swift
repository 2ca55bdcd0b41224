import Foundation
import VaultCrypto

/// What a reveal asks for.
public struct RevealRequest: Sendable {
    public let round: String
    public let stat: Statistic
    public let by: [String]
    public let trim: Fixed?
    public let advance: Int?
    public let precision: Int
    public let format: RevealFormat

    public init(round: String, stat: Statistic, by: [String], trim: Fixed?, advance: Int?, precision: Int, format: RevealFormat) {
        self.round = round; self.stat = stat; self.by = by; self.trim = trim; self.advance = advance
        self.precision = precision; self.format = format
    }
}

/// What a reveal produced: the exact output bytes (the audit entry holds their hash), the
/// computed result, and, with `--publish`, the signed result statement.
public struct RevealOutcome: Sendable {
    public let output: [UInt8]
    public let result: AggregateResult
    public let statement: [UInt8]?
}

extension Vault {
    /// `reveal` (design: Cryptography, Policy language, Aggregates). The policy is asked twice: before any key is unwrapped or
    /// seal opened (who, statistic, grouping, whether the round declared this reveal, round
    /// state, how many holders), and after decryption but before anything is rendered (with
    /// `min_group`, the smallest count of distinct evaluators in any contributing (team,
    /// criterion) cell). Every batch is verified before anything counts. Only the output's
    /// SHA-256 goes into the audit log.
    public func reveal(_ request: RevealRequest, actor: Actor, coHolders: [Actor], publish: Bool,
                       progress: ((Int, Int) -> Void)? = nil) throws -> RevealOutcome {
        try reveal([(request, publish)], actor: actor, coHolders: coHolders, progress: progress)[0]
    }

    /// Several reveals of one round in one command (a report): every request passes the
    /// policy's first question before anything is decrypted, the round is opened and verified
    /// once, then each request is computed, asked the second question, rendered and audited
    /// on its own — exactly as separate reveals would be, without opening the round twice.
    ///
    /// The holders present (the actor and `coHolders`) release the round key as holders on
    /// other machines do (`Approvals/RevealApprovals.swift`): a reveal request is made, each
    /// present holder approves it, and the reveal completes from those approvals.
    public func reveal(_ items: [(request: RevealRequest, publish: Bool)], actor: Actor, coHolders: [Actor],
                       progress: ((Int, Int) -> Void)? = nil) throws -> [RevealOutcome] {
        for h in coHolders where h.chairKey != actor.chairKey {
            throw VaultError.integrity("\(h.id) trusts a different chair key than \(actor.id)")
        }
        if let roundID = items.first?.request.round { try requireRevealHolders(coHolders.map(\.id), round: roundID, actor: actor, action: "reveal") }
        let request = try buildRevealRequest(items.map(\.request), actor: actor, present: [actor] + coHolders, travelling: false)
        return try reveal(items, request: request, approvals: [], actor: actor, coHolders: coHolders, progress: progress)
    }

    /// The reveal itself. `holders`: the distinct reveal holders taking part (the policy's
    /// `context.holders`). `roundKey` rebuilds the round key from what they released, once the
    /// first question is answered; nil asks the first question only (a reveal request, which
    /// is refused early for what the policy refuses whoever approves). `requestDetails` go into
    /// every audit entry of the reveal (the request's SHA-256).
    func reveal(_ items: [(request: RevealRequest, publish: Bool)], actor: Actor, holders holderList: [PrincipalID],
                roundKey: ((Round) throws -> Curve25519.KeyAgreement.PrivateKey)?, tallyCells: ((Round) throws -> CellTable)? = nil,
                requestDetails: [String: JSONValue] = [:], progress: ((Int, Int) -> Void)? = nil) throws -> [RevealOutcome] {
        guard let roundID = items.first?.request.round, items.allSatisfy({ $0.request.round == roundID }) else {
            throw VaultError.usage("a reveal covers one round")
        }
        let target = "round/\(roundID)"
        let round = try recordingFailure(actor: actor.id.rawValue, action: "reveal", target: target) {
            try self.round(roundID, verifiedWith: actor.chairKey)
        }
        if round.state == .shredded {
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "reveal", target: target, outcome: .failed,
                                          details: ["reason": .string("round shredded")]), signer: actor.keys.signing)
            throw VaultError.notFound("round \(roundID) was shredded: its key is destroyed and its seals can never be opened")
        }
        let holderIDs = Set(holderList.filter { round.config.reveal.holders.contains($0) })
        func details(_ request: RevealRequest) -> [String: JSONValue] {
            var d: [String: JSONValue] = [
                "stat": .string(request.stat.rawValue), "by": .array(request.by.map { .string($0) }),
                "precision": .integer(Int64(request.precision)), "format": .string(request.format.rawValue),
                "holders": .array(holderIDs.sorted().map { .string($0.rawValue) }), "declared": .bool(isDeclared(request)),
            ]
            d.merge(requestDetails) { a, _ in a }
            if let t = request.trim { d["trim"] = .string(t.description) }
            if let a = request.advance { d["advance"] = .integer(Int64(a)) }
            return d
        }
        // A round is governed by the policy version it opened under, for good.
        let governing = try policy(for: round, chairKey: actor.chairKey)
        func isDeclared(_ request: RevealRequest) -> Bool {
            round.config.declaration(stat: request.stat, by: request.by, precision: request.precision, advance: request.advance,
                                     trim: request.trim) != nil
        }
        func policyRequest(_ request: RevealRequest, minGroup: Int?, declared: Bool? = nil) -> PolicyRequest {
            var resource: [String: PolicyValue] = ["round": round.policyAttributes, "stat": .string(request.stat.rawValue),
                                                   "by": .list(request.by.map { .string($0) }),
                                                   "declared": .bool(declared ?? isDeclared(request))]
            if let minGroup { resource["min_group"] = .long(Int64(minGroup)) }
            return PolicyRequest(principal: Self.attributes(of: actor.principal), action: "reveal", resource: resource,
                                 context: ["holders": .long(Int64(holderIDs.count))])
        }
        // A refusal says what in the request was refused when that can be told exactly: the
        // reason goes into the denial's audit entry and its message.
        func decide(_ asked: PolicyRequest, details: [String: JSONValue], reason: String?) throws -> PolicyDecision {
            try authorize(asked, actor: actor, target: target, details: details, policy: governing.set, reason: reason)
        }

        // 1. Before anything is decrypted.
        for (request, publish) in items {
            let asked = policyRequest(request, minGroup: nil)
            // Undeclared, and refused because of it (the decision would differ were it declared):
            // say what the round declares.
            var reason: String?
            if !isDeclared(request) {
                let decision = governing.set.evaluate(asked), ifDeclared = governing.set.evaluate(policyRequest(request, minGroup: nil, declared: true))
                if !decision.allowed && (ifDeclared.allowed || ifDeclared.determining != decision.determining) {
                    reason = Self.undeclared(request, in: round.config)
                }
            }
            _ = try decide(asked, details: details(request), reason: reason)
            guard !request.by.contains("evaluator") else {
                // Whatever a policy says, EvalVault never computes anything per evaluator (design: invariant 3).
                try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "reveal", target: target, outcome: .denied,
                                              details: details(request)), signer: actor.keys.signing)
                throw VaultError.denied(policyIDs: ["never-by-evaluator (built in)"])
            }
            if publish && actor.principal.role != .chair {
                throw VaultError.permission("only the chair can sign a published result; \(actor.id) is \(actor.principal.role.rawValue)")
            }
        }
        guard roundKey != nil || tallyCells != nil else { return [] }

        // 2. Key, verification (once), statistics (per request).
        var computed: [AggregateResult] = []
        var failing = items[0].request
        do {
            // Sums per cell (a tally round's, decrypted from its holders' shares); the individual
            // values only if a statistic needs them (never in a tally round).
            let keepValues = items.contains { ![.weightedTotal, .rank].contains($0.request.stat) }
            var latest = try tallyCells?(round)
                ?? openCells(round, privateKey: try roundKey!(round), chairKey: actor.chairKey, keepValues: keepValues, progress: progress)
            defer { latest.wipe() }  // the decrypted values go as soon as they are counted
            for (request, _) in items {
                failing = request
                computed.append(try Aggregator(config: round.config, precision: request.precision, trim: request.trim, advance: request.advance)
                    .compute(request.stat, by: request.by, over: latest))
            }
        } catch let error as VaultError {
            if case .denied = error { throw error }
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "reveal", target: target, outcome: .failed,
                                          details: details(failing).merging(["exit_status": .integer(Int64(error.exitStatus.rawValue))]) { $1 }),
                              signer: actor.keys.signing)
            throw error
        }

        // 3. Before anything is printed: the smallest contributing cell of each result. Only
        //    min_group differs from the first question, so a refusal here is because of it: the
        //    message names the first cell (round order) whose own count the policy refuses.
        var decisions: [(PolicyDecision, [String: JSONValue])] = []
        for ((request, _), result) in zip(items, computed) {
            var d = details(request)
            d["min_group"] = .integer(Int64(result.minGroup))
            let asked = policyRequest(request, minGroup: result.minGroup)
            var reason: String?
            if !governing.set.evaluate(asked).allowed {
                reason = Self.shortCell(of: result) { governing.set.evaluate(policyRequest(request, minGroup: $0)).allowed }
            }
            decisions.append((try decide(asked, details: d, reason: reason), d))
        }

        // 4. Render and record each. A published one is signed, its hash goes into the reveal's
        //    entry, and the file carries that entry's inclusion proof in a fresh checkpoint.
        let counted = round.state == .closed ? try manifest(of: roundID) : Manifest(vault: id, round: roundID, log: log)
        return try zip(zip(items, computed), decisions).map { pair, decided in
            let ((request, publish), result) = pair
            let decision = decided.0
            var d = decided.1
            let output = result.render(request.format)
            d["output_sha256"] = .string(Hex.encode(SHA256.hash(data: output)))
            d["groups"] = .integer(Int64(result.groups.count))
            let statement: [UInt8]? = try write {
                guard publish else {
                    try appendAudit(AuditRecord(actor: actor, action: "reveal", target: target, decision: decision, details: d),
                                    signer: actor.keys.signing)
                    return nil
                }
                let core = try ResultStatement.sign(result: result, request: request, vaultID: id, policySHA256: decision.policySHA256,
                                                    policyVersion: governing.version, manifest: counted, chair: actor)
                d["statement_sha256"] = .string(Hex.encode(SHA256.hash(data: core)))
                let seq = try appendAudit(AuditRecord(actor: actor, action: "reveal", target: target, decision: decision, details: d),
                                          signer: actor.keys.signing)
                let note = try signCheckpoint(chair: actor.id, key: actor.keys.signing)
                let (entry, sig) = try auditEntry(seq)
                return ResultStatement.attachLog(core: core, entry: entry, signature: sig, rootBefore: Merkle.root(ofLeafHashes: leaves[..<seq]), index: seq,
                                                 proof: Merkle.inclusionProof(index: seq, leafHashes: leaves[..<note.checkpoint.size]),
                                                 checkpoint: note)
            }
            return RevealOutcome(output: output, result: result, statement: statement)
        }
    }
}

extension Vault {
    /// Why an undeclared request was refused: what the round declares, and how this request
    /// differs from the nearest declaration (same statistic and grouping) if there is one.
    static func undeclared(_ r: RevealRequest, in config: RoundConfig) -> String {
        let asked = DeclaredReveal(stat: r.stat, by: r.by, precision: r.precision, advance: r.advance, trim: r.trim)
        guard !config.publish.isEmpty else { return "round \(config.id) declares no reveals; this request asks \(asked.description)" }
        if let near = config.publish.first(where: { $0.stat == r.stat && Set($0.by) == Set(r.by) && $0.by.count == r.by.count }) {
            var differs: [String] = []
            if near.precision != r.precision { differs.append("precision \(r.precision)") }
            if near.advance != r.advance { differs.append(r.advance.map { "advance \($0)" } ?? "no advance") }
            if near.trim != r.trim { differs.append(r.trim.map { "trim \($0)" } ?? "no trim") }
            return "round \(config.id) declares \(near.description); this request asks \(differs.joined(separator: ", "))"
        }
        return "round \(config.id) does not declare \(r.stat.rawValue) by \(r.by.joined(separator: ",")) (it declares: "
            + config.publish.map(\.description).joined(separator: "; ") + ")"
    }

    /// The first contributing cell, in round order, whose own count `allows` refuses — named with
    /// its count and the smallest count above it that `allows` accepts ("the policy needs N").
    /// Nil when every cell passes alone (a policy that refuses for another reason).
    static func shortCell(of result: AggregateResult, allows: (Int) -> Bool) -> String? {
        var known: [Int: Bool] = [:]
        func ok(_ n: Int) -> Bool {
            if let k = known[n] { return k }
            let k = allows(n)
            known[n] = k
            return k
        }
        guard let cell = result.cells.first(where: { !ok($0.n) }) else { return nil }
        let counted = "\(cell.team)/\(cell.criterion): \(cell.n) evaluator\(cell.n == 1 ? "" : "s")"
        // Policies state minimums as small numbers; look a long way above the cell's count.
        if let needed = (cell.n + 1...cell.n + 10_000).first(where: ok) { return "\(counted), the policy needs \(needed)" }
        return "\(counted), too few for the policy"
    }
}

/// A published result (`reveal --publish FILE`): what was revealed, signed by the chair, and
/// bound to the audit log — checkable by anyone with `evalvault verify-result FILE`, with no
/// vault and no passphrase.
///
/// The file is canonical JSON (RFC 8785). Its signed core has members format, vault, round,
/// stat, by, precision, groups, policy_sha256, policy_version, manifest_root, manifest_leaves
/// (the counted batches' manifest leaves, hex, in order), chair, chair_key, chair_x25519 and
/// signature (Ed25519 by chair_key over the canonical JSON of the other core members). The
/// member `log` binds it to the audited reveal: the reveal's entry, whose details hold the
/// SHA-256 of the canonical core, the chair's signature on that entry, its index, an RFC 9162
/// inclusion proof and the signed checkpoint it leads to. A statement re-signed by the chair
/// with other numbers no longer matches the entry the log holds.
public enum ResultStatement {
    public static let formatName = "evalvault-result/2"

    /// The chair key a verifier expects, given out of band (instead of trusting the embedded one).
    public enum ChairPin: Sendable {
        case key(PublicKeys)
        case fingerprint(String)
    }
    /// The largest statement file `verify-result` reads. A group takes under 150 bytes, so this
    /// holds over 100,000 groups (teams, or team and criterion pairs).
    public static let maxFileSize = 16 << 20

    static func sign(result: AggregateResult, request: RevealRequest, vaultID: String, policySHA256: String, policyVersion: Int,
                     manifest: Manifest, chair: Actor) throws -> [UInt8] {
        var body: [String: JSONValue] = [
            "format": .string(formatName), "vault": .string(vaultID), "round": .string(result.round), "stat": .string(result.stat.rawValue),
            "by": .array(result.by.map { .string($0) }), "precision": .integer(Int64(request.precision)), "groups": result.groupsJSON,
            "policy_sha256": .string(policySHA256), "policy_version": .integer(Int64(policyVersion)),
            "manifest_root": .string(Hex.encode(manifest.root)), "manifest_leaves": .array(manifest.leafHashes.map { .string(Hex.encode($0)) }),
            "chair": .string(chair.id.rawValue),
            "chair_key": .string(Base64.encode(chair.principal.publicKeys.signing.rawRepresentation)),
            "chair_x25519": .string(Base64.encode(chair.principal.publicKeys.agreement.rawRepresentation)),
        ]
        let signature = try chair.keys.signing.signature(for: CanonicalJSON.encode(.object(body)))
        body["signature"] = .string(Base64.encode(signature))
        return CanonicalJSON.encode(.object(body))
    }

    static func attachLog(core: [UInt8], entry: JSONValue, signature: [UInt8]?, rootBefore: [UInt8], index: Int, proof: [[UInt8]],
                          checkpoint: Checkpoint.Note) -> [UInt8] {
        guard case .object(var body)? = try? JSONParser.parse(core, allowWhitespace: false) else { preconditionFailure("our own statement parses") }
        body["log"] = .object([
            "entry": entry, "sig": signature.map { .string(Base64.encode($0)) } ?? .null, "root_before": .string(Base64.encode(rootBefore)),
            "index": .integer(Int64(index)),
            "proof": .array(proof.map { .string(Base64.encode($0)) }), "checkpoint": .string(checkpoint.text),
        ])
        return CanonicalJSON.encode(.object(body)) + [0x0A]
    }

    /// What a verified statement says.
    public struct Verified: Sendable {
        public let vault: String
        public let round: String
        public let stat: String
        public let groups: [JSONValue]
        public let chair: String
        public let chairFingerprint: Fingerprint
        public let checkpointSize: Int
        public let entryIndex: Int
        public let policySHA256: String
        public let manifestRoot: String
        public let manifestLeaves: [[UInt8]]
        /// When the reveal happened: the time (RFC 3339, UTC) of its chair-signed log entry.
        public let revealTime: String
    }

    public static func verify(_ bytes: [UInt8], expectedChair: ChairPin? = nil) throws -> Verified {
        let bad = { (why: String) in VaultError.integrity("the result statement \(why)") }
        let v: JSONValue
        do { v = try JSONParser.parse(bytes, integersOnly: true) } catch { throw bad("is not valid JSON (\(error))") }
        guard case .object(var body) = v, body["format"]?.stringValue == formatName else { throw bad("is not an \(formatName) file") }
        guard let log = body.removeValue(forKey: "log")?.objectValue else { throw bad("carries no binding to the audit log") }
        let core = CanonicalJSON.encode(.object(body))
        guard let sig = body.removeValue(forKey: "signature")?.stringValue.flatMap(Base64.decode),
              let chair = body["chair"]?.stringValue, let vault = body["vault"]?.stringValue,
              let keyRaw = body["chair_key"]?.stringValue.flatMap(Base64.decode), let xRaw = body["chair_x25519"]?.stringValue.flatMap(Base64.decode),
              let round = body["round"]?.stringValue, let stat = body["stat"]?.stringValue,
              let groups = body["groups"]?.arrayValue, let policy = body["policy_sha256"]?.stringValue,
              let root = body["manifest_root"]?.stringValue, let leafList = body["manifest_leaves"]?.arrayValue else { throw bad("lacks a field") }
        let keys: PublicKeys
        do { keys = try PublicKeys(agreementRaw: xRaw, signingRaw: keyRaw) } catch { throw bad("has a malformed chair key") }
        switch expectedChair {
        case .key(let expected)? where expected != keys:
            throw bad("is signed by chair key \(keys.fingerprint), not the expected \(expected.fingerprint)")
        case .fingerprint(let expected)? where expected.lowercased() != keys.fingerprint.description:
            throw bad("is signed by chair key \(keys.fingerprint), not the expected \(expected)")
        default: break
        }
        guard keys.signing.isValidSignature(sig, for: CanonicalJSON.encode(.object(body))) else {
            throw bad("does not match its signature (changed after signing, or not signed by the named chair key)")
        }
        let leaves = try leafList.map { l -> [UInt8] in
            guard let h = l.stringValue.flatMap(Hex.decode), h.count == 32 else { throw bad("has a malformed manifest leaf") }
            return h
        }
        guard Hex.encode(Merkle.root(ofLeafHashes: leaves[...])) == root else { throw bad("has a manifest root that its leaves do not give") }

        // Bound to the log: the chair-signed reveal entry holds this core's hash, and it is in
        // the chair-signed checkpoint.
        guard let entry = log["entry"], let index = log["index"]?.integerValue, let path = log["proof"]?.arrayValue,
              let note = log["checkpoint"]?.stringValue, let entrySig = log["sig"]?.stringValue.flatMap(Base64.decode),
              let rootBefore = log["root_before"]?.stringValue.flatMap(Base64.decode), rootBefore.count == 32 else {
            throw bad("has an incomplete audit-log binding")
        }
        guard entry["action"]?.stringValue == "reveal", entry["actor"]?.stringValue == chair, entry["target"]?.stringValue == "round/\(round)",
              entry["seq"]?.integerValue == index, entry["details"]?["statement_sha256"]?.stringValue == Hex.encode(SHA256.hash(data: core)) else {
            throw bad("is not the one the audit log recorded for this reveal (its hash is not in the reveal's entry)")
        }
        let leaf = Merkle.leafHash(CanonicalJSON.encode(entry))
        guard keys.signing.isValidSignature(entrySig, for: AuditSignature.message(leaf: leaf, rootBefore: rootBefore)) else {
            throw bad("carries a reveal entry not signed by the chair")
        }
        let cp = try Checkpoint.parse(note: note)
        guard cp.isSigned(by: chair, key: keys.signing), cp.checkpoint.origin == "evalvault/\(vault)" else {
            throw bad("carries a checkpoint not signed by the chair for this vault")
        }
        let hashes = try path.map { h -> [UInt8] in
            guard let b = h.stringValue.flatMap(Base64.decode), b.count == 32 else { throw bad("has a malformed proof hash") }
            return b
        }
        guard Merkle.verifyInclusion(leafHash: leaf, index: Int(index), treeSize: cp.checkpoint.size, proof: hashes, root: cp.checkpoint.root) else {
            throw bad("carries a reveal entry that is not in its checkpoint (the inclusion proof fails)")
        }
        return Verified(vault: vault, round: round, stat: stat, groups: groups, chair: chair, chairFingerprint: keys.fingerprint,
                        checkpointSize: cp.checkpoint.size, entryIndex: Int(index), policySHA256: policy, manifestRoot: root,
                        manifestLeaves: leaves, revealTime: entry["time"]?.stringValue ?? "")
    }
}

