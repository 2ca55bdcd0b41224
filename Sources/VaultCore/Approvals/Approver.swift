import Foundation
import VaultCrypto

/// A reveal holder's consent to one request, made with its own key and nothing of the vault
/// (design: Across machines). The same code approves a request file on a holder's machine
/// (`evalvault approve`) and, for `--with`, a co-holder present in the chair's command: there
/// is one way to approve.
///
/// Why the holder unwraps its own piece rather than handing over its key: the key file and
/// passphrase never leave the holder, and the piece it releases is encrypted to the one
/// request's ephemeral key, so it opens nothing else.
public enum Approver {
    /// The approval of `request` by `holder`, who holds `keys`. `requesterKey` is the key the
    /// request must be signed by: the chair key the holder pinned (or, in the chair's own
    /// command, the requester's enrolled key); a request signed by any other key is refused.
    public static func approve(_ request: RequestFile, as holder: PrincipalID, keys: PrivateKeys,
                               trusting requesterKey: Curve25519.Signing.PublicKey) throws -> [UInt8] {
        guard request.requesterKeys.signing == requesterKey else {
            throw VaultError.integrity("the request for round \(request.round) is signed by a key that is not the chair key this client trusts for vault \(request.vault)")
        }
        guard request.holders.contains(holder) else { throw notAHolder(holder, round: request.round, holders: request.holders) }
        if case .open(let r) = request, r.round.config.mode == .tally {
            // A tally round opens on its ceremony's joint key. The holder vouches for it only if
            // it is the ceremony it verified: every file checks, its own statement is there, and
            // its key share opens from the others' shares and matches the commitments.
            guard let record = try r.round.ceremonyRecord() else { throw VaultError.integrity("the open request for tally round \(r.round.id) has no key ceremony") }
            _ = try record.transcript.secretShare(of: holder, keys: keys)
            let message = Round.openApprovalBytes(vaultID: r.vault, roundID: r.round.id, recordSHA256: r.recordSHA256)
            return try ApprovalFile.make(kind: .open, vault: r.vault, round: r.round.id, requestDigest: r.digest, holder: holder,
                                         roundSignature: try keys.signing.signature(for: message), signer: keys.signing)
        }
        if case .tally(let r) = request {
            // A tally round's holder releases only partial decryptions of cell totals it has
            // recomputed itself from the evaluators' signed batches, each cell of enough scores.
            let partials = try r.partials(as: holder, keys: keys)
            return try ApprovalFile.make(kind: .tally, vault: r.vault, round: r.round, requestDigest: r.digest, holder: holder, manifestRoot: r.manifestRoot,
                                         partials: partials.map { ($0.cell.team, $0.cell.criterion, $0.decryption) }, signer: keys.signing)
        }
        guard let wrap = request.wraps.first(where: { $0.holder == holder }) else {
            throw notAHolder(holder, round: request.round, holders: request.holders)
        }
        let piece = try unwrap(wrap, vault: request.vault, round: request.round, keys: keys)
        // With k = 1 the piece is the whole key: check it against the round's public key, so a
        // holder never vouches for a key that is not the one evaluators seal to.
        if request.threshold == 1 {
            guard let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: piece), key.publicKey == request.publicKey else {
                throw VaultError.integrity("the round key wrapped to \(holder) in the request for round \(request.round) does not match the round's public key")
            }
        }
        switch request {
        case .open(let r):
            let message = Round.openApprovalBytes(vaultID: r.vault, roundID: r.round.id, recordSHA256: r.recordSHA256)
            return try ApprovalFile.make(kind: .open, vault: r.vault, round: r.round.id, requestDigest: r.digest, holder: holder,
                                         roundSignature: try keys.signing.signature(for: message), signer: keys.signing)
        case .reveal(let r):
            let (enc, ct) = try HPKE.seal(piece, to: r.ephemeralKey, info: PieceLabels.pieceInfo(vault: r.vault, round: r.round, requestDigest: r.digest),
                                          authenticating: PieceLabels.pieceAAD(holder: holder, purpose: wrap.purpose))
            return try ApprovalFile.make(kind: .reveal, vault: r.vault, round: r.round, requestDigest: r.digest, holder: holder,
                                         manifestRoot: r.manifestRoot, piece: HolderWrap(holder: holder, purpose: wrap.purpose, enc: enc, ct: ct),
                                         signer: keys.signing)
        case .tally:
            throw VaultError.internalError("a tally request reached the key-piece path")
        }
    }

    /// The holder's piece: its wrap opened with its own X25519 key (as vault.db's wraps are).
    static func unwrap(_ wrap: HolderWrap, vault: String, round: String, keys: PrivateKeys) throws -> SecureBytes {
        do {
            return try HPKE.open(wrap.ct, encapsulatedKey: wrap.enc, using: keys.agreement, info: Vault.roundKeyInfo(vaultID: vault, roundID: round),
                                 authenticating: Array("\(wrap.purpose):\(wrap.holder.rawValue)".utf8))
        } catch {
            throw VaultError.authenticationFailed("this key does not open the \(wrap.purpose) wrapped to \(wrap.holder) for round \(round): it is not the key enrolled as \(wrap.holder)")
        }
    }

    static func notAHolder(_ who: PrincipalID, round: String, holders: [PrincipalID]) -> VaultError {
        .permission("\(who) is not a reveal holder of round \(round) (its holders: \(holders.map(\.rawValue).joined(separator: ", ")))")
    }
}

