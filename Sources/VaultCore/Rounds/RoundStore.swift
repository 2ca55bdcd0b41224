import Foundation
import VaultCrypto

/// A round's life: create, open, close, shred, list, show (design: Concepts, Cryptography, Command
/// line). Rows are read and written by the store (`Store/RoundRows.swift`).
extension Vault {
    func requireChair(_ actor: Actor, action: String, target: String, decision: PolicyDecision) throws {
        guard actor.principal.role == .chair else {
            try recordAttempt(AuditRecord(actor: actor, action: action, target: target, decision: decision, outcome: .failed,
                                          details: ["reason": .string("only the chair signs this")]), signer: actor.keys.signing)
            throw VaultError.permission("only the chair can do this (it signs the result); \(actor.id) is \(actor.principal.role.rawValue)")
        }
    }

    /// `round create`: validated definition (holders enrolled as chair or committee, enabled),
    /// stored as a draft signed by the chair.
    public func createRound(_ config: RoundConfig, actor: Actor) throws {
        let target = "round/\(config.id)"
        let request = PolicyRequest(principal: Self.attributes(of: actor.principal), action: "round.create",
                                    resource: ["round": .record(["id": .string(config.id), "state": .string("draft"),
                                                                 "threshold": .long(Int64(config.reveal.threshold))])])
        let decision = try authorize(request, actor: actor, target: target)
        try requireChair(actor, action: "round.create", target: target, decision: decision)
        if try roundRowExists(config.id) {
            try recordAttempt(AuditRecord(actor: actor, action: "round.create", target: target, decision: decision, outcome: .failed,
                                          details: ["reason": .string("id taken")]), signer: actor.keys.signing)
            throw VaultError.usage("a round \(config.id) already exists")
        }
        var problems: [String] = []
        for h in config.reveal.holders {
            do {
                let p = try principal(h, verifiedWith: actor.chairKey)
                if p.role != .chair && p.role != .committee { problems.append("reveal holder \(h) is \(p.role.rawValue), not chair or committee") }
                if !p.enabled { problems.append("reveal holder \(h) is disabled") }
            } catch VaultError.notFound {
                problems.append("reveal holder \(h) is not enrolled (add it with `evalvault principal add`)")
            }
        }
        if !problems.isEmpty {
            try recordAttempt(AuditRecord(actor: actor, action: "round.create", target: target, decision: decision, outcome: .failed,
                                          details: ["problems": .integer(Int64(problems.count))]), signer: actor.keys.signing)
            throw VaultError.invalidData(problems.joined(separator: "\n"))
        }
        try write {
            guard log.head(.round, config.id) == nil else { throw VaultError.usage("a round \(config.id) already exists") }
            let record = try store(Round(config: config, state: .draft, policyVersion: nil, publicKey: nil, version: 1, panel: []),
                                   signedBy: actor.keys.signing, replacing: false)
            try appendAudit(AuditRecord(actor: actor, action: "round.create", target: target, decision: decision,
                                        details: ["teams": .integer(Int64(config.teams.count)), "criteria": .integer(Int64(config.criteria.count)),
                                                  "holders": .integer(Int64(config.reveal.holders.count)),
                                                  "threshold": .integer(Int64(config.reveal.threshold))]),
                            signer: actor.keys.signing, objects: [record])
        }
    }

