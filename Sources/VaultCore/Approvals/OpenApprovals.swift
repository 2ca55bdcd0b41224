import Foundation
import VaultCrypto

/// Opening a round with its holders' approvals as files (design: Across machines): the chair
/// makes the request (`round open R --request-out`), each holder approves it on its own machine
/// (`evalvault approve`), the chair completes the open with the approvals (`round open R
/// --request … --approval …`). `openRound(_:actor:coHolders:)` runs the same three steps in one
/// process for holders present with `--with`.
extension Vault {
    /// `round open R --request-out FILE`: the request, audited (`round.open.request`). The policy
    /// is asked now as it will be at completion, with every holder counted (the most that can
    /// approve), so a request the policy would refuse whoever approves is refused at once.
    public func makeOpenRequest(_ roundID: String, actor: Actor) throws -> OpenRequestFile {
        let (request, decision) = try buildOpenRequest(roundID, actor: actor, holdersTakingPart: nil)
        try recordAttempt(AuditRecord(actor: actor, action: "round.open.request", target: "round/\(roundID)", decision: decision,
                                      details: ["request_sha256": .string(Hex.encode(request.digest)),
                                                "public_key": .string(Base64.encode(request.round.publicKey?.rawRepresentation ?? [])),
                                                "panel": .array(request.round.panel.map { .string($0.rawValue) })]),
                          signer: actor.keys.signing)
        return request
    }

    /// The request itself: the policy's decision for opening (with `holdersTakingPart`, or every
    /// holder), the panel, a fresh round key pair whose private half is wrapped or split to the
    /// holders exactly as vault.db will store it and then dropped, and the opened round's record.
    func buildOpenRequest(_ roundID: String, actor: Actor, holdersTakingPart: Int?) throws -> (OpenRequestFile, PolicyDecision) {
        let draft = try recordingFailure(actor: actor.id.rawValue, action: "round.open", target: "round/\(roundID)") {
            try round(roundID, verifiedWith: actor.chairKey)
        }
        let (current, decision, _) = try beginTransition(roundID, action: "round.open", from: .draft, actor: actor,
                                                         refusal: "only a draft round can be opened",
                                                         context: ["holders": .long(Int64(holdersTakingPart ?? draft.config.reveal.holders.count))])
        let k = current.config.reveal.threshold
        let holders = try current.config.reveal.holders.map { try principal($0, verifiedWith: actor.chairKey) }
        let panel = try panel(for: current.config, chairKey: actor.chairKey)
        let policyVersion = try policyInForce(chairKey: actor.chairKey).version
        if current.config.mode == .tally {
            // A tally round's key is its ceremony's joint key: no key is made here, nothing is wrapped.
            guard current.ceremony != nil else {
                throw VaultError.usage("round \(roundID) is a tally round: its holders make its key first (`evalvault ceremony start \(roundID) --out \(roundID).ceremony`)")
            }
            let opened = Round(config: current.config, state: .open, policyVersion: policyVersion, publicKey: nil, version: current.version + 1,
                               panel: panel, ceremony: current.ceremony)
            return (try OpenRequestFile.make(vault: id, round: opened, wraps: [], requester: actor, created: Timestamp.now()), decision)
        }
        let key = Curve25519.KeyAgreement.PrivateKey()
        let info = Self.roundKeyInfo(vaultID: id, roundID: roundID)
        let purpose = HolderWrap.purpose(threshold: k)
        let pieces: [SecureBytes] = k == 1
            ? holders.map { _ in key.rawRepresentation }
            : try Shamir.split(key.rawRepresentation, threshold: k, shares: holders.count).map(\.serialized)
        let wraps = try zip(holders, pieces).map { holder, piece in
            let (enc, ct) = try HPKE.seal(piece, to: holder.publicKeys.agreement, info: info,
                                          authenticating: Array("\(purpose):\(holder.id.rawValue)".utf8))
            return HolderWrap(holder: holder.id, purpose: purpose, enc: enc, ct: ct)
        }
        let opened = Round(config: current.config, state: .open, policyVersion: policyVersion, publicKey: key.publicKey,
                           version: current.version + 1, panel: panel)
        return (try OpenRequestFile.make(vault: id, round: opened, wraps: wraps, requester: actor, created: Timestamp.now()), decision)
    }

    /// `round open R --request FILE --approval FILE…`: completes an open from its request and the
    /// holders' approvals (and the chair's own, and any `--with` co-holders', approved here in the
    /// same way). Checks the request is this chair's, for this vault and round, still current
    /// (the round a draft, the same panel and policy version); each approval is for exactly this
    /// request, by one of the round's holders, signed with the key the signed log records. Then
    /// stores exactly the request's wraps and round record, with the approvals in the open entry.
    public func openRound(request bytes: [UInt8], file: String, approvals: [(bytes: [UInt8], file: String)], actor: Actor,
                          coHolders: [Actor] = [], expectedRound: String) throws -> Round {
        let request = try refusing(actor, action: "round.open", target: "round/\(expectedRound)") { try OpenRequestFile(bytes: bytes, file: file) }
        return try openRound(request: request, approvals: approvals, actor: actor, coHolders: coHolders, expectedRound: expectedRound)
    }