/// `evalvault approve` on a holder's machine: no vault, only the holder's key file and its
/// client state folder (`$EVALVAULT_STATE`, …), where it pins the chair's key on first use and
/// keeps, per (vault, round), the manifest root it released a piece for.
///
/// Why the pin: the request is the only thing the holder sees of the vault, so the chair's
/// signature on it is what makes it the chair's; on first use the holder compares the
/// fingerprint by voice, afterwards its client refuses any other key. Why the manifest root:
/// a holder releases its piece for one set of counted batches; a second request for the same
/// round over another set (a copy of the vault missing a batch, to difference two reveals) is
/// refused by the holder's own client, whatever the chair's machine says.
public struct HolderClient: Sendable {
    public let state: ClientState

    public init(state: ClientState) { self.state = state }

    /// A request read and checked, ready to be shown and approved.
    public struct Inspection: Sendable {
        public let request: RequestFile
        /// What is asked, one line each, for the holder to read before approving.
        public let summary: [String]
        /// True when this client had no chair key for the vault: approving pins this one.
        public let firstUse: Bool
        public let chairFingerprint: Fingerprint
    }

    /// Reads a request and checks everything that needs no key: its signature, the chair key
    /// against this client's pin, that `holder` is one of the round's holders, and for a reveal
    /// request, the manifest root against the one this client approved for the round before.
    public func inspect(_ bytes: [UInt8], file: String, holder: PrincipalID) throws -> Inspection {
        let request = try RequestFile.parse(bytes, file: file)
        let firstUse = try checkPin(request)
        guard request.holders.contains(holder) else { throw Approver.notAHolder(holder, round: request.round, holders: request.holders) }
        try checkRoot(request)
        return Inspection(request: request, summary: Self.summary(request), firstUse: firstUse, chairFingerprint: request.requesterKeys.fingerprint)
    }

    /// Approves an inspected request with the holder's keys: pins the chair key if this is the
    /// first use, records the manifest root of a reveal request, and returns the approval's
    /// bytes. Both are saved before the approval exists, so no approval leaves this client
    /// unrecorded.
    public func approve(_ inspection: Inspection, as holder: PrincipalID, keys: PrivateKeys) throws -> [UInt8] {
        let request = inspection.request
        _ = try checkPin(request)
        try checkRoot(request)
        let approval = try Approver.approve(request, as: holder, keys: keys, trusting: request.requesterKeys.signing)
        if inspection.firstUse {
            var pin = LogState(vaultID: request.vault)
            pin.chairID = request.requester.rawValue
            pin.chairKey = request.requesterKeys.signing
            try state.save(pin)
        }
        if let root = request.manifestRoot { try state.recordApprovedRoot(vault: request.vault, round: request.round, root: root) }
        return approval
    }