    static func roundKeyInfo(vaultID: String, roundID: String) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/round-key-wrap/v1")
        e.append(vaultID)
        e.append(roundID)
        return e.bytes
    }

    /// The common start of a round's change of state: the round verified with the actor's
    /// chair key, the policy's decision, the chair check (only the chair signs rounds), and the
    /// state the round must be in — each refusal recorded in the audit log.
    func beginTransition(_ roundID: String, action: String, from required: RoundState, actor: Actor,
                         refusal: String, context: [String: PolicyValue] = [:]) throws -> (round: Round, decision: PolicyDecision, target: String) {
        let current = try round(roundID, verifiedWith: actor.chairKey)
        let target = "round/\(roundID)"
        let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: action,
                                                   resource: ["round": current.policyAttributes], context: context), actor: actor, target: target,
                                     policy: try policy(for: current, chairKey: actor.chairKey).set)
        try requireChair(actor, action: action, target: target, decision: decision)
        guard current.state == required else {
            try recordAttempt(AuditRecord(actor: actor, action: action, target: target, decision: decision, outcome: .failed,
                                          details: ["reason": .string("round is \(current.state.rawValue)")]), signer: actor.keys.signing)
            throw VaultError.usage("round \(roundID) is \(current.state.rawValue); \(refusal)")
        }
        return (current, decision, target)
    }

    /// `round open` with the holders present in this command (the chair and `coHolders`): the
    /// panel is fixed — the round file's, or the enrolled, enabled evaluators at this moment — and
    /// approved by k of the round's reveal holders, each signing the opened round's record; the
    /// policy decides with `context.holders`. A fresh X25519 key pair: the public half signed into
    /// the round record, the private half wrapped with HPKE to each holder — whole when k = 1, as
    /// one Shamir share per holder when k > 1 — and dropped from memory. The round records the
    /// policy version in force, which governs it for good.
    ///
    /// It is the file flow run in one process (`Approvals/OpenApprovals.swift`): the request is
    /// made, each present holder approves it as `evalvault approve` would, and the open is
    /// completed from those approvals.
    ///
    /// Why k holders: otherwise the chair alone could enrol evaluators whose keys it holds and
    /// let them seal next to a real one, then read the real score off a mean.
    public func openRound(_ roundID: String, actor: Actor, coHolders: [Actor] = []) throws -> Round {
        let draft = try recordingFailure(actor: actor.id.rawValue, action: "round.open", target: "round/\(roundID)") {
            try round(roundID, verifiedWith: actor.chairKey)
        }
        try requireRevealHolders(coHolders.map(\.id), of: draft, actor: actor, action: "round.open")
        let approving = Self.approvingHolders([actor] + coHolders, of: draft)
        let k = draft.config.reveal.threshold
        if draft.state == .draft && approving.count < k {
            // The cryptographic floor, said plainly before the policy is asked (it says the same).
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "round.open", target: "round/\(roundID)",
                                          outcome: .denied, details: ["holders": .integer(Int64(approving.count)), "threshold": .integer(Int64(k))]),
                              signer: actor.keys.signing)
            throw VaultError.permission("round \(roundID) needs \(k) of its reveal holders (\(draft.config.reveal.holders.map(\.rawValue).joined(separator: ", "))) to approve its panel and open; \(approving.count) took part (add --with ID for each co-holder)")
        }
        let (request, _) = try buildOpenRequest(roundID, actor: actor, holdersTakingPart: approving.count)
        return try openRound(request: request, approvals: [], actor: actor, coHolders: coHolders, expectedRound: roundID)
    }

    /// The distinct reveal holders of `round` among `actors`, in id order.
    static func approvingHolders(_ actors: [Actor], of round: Round) -> [Actor] {
        Dictionary(actors.filter { round.config.reveal.holders.contains($0.id) }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            .values.sorted { $0.id < $1.id }
    }

    /// The panel a round opens with: the round file's list (each an enrolled, enabled
    /// evaluator), or every enrolled, enabled evaluator now.
    func panel(for config: RoundConfig, chairKey: Curve25519.Signing.PublicKey) throws -> [PrincipalID] {
        let evaluators = try allPrincipals(verifiedWith: chairKey).filter { $0.role == .evaluator && $0.enabled }
        guard let listed = config.panel else {
            guard !evaluators.isEmpty else { throw VaultError.usage("round \(config.id) has no panel: no evaluator is enrolled (add them with `evalvault principal add`)") }
            return evaluators.map(\.id)
        }
        let known = Set(evaluators.map(\.id))
        let problems = listed.filter { !known.contains($0) }
        guard problems.isEmpty else {
            throw VaultError.usage("the panel of round \(config.id) names \(problems.map(\.rawValue).joined(separator: ", ")), not an enrolled, enabled evaluator")
        }
        return listed.sorted()
    }

    /// `round close`: frozen — nothing can be sealed after (the state is read inside every seal's
    /// write transaction) — with a manifest of the counted batches, signed by the chair in the
    /// close entry (its Merkle root) and stored, and a checkpoint signed over the result.
    public func closeRound(_ roundID: String, actor: Actor) throws -> (Round, Checkpoint.Note) {
        let (current, decision, target) = try beginTransition(roundID, action: "round.close", from: .open, actor: actor,
                                                              refusal: "only an open round can be closed")
        let closed = current.moved(to: .closed)
        return try write {
            guard try round(roundID, verifiedWith: actor.chairKey).state == .open else { throw VaultError.usage("round \(roundID) was closed meanwhile") }
            let manifest = try checkStoredBatches(of: roundID, signed: nil).manifest
            let roundRecord = try store(closed, signedBy: actor.keys.signing, replacing: true)
            let manifestRecord = try storeManifest(manifest)
            try appendAudit(AuditRecord(actor: actor, action: "round.close", target: target, decision: decision,
                                        details: ["batches": .integer(Int64(manifest.items.count)), "scores": .integer(Int64(manifest.scoreCount)),
                                                  "manifest_root": .string(Hex.encode(manifest.root))]),
                            signer: actor.keys.signing, objects: [roundRecord, manifestRecord])
            return (closed, try signCheckpoint(chair: actor.id, key: actor.keys.signing))
        }
    }

    /// `round shred`: destroys every wrap of the round's private key and every share of it, so
    /// its seals can never be opened again, by anyone. The pages they occupied are zeroed
    /// (`secure_delete`), and the WAL is checkpointed and truncated so no copy lingers there.
    /// The round keeps its record (state `shredded`) and its seals, which are now only noise.
    public func shredRound(_ roundID: String, actor: Actor) throws -> Int {
        let (current, decision, target) = try beginTransition(roundID, action: "round.shred", from: .closed, actor: actor,
                                                              refusal: "only a closed round can be shredded")
        let shredded = current.moved(to: .shredded)
        let removed: Int = try write {
            let destroyed = try destroyWraps(ofRound: roundID)
            let record = try store(shredded, signedBy: actor.keys.signing, replacing: true)
            try appendAudit(AuditRecord(actor: actor, action: "round.shred", target: target, decision: decision,
                                        details: ["key_wraps_destroyed": .integer(Int64(destroyed.count))]),
                            signer: actor.keys.signing, objects: destroyed + [record])
            return destroyed.count
        }
        try database.truncateWAL()
        return removed
    }

    /// How many batches and scores a round holds, as the signed log records them (visible to
    /// readers of vault.db, design: Invariants).
    public func sealCounts(_ roundID: String) throws -> (batches: Int, scores: Int) {
        let batches = log.batches(ofRound: roundID)
        return (batches.count, batches.reduce(0) { $0 + ($1.count ?? 0) })
    }

    /// `round list` / `round show`: verified with the recorded chair key; the read is audited.
    public func listRounds(claimedActor: String?) throws -> [Round] {
        try recordingFailure(actor: claimedActor ?? "anonymous", action: "round.list", target: "rounds") {
            let key = try chairKey
            let rounds = try roundIDs().map { try round($0, verifiedWith: key) }
            try recordAttempt(AuditRecord(actor: claimedActor ?? "anonymous", authenticated: false, action: "round.list", target: "rounds"), signer: nil)
            return rounds
        }
    }

    public func showRound(_ roundID: String, claimedActor: String?) throws -> Round {
        try recordingFailure(actor: claimedActor ?? "anonymous", action: "round.show", target: "round/\(roundID)") {
            let r = try round(roundID, verifiedWith: try chairKey)
            try recordAttempt(AuditRecord(actor: claimedActor ?? "anonymous", authenticated: false, action: "round.show", target: "round/\(roundID)"), signer: nil)
            return r
        }
    }
}