    func openRound(request: OpenRequestFile, approvals: [(bytes: [UInt8], file: String)], actor: Actor, coHolders: [Actor],
                   expectedRound: String?) throws -> Round {
        let roundID = request.round.id, target = "round/\(roundID)"
        let (current, fromFiles) = try refusing(actor, action: "round.open", target: target) { () throws -> (Round, [ApprovalFile]) in
            try checkRequest(vault: request.vault, round: roundID, expectedRound: expectedRound, requester: request.requester,
                             keys: request.requesterKeys, actor: actor, what: "open request")
            let current = try round(roundID, verifiedWith: actor.chairKey)
            return (current, try approvals.map { try verifyApproval($0.bytes, file: $0.file, for: .open(request), round: current, chairKey: actor.chairKey) })
        }
        try requireRevealHolders(coHolders.map(\.id), of: current, actor: actor, action: "round.open")
        let present = Self.approvingHolders([actor] + coHolders, of: current)
        let approvers = Set(fromFiles.map(\.holder)).union(present.map(\.id)).sorted()
        let k = current.config.reveal.threshold
        if current.state == .draft && approvers.count < k {
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "round.open", target: target, outcome: .denied,
                                          details: ["holders": .integer(Int64(approvers.count)), "threshold": .integer(Int64(k))]),
                              signer: actor.keys.signing)
            throw Self.tooFewHolders(current, to: "approve its panel and open", approved: approvers)
        }
        let (draft, decision, _) = try beginTransition(roundID, action: "round.open", from: .draft, actor: actor,
                                                       refusal: "only a draft round can be opened",
                                                       context: ["holders": .long(Int64(approvers.count))])
        // Still what the vault would open now: a request made before an evaluator was enrolled
        // or disabled, or before another policy was applied, is out of date.
        let policyVersion = try policyInForce(chairKey: actor.chairKey).version
        let panel = try panel(for: draft.config, chairKey: actor.chairKey)
        try refusing(actor, action: "round.open", target: target) {
            guard request.round.config == draft.config, request.round.version == draft.version + 1 else {
                throw VaultError.integrity("the open request's round \(roundID) is not the draft this vault holds")
            }
            guard request.round.panel == panel, request.round.policyVersion == policyVersion else {
                throw VaultError.usage("the open request for round \(roundID) is out of date (\(request.round.panel == panel ? "policy version \(policyVersion) was applied since" : "the panel is now \(panel.map(\.rawValue).joined(separator: ", "))")); make a new one with `round open \(roundID) --request-out FILE`")
            }
        }
        // The holders present in this command approve here, as a holder's own client does.
        var approvals = Dictionary(fromFiles.map { ($0.holder, $0) }, uniquingKeysWith: { a, _ in a })
        for h in present where approvals[h.id] == nil {
            let bytes = try Approver.approve(.open(request), as: h.id, keys: h.keys, trusting: actor.principal.publicKeys.signing)
            approvals[h.id] = try verifyApproval(bytes, file: "the approval by \(h.id)", for: .open(request), round: draft, chairKey: actor.chairKey)
        }
        let logged: [JSONValue] = approvals.keys.sorted().map { h in
            .object(["holder": .string(h.rawValue), "sig": .string(Base64.encode(approvals[h]!.roundSignature!))])
        }
        let opened = request.round
        try write {
            guard try round(roundID, verifiedWith: actor.chairKey).state == .draft else { throw VaultError.usage("round \(roundID) was opened meanwhile") }
            var objects: [ObjectRecord] = []
            for w in request.wraps {
                objects.append(try storeWrap(purpose: w.purpose, scope: roundID, recipient: w.holder, enc: w.enc, ct: w.ct))
            }
            let record = try store(opened, signedBy: actor.keys.signing, replacing: true)
            guard record.sha256 == request.recordSHA256 else { throw VaultError.internalError("the stored round record is not the one the holders approved") }
            objects.append(record)
            try appendAudit(AuditRecord(actor: actor, action: "round.open", target: target, decision: decision,
                                        details: ["policy_version": .integer(Int64(policyVersion)),
                                                  "public_key": .string(Base64.encode(opened.publicKey?.rawRepresentation ?? [])),
                                                  "panel": .array(panel.map { .string($0.rawValue) }), "approvals": .array(logged),
                                                  "request_sha256": .string(Hex.encode(request.digest))]),
                            signer: actor.keys.signing, objects: objects)
        }
        return opened
    }

    /// The request must be for this vault and round and made by the acting principal's key.
    func checkRequest(vault: String, round: String, expectedRound: String?, requester: PrincipalID, keys: PublicKeys, actor: Actor,
                      what: String) throws {
        guard vault == id else { throw VaultError.integrity("the \(what) is for vault \(vault); this is vault \(id)") }
        if let expectedRound, expectedRound != round { throw VaultError.integrity("the \(what) is for round \(round), not \(expectedRound)") }
        guard requester == actor.id, keys == actor.principal.publicKeys else {
            throw VaultError.integrity("the \(what) was made by \(requester) (fingerprint \(keys.fingerprint)), not by \(actor.id): only whoever made a request completes it")
        }
    }

    /// One approval file checked against a request: for exactly this request (vault, round, kind
    /// and SHA-256), by one of the round's reveal holders who is enrolled and enabled, signed with
    /// the key the signed log records for it; an open approval's round signature over the
    /// request's record, a reveal approval's manifest root the request's and its piece the purpose
    /// the round's threshold gives.
    func verifyApproval(_ bytes: [UInt8], file: String, for request: RequestFile, round: Round,
                        chairKey: Curve25519.Signing.PublicKey) throws -> ApprovalFile {
        let a = try ApprovalFile(bytes: bytes, file: file)
        guard a.vault == request.vault, a.round == request.round else {
            throw VaultError.integrity("\(file) approves a request for vault \(a.vault) round \(a.round), not this one (vault \(request.vault) round \(request.round))")
        }
        guard a.kind == request.kind else {
            func named(_ k: ApprovalFile.Kind) -> String { k == .open ? "an open request" : "a reveal request" }
            throw VaultError.integrity("\(file) approves \(named(a.kind)); this is \(named(request.kind))")
        }
        guard a.requestSHA256 == Hex.encode(request.digest) else {
            throw VaultError.integrity("\(file) (by \(a.holder)) approves another request (SHA-256 \(a.requestSHA256.prefix(16))…), not this one (\(Hex.encode(request.digest).prefix(16))…)")
        }
        guard round.config.reveal.holders.contains(a.holder) else { throw Approver.notAHolder(a.holder, round: round.id, holders: round.config.reveal.holders) }
        let holder: Principal
        do { holder = try principal(a.holder, verifiedWith: chairKey) } catch VaultError.notFound {
            throw VaultError.integrity("\(file): reveal holder \(a.holder) of round \(round.id) is not enrolled")
        }
        guard holder.enabled else { throw VaultError.permission("\(a.holder) is disabled: its approval does not count") }
        guard a.isSigned(by: holder.publicKeys.signing) else {
            throw VaultError.integrity("\(file) does not verify as \(a.holder)'s approval (changed after signing, or not signed with \(a.holder)'s enrolled key)")
        }
        switch request {
        case .open(let r):
            guard let sig = a.roundSignature,
                  holder.publicKeys.signing.isValidSignature(sig, for: Round.openApprovalBytes(vaultID: r.vault, roundID: r.round.id, recordSHA256: r.recordSHA256)) else {
                throw VaultError.integrity("\(file): \(a.holder)'s signature over round \(r.round.id)'s record does not verify")
            }
        case .reveal(let r):
            guard a.manifestRoot == r.manifestRoot else {
                throw VaultError.integrity("\(file): \(a.holder) approved manifest root \(Hex.encode(a.manifestRoot ?? [])), the request names \(Hex.encode(r.manifestRoot))")
            }
            guard a.piece?.purpose == HolderWrap.purpose(threshold: r.threshold) else { throw VaultError.integrity("\(file) carries a piece of the wrong kind") }
        case .tally(let r):
            guard a.manifestRoot == r.manifestRoot else {
                throw VaultError.integrity("\(file): \(a.holder) approved manifest root \(Hex.encode(a.manifestRoot ?? [])), the request names \(Hex.encode(r.manifestRoot))")
            }
        }
        return a
    }

    /// Too few holders took part: how many the round needs, which they are, who approved.
    static func tooFewHolders(_ round: Round, to what: String, approved: [PrincipalID]) -> VaultError {
        let k = round.config.reveal.threshold
        return .permission("round \(round.id) needs \(k) of its reveal holders (\(round.config.reveal.holders.map(\.rawValue).joined(separator: ", "))) to \(what); \(approved.count) took part (add --with ID for each co-holder, or --approval FILE from each holder's `evalvault approve`)" + (approved.isEmpty ? "" : ": \(approved.map(\.rawValue).joined(separator: ", "))"))
    }

    /// Runs a check of a command by an authenticated actor; a refusal other than the policy's
    /// (which `authorize` records) is recorded, signed, as a failed attempt before it goes on.
    @discardableResult
    func refusing<T>(_ actor: Actor, action: String, target: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as VaultError {
            if case .denied = error { throw error }
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: action, target: target, outcome: .failed,
                                          details: ["exit_status": .integer(Int64(error.exitStatus.rawValue))]), signer: actor.keys.signing)
            throw error
        }
    }
}