    /// True when nothing is pinned for the request's vault yet; a different pinned key or chair is refused.
    func checkPin(_ request: RequestFile) throws -> Bool {
        guard let known = try state.load(vaultID: request.vault), let pinned = known.chairKey else { return true }
        guard pinned == request.requesterKeys.signing, known.chairID.map({ $0 == request.requester.rawValue }) ?? true else {
            throw VaultError.integrity("the request is signed by \(request.requester) with key \(Base64.encode(request.requesterKeys.signing.rawRepresentation)), but this client pinned chair \(known.chairID ?? "?") with key \(Base64.encode(pinned.rawRepresentation)) for vault \(request.vault): not your vault's chair, or a forged request (compare fingerprints by voice)")
        }
        return false
    }

    func checkRoot(_ request: RequestFile) throws {
        guard let root = request.manifestRoot else { return }
        if let approved = try state.approvedRoot(vault: request.vault, round: request.round), approved != Hex.encode(root) {
            throw VaultError.integrity("this client approved round \(request.round) for manifest root \(approved); this request names manifest root \(Hex.encode(root)): a second set of counted batches for the same round is refused")
        }
    }

    /// The lines `evalvault approve` shows before asking.
    static func summary(_ request: RequestFile) -> [String] {
        let keys = request.requesterKeys
        var lines: [String] = []
        let holders = "reveal holders: \(request.holders.map(\.rawValue).joined(separator: ", ")); \(request.threshold) of them must approve"
        switch request {
        case .open(let r):
            let c = r.round.config
            lines.append("open request for round \(c.id) (\"\(c.title)\") of vault \(r.vault)")
            lines.append("  asked by \(r.requester) at \(r.created), chair key fingerprint \(keys.fingerprint): compare it with the chair's by voice")
            lines.append("  teams: \(c.teams.joined(separator: ", "))")
            lines.append("  criteria: " + c.criteria.map { "\($0.id) (weight \($0.weight), \($0.min) to \($0.max) in steps of \($0.step))" }.joined(separator: "; "))
            lines.append("  panel (who may seal): \(r.round.panel.map(\.rawValue).joined(separator: ", "))")
            lines.append("  \(holders)")
            lines.append("  declared reveals: " + (c.publish.isEmpty ? "none" : c.publish.map(\.description).joined(separator: "; ")))
            if let record = try? r.round.ceremonyRecord() {
                lines.append("  policy version \(r.round.policyVersion ?? 0); a tally round: its key is the joint key of the ceremony you verified, \(Hex.encode(record.jointKey.encoded(compressed: true)))")
            } else {
                lines.append("  policy version \(r.round.policyVersion ?? 0); round public key \(Base64.encode(r.round.publicKey?.rawRepresentation ?? []))")
            }
            lines.append("  approving signs this round record (SHA-256 \(r.recordSHA256)): the panel above, and nobody else, may seal")
        case .reveal(let r):
            lines.append("reveal request for round \(r.round) of vault \(r.vault)")
            lines.append("  asked by \(r.requester) at \(r.created), chair key fingerprint \(keys.fingerprint): compare it with the chair's by voice")
            for a in r.reveals { lines.append("  reveal: \(a.reveal.description) (\(a.declared ? "declared by the round" : "NOT declared by the round"))") }
            lines.append("  manifest root \(Hex.encode(r.manifestRoot)) (\(r.manifestBatches) batches, \(r.manifestScores) scores)")
            lines.append("  \(holders)")
            lines.append("  approving releases your \(r.threshold == 1 ? "copy of the round key" : "share of the round key") to this request only, encrypted to the chair's one-time key")
        case .tally(let r):
            lines.append("reveal request for tally round \(r.round) of vault \(r.vault)")
            lines.append("  asked by \(r.requester) at \(r.created), chair key fingerprint \(keys.fingerprint): compare it with the chair's by voice")
            for a in r.reveals { lines.append("  reveal: \(a.reveal.description) (\(a.declared ? "declared by the round" : "NOT declared by the round"))") }
            lines.append("  manifest root \(Hex.encode(r.manifestRoot)) (\(r.batches.count) batches, \(r.batches.reduce(0) { $0 + $1.records.count }) scores, each evaluator's signature checked)")
            lines.append("  \(holders)")
            lines.append("  approving releases your partial decryption of each (team, criterion) total, recomputed here from those batches, every proof checked; no cell of fewer than \(max(r.minCell, TallyRevealRequestFile.minimumCell)) scores")
        }
        return lines
    }
}
