import Foundation
import VaultCrypto

/// Revealing with the holders' key pieces released as files (design: Across machines): the
/// chair makes a reveal request (`reveal request …`), each holder approves it on its own machine
/// (`evalvault approve`), releasing its piece encrypted to the request's one-time key, and the
/// chair completes the reveal (`reveal --request … --approval …`). `reveal(_:actor:coHolders:)`
/// runs the same steps in one process for holders present with `--with`.
extension Vault {
    /// `reveal request`: the request, audited (`reveal.request`). It must name a reveal the round
    /// declares, of a closed round (its manifest root is what the holders approve); the policy's
    /// first question is asked now as at completion, with every holder counted (the most that can
    /// approve), so what the policy refuses whoever approves is refused before anyone is asked.
    public func makeRevealRequest(_ reveal: RevealRequest, actor: Actor) throws -> RequestFile {
        let request = try buildRevealRequest([reveal], actor: actor, present: nil, travelling: true)
        let round = try self.round(reveal.round, verifiedWith: actor.chairKey)
        try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "reveal.request", target: "round/\(reveal.round)",
                                      policySHA256: try policy(for: round, chairKey: actor.chairKey).set.sha256Hex,
                                      details: ["reveals": .array(request.reveals.map(\.json)), "request_sha256": .string(Hex.encode(request.digest)),
                                                "manifest_root": .string(Hex.encode(request.manifestRoot ?? []))]),
                          signer: actor.keys.signing)
        return request
    }

    /// The request itself: the policy's first question (holders taking part: those `present`, or
    /// every holder), then the round's manifest, each holder's wrap from vault.db (checked against
    /// the signed log), and a fresh ephemeral X25519 key whose private half is wrapped to the
    /// requester's own X25519 key and then dropped. `travelling`: the request leaves this process
    /// as a file, so it must ask only for declared reveals of a closed round.
    func buildRevealRequest(_ asked: [RevealRequest], actor: Actor, present: [Actor]?, travelling: Bool) throws -> RequestFile {
        guard let roundID = asked.first?.round, asked.allSatisfy({ $0.round == roundID }), asked.count <= RevealRequestFile.maxReveals else {
            throw VaultError.usage("a reveal covers one round")
        }
        let target = "round/\(roundID)"
        let round = try recordingFailure(actor: actor.id.rawValue, action: "reveal", target: target) {
            try self.round(roundID, verifiedWith: actor.chairKey)
        }
        let taking = present.map { Self.approvingHolders($0, of: round).map(\.id) } ?? round.config.reveal.holders
        _ = try reveal(asked.map { ($0, false) }, actor: actor, holders: taking, roundKey: nil)
        if round.config.mode == .tally {
            return .tally(try buildTallyRevealRequest(asked, round: round, actor: actor, travelling: travelling))
        }
        let reveals = asked.map { r in
            RevealRequestFile.Asked(reveal: DeclaredReveal(stat: r.stat, by: r.by, precision: r.precision, advance: r.advance, trim: r.trim),
                                    declared: round.config.declaration(stat: r.stat, by: r.by, precision: r.precision, advance: r.advance, trim: r.trim) != nil)
        }
        return try refusing(actor, action: "reveal", target: target) {
            if travelling {
                guard round.state == .closed else {
                    throw VaultError.usage("round \(roundID) is \(round.state.rawValue); a reveal request needs a closed round (its manifest is what the holders approve)")
                }
                for (r, a) in zip(asked, reveals) where !a.declared {
                    throw VaultError.usage("a reveal request asks only for what the round declares: " + Self.undeclared(r, in: round.config))
                }
            }
            guard round.publicKey != nil else { throw VaultError.usage("round \(roundID) has never been opened") }
            let manifest = round.state == .closed ? try manifest(of: roundID) : Manifest(vault: id, round: roundID, log: log)
            let k = round.config.reveal.threshold, purpose = HolderWrap.purpose(threshold: k)
            let wraps = try round.config.reveal.holders.map { holder in
                guard let w = try loadWrap(purpose: purpose, scope: roundID, recipient: holder) else {
                    throw VaultError.integrity("the \(purpose) wrap of round \(roundID) for \(holder) is missing")
                }
                return HolderWrap(holder: holder, purpose: purpose, enc: w.enc, ct: w.ct)
            }
            let ephemeral = Curve25519.KeyAgreement.PrivateKey()
            let wrapped = try HPKE.seal(ephemeral.rawRepresentation, to: actor.principal.publicKeys.agreement,
                                        info: PieceLabels.ephemeralInfo(vault: id, round: roundID),
                                        authenticating: PieceLabels.ephemeralAAD(requester: actor.id, ephemeralKey: ephemeral.publicKey))
            return .reveal(try RevealRequestFile.make(vault: id, round: round, reveals: reveals, manifest: manifest, wraps: wraps,
                                                      ephemeralKey: ephemeral.publicKey, ephemeralWrap: (wrapped.encapsulatedKey, wrapped.ciphertext),
                                                      requester: actor, created: Timestamp.now()))
        }
    }

    /// `reveal --request FILE --approval FILE…`: completes a reveal request with the holders'
    /// approvals (and the actor's own, and any `--with` co-holders', made here the same way), then
    /// reveals as `reveal` does — the policy's questions, every batch verified, audited, published
    /// when asked — in the given output `format`.
    public func reveal(request bytes: [UInt8], file: String, approvals: [(bytes: [UInt8], file: String)], actor: Actor, coHolders: [Actor] = [],
                       format: RevealFormat, publish: Bool, progress: ((Int, Int) -> Void)? = nil) throws -> [RevealOutcome] {
        let parsed = try refusing(actor, action: "reveal", target: "request") { () throws -> RequestFile in
            let r = try RequestFile.parse(bytes, file: file)
            if case .open = r { throw VaultError.invalidData("\(file) is an open request, not a reveal request") }
            return r
        }
        for h in coHolders where h.chairKey != actor.chairKey {
            throw VaultError.integrity("\(h.id) trusts a different chair key than \(actor.id)")
        }
        guard !publish || parsed.reveals.count == 1 else { throw VaultError.usage("this request asks for \(parsed.reveals.count) reveals; --publish writes one") }
        let items = parsed.reveals.map { a in
            (request: RevealRequest(round: parsed.round, stat: a.reveal.stat, by: a.reveal.by, trim: a.reveal.trim, advance: a.reveal.advance,
                                    precision: a.reveal.precision, format: format), publish: publish)
        }
        return try reveal(items, request: parsed, approvals: approvals, actor: actor, coHolders: coHolders, progress: progress)
    }

    /// The completion both ways in share: the request checked (this requester's, this vault's,
    /// the round's public key, holders and manifest root unchanged), every approval checked
    /// (`verifyApproval`), k distinct holders counted, and the reveal run with a round key rebuilt
    /// from k released pieces — only once the policy's first question allowed it.
    func reveal(_ items: [(request: RevealRequest, publish: Bool)], request parsed: RequestFile, approvals: [(bytes: [UInt8], file: String)],
                actor: Actor, coHolders: [Actor], progress: ((Int, Int) -> Void)?) throws -> [RevealOutcome] {
        let request: RevealRequestFile
        switch parsed {
        case .tally(let t): return try revealTally(items, request: t, approvals: approvals, actor: actor, coHolders: coHolders, progress: progress)
        case .reveal(let r): request = r
        case .open: throw VaultError.internalError("an open request reached the reveal")
        }
        let target = "round/\(request.round)"
        let (round, fromFiles) = try refusing(actor, action: "reveal", target: target) { () throws -> (Round, [ApprovalFile]) in
            let round = try checkRevealRequest(parsed, items: items, actor: actor)
            // A shredded round is refused as any reveal of it is (66), below.
            if round.state != .shredded {
                guard round.publicKey == request.roundPublicKey, round.config.reveal.holders == request.holders,
                      round.config.reveal.threshold == request.threshold else {
                    throw VaultError.integrity("the reveal request does not match round \(round.id)'s signed record (public key, holders or threshold)")
                }
                try checkManifestRoot(request.manifestRoot, of: round)
            }
            return (round, try approvals.map { try verifyApproval($0.bytes, file: $0.file, for: parsed, round: round, chairKey: actor.chairKey) })
        }
        let takingPart = try revealHolders(parsed, round: round, fromFiles: fromFiles, actor: actor, coHolders: coHolders,
                                           counted: round.state != .shredded, to: "release its key for this reveal")
        return try reveal(items, actor: actor, holders: takingPart.approvers, roundKey: { round in
            try self.releasedRoundKey(request, from: try takingPart.approvals(round), round: round, requester: actor)
        }, requestDetails: ["request_sha256": .string(Hex.encode(request.digest))], progress: progress)
    }

    /// The checks both kinds of reveal completion share: the request is this requester's, for
    /// this vault and round, and asks exactly the reveals `items` are; returns the round.
    func checkRevealRequest(_ request: RequestFile, items: [(request: RevealRequest, publish: Bool)], actor: Actor) throws -> Round {
        try checkRequest(vault: request.vault, round: request.round, expectedRound: items.first?.request.round, requester: request.requester,
                         keys: request.requesterKeys, actor: actor, what: "reveal request")
        guard items.count == request.reveals.count, zip(items, request.reveals).allSatisfy({ item, asked in
            let r = item.request
            return r.round == request.round && asked.reveal.matches(stat: r.stat, by: r.by, precision: r.precision, advance: r.advance, trim: r.trim)
                && asked.reveal.by == r.by
        }) else { throw VaultError.integrity("the reveals asked are not the reveal request's") }
        return try self.round(request.round, verifiedWith: actor.chairKey)
    }

    /// The manifest root a request names is the round's (the signed one once it is closed).
    func checkManifestRoot(_ named: [UInt8], of round: Round) throws {
        let manifest = round.state == .closed ? try manifest(of: round.id) : Manifest(vault: id, round: round.id, log: log)
        guard manifest.root == named else {
            throw VaultError.integrity("the reveal request names manifest root \(Hex.encode(named)); round \(round.id)'s is \(Hex.encode(manifest.root))")
        }
    }

    /// The holders taking part in a reveal: those whose approval files were given and those
    /// present in this command. Fewer than k (when `counted`) is refused and recorded.
    /// `approvals` gives k of them in holder id order: a file's, or one made here by a present
    /// holder exactly as `evalvault approve` makes it.
    func revealHolders(_ request: RequestFile, round: Round, fromFiles: [ApprovalFile], actor: Actor, coHolders: [Actor], counted: Bool,
                       to what: String) throws -> (approvers: [PrincipalID], approvals: (Round) throws -> [ApprovalFile]) {
        try requireRevealHolders(coHolders.map(\.id), of: round, actor: actor, action: "reveal")
        let present = Self.approvingHolders([actor] + coHolders, of: round)
        let approvers = Set(fromFiles.map(\.holder)).union(present.map(\.id)).sorted()
        let k = round.config.reveal.threshold
        if counted && approvers.count < k {
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "reveal", target: "round/\(round.id)", outcome: .denied,
                                          details: ["holders": .integer(Int64(approvers.count)), "threshold": .integer(Int64(k)),
                                                    "request_sha256": .string(Hex.encode(request.digest))]),
                              signer: actor.keys.signing)
            throw Self.tooFewHolders(round, to: what, approved: approvers)
        }
        return (approvers, { round in
            let files = Dictionary(fromFiles.map { ($0.holder, $0) }, uniquingKeysWith: { a, _ in a })
            return try approvers.prefix(k).map { holder -> ApprovalFile in
                if let a = files[holder] { return a }
                let h = present.first { $0.id == holder }!
                let bytes = try Approver.approve(request, as: h.id, keys: h.keys, trusting: actor.principal.publicKeys.signing)
                return try self.verifyApproval(bytes, file: "the approval by \(h.id)", for: request, round: round, chairKey: actor.chairKey)
            }
        })
    }

    /// Rebuilds a round's private key from k released pieces: the request's one-time key
    /// unwrapped with the requester's X25519 key, each piece opened with it (its AAD naming the
    /// holder), then the whole key (k = 1) or k Shamir shares combined. The result must match the
    /// round's chair-signed public key, so a wrong or forged piece is an integrity error, never a
    /// wrong key.
    func releasedRoundKey(_ request: RevealRequestFile, from approvals: [ApprovalFile], round: Round,
                          requester: Actor) throws -> Curve25519.KeyAgreement.PrivateKey {
        guard let publicKey = round.publicKey else { throw VaultError.usage("round \(round.id) has never been opened") }
        let k = round.config.reveal.threshold
        guard approvals.count >= k else { throw Self.tooFewHolders(round, to: "release its key for this reveal", approved: approvals.map(\.holder)) }
        let ephemeral: Curve25519.KeyAgreement.PrivateKey
        do {
            ephemeral = try .init(rawRepresentation: try HPKE.open(request.ephemeralWrap.ct, encapsulatedKey: request.ephemeralWrap.enc,
                                                                   using: requester.keys.agreement,
                                                                   info: PieceLabels.ephemeralInfo(vault: request.vault, round: request.round),
                                                                   authenticating: PieceLabels.ephemeralAAD(requester: request.requester,
                                                                                                            ephemeralKey: request.ephemeralKey)))
        } catch {
            throw VaultError.integrity("the reveal request's one-time key does not open with \(requester.id)'s key")
        }
        guard ephemeral.publicKey == request.ephemeralKey else { throw VaultError.integrity("the reveal request's one-time key is not the one it names") }
        let info = PieceLabels.pieceInfo(vault: request.vault, round: request.round, requestDigest: request.digest)
        let pieces: [SecureBytes] = try approvals.prefix(k).map { a in
            guard let p = a.piece else { throw VaultError.integrity("the approval by \(a.holder) releases no key piece") }
            do {
                return try HPKE.open(p.ct, encapsulatedKey: p.enc, using: ephemeral, info: info,
                                     authenticating: PieceLabels.pieceAAD(holder: a.holder, purpose: p.purpose))
            } catch {
                throw VaultError.integrity("the key piece released by \(a.holder) does not open with this request's one-time key")
            }
        }
        return try Self.combineRoundKey(pieces, round: round, publicKey: publicKey, from: " from the released pieces")
    }
}
