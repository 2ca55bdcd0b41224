import Foundation
import VaultCrypto

/// One object the audit log vouches for, as a state-changing entry names it in its `objects`
/// detail: what kind, which one, the SHA-256 of its row as written, and the facts the log needs
/// to judge later entries (a principal's key, role and whether it is enabled; a round's state;
/// a batch's round, evaluator-signed digest and size).
///
/// Why: vault.db is untrusted storage — anyone on the panel may write it. A row is believed only
/// if it hashes to what the latest signed entry for it says, so a stale, replayed, deleted or
/// swapped row is caught by the next command that reads it (design: invariant 10).
public struct ObjectRecord: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case principal, round, policy, wrap, batch, manifest
    }

    public var kind: Kind
    public var id: String
    /// Hex SHA-256 of the row's canonical bytes; empty when the entry deletes the row.
    public var sha256: String
    public var version: Int? = nil
    /// principal: role, Ed25519 key (base64), enabled.
    public var role: String? = nil
    public var ed25519: String? = nil
    public var enabled: Bool? = nil
    /// round: state; batch and manifest: the round.
    public var state: String? = nil
    public var round: String? = nil
    /// batch: the digest its evaluator signed and how many scores it holds; manifest: its root and size.
    public var digest: String? = nil
    public var count: Int? = nil
    /// batch: the evaluator who sealed it (the entry's actor).
    public var evaluator: String? = nil
    /// batch: the evaluator's Ed25519 signature over the digest (base64).
    public var signature: String? = nil
    /// round: its reveal holders and threshold, and (from its opening on) its approved panel.
    public var holders: [String]? = nil
    public var threshold: Int? = nil
    public var panel: [String]? = nil

    public var key: String { "\(kind.rawValue)/\(id)" }
    public var deleted: Bool { sha256.isEmpty }

    public init(kind: Kind, id: String, sha256: [UInt8]?) {
        self.kind = kind
        self.id = id
        self.sha256 = sha256.map(Hex.encode) ?? ""
    }

    var json: JSONValue {
        var o: [String: JSONValue] = ["kind": .string(kind.rawValue), "id": .string(id), "sha256": .string(sha256)]
        if let version { o["version"] = .integer(Int64(version)) }
        if let role { o["role"] = .string(role) }
        if let ed25519 { o["ed25519"] = .string(ed25519) }
        if let enabled { o["enabled"] = .bool(enabled) }
        if let state { o["state"] = .string(state) }
        if let round { o["round"] = .string(round) }
        if let digest { o["digest"] = .string(digest) }
        if let count { o["count"] = .integer(Int64(count)) }
        if let evaluator { o["evaluator"] = .string(evaluator) }
        if let signature { o["signature"] = .string(signature) }
        if let holders { o["holders"] = .array(holders.map { .string($0) }) }
        if let threshold { o["threshold"] = .integer(Int64(threshold)) }
        if let panel { o["panel"] = .array(panel.map { .string($0) }) }
        return .object(o)
    }

    init(json v: JSONValue) throws {
        guard let k = v["kind"]?.stringValue.flatMap(Kind.init), let id = v["id"]?.stringValue, let sha = v["sha256"]?.stringValue,
              sha.isEmpty || (sha.count == 64 && Hex.decode(sha) != nil) else {
            throw VaultError.integrity("an audit entry names an object malformed")
        }
        kind = k; self.id = id; sha256 = sha
        version = v["version"]?.integerValue.map { Int($0) }
        role = v["role"]?.stringValue
        ed25519 = v["ed25519"]?.stringValue
        if case .bool(let b)? = v["enabled"] { enabled = b }
        state = v["state"]?.stringValue
        round = v["round"]?.stringValue
        digest = v["digest"]?.stringValue
        count = v["count"]?.integerValue.map { Int($0) }
        evaluator = v["evaluator"]?.stringValue
        signature = v["signature"]?.stringValue
        holders = v["holders"]?.arrayValue?.compactMap(\.stringValue)
        threshold = v["threshold"]?.integerValue.map { Int($0) }
        panel = v["panel"]?.arrayValue?.compactMap(\.stringValue)
    }
}

/// What a client knows of one vault from replaying its signed audit log: the pinned chair, how
/// far it has read (size and root), the latest checkpoint it saw, and the latest record of every
/// object. It lives in the client's state folder, never in the vault, so a writer of the vault
/// folder cannot roll it back (design: On disk, Invariants 10 and 12).
public struct LogState: Sendable {
    public internal(set) var vaultID: String
    public internal(set) var size = 0
    public internal(set) var root: [UInt8] = Merkle.emptyRoot
    public internal(set) var chairID: String?
    public internal(set) var chairKey: Curve25519.Signing.PublicKey?
    /// The newest signed checkpoint this client has seen (note text) and its size.
    public internal(set) var checkpointNote: String?
    public internal(set) var checkpointSize = 0
    /// The latest record of each object, by `kind/id`.
    public internal(set) var heads: [String: ObjectRecord] = [:]
    /// The highest policy version recorded.
    public internal(set) var policyVersion = 0
    /// The chair-signed commitment to the vault identity key (hex), from the creation entry.
    public internal(set) var identityKeyCommitment: String?
    /// Chair signatures on principal rows this client has verified, by principal id: the SHA-256
    /// of (row digest ‖ signature). A row whose digest and signature are the ones verified before
    /// is not verified again (a reveal loads a thousand evaluators; an Ed25519 check costs about
    /// 0.2 ms here). A new version of the row has another digest, so it is verified afresh.
    var checkedSignatures: [String: String] = [:]

    public init(vaultID: String) { self.vaultID = vaultID }

    public func head(_ kind: ObjectRecord.Kind, _ id: String) -> ObjectRecord? { heads["\(kind.rawValue)/\(id)"] }

    /// The batches the log records for a round, by hex id.
    public func batches(ofRound round: String) -> [ObjectRecord] {
        heads.values.filter { $0.kind == .batch && $0.round == round }.sorted { $0.id < $1.id }
    }

    // MARK: Replay

    /// Applies entry `seq` of the log. `verifySignature` is false only for an entry this process
    /// has just written and signed itself.
    ///
    /// The rules are what make the log, not the rows, the source of truth:
    /// - an authenticated entry carries a valid signature by an enrolled principal who was
    ///   enabled when it signed; an unauthenticated entry carries no signature and changes nothing;
    /// - only the chair changes principals, rounds, policies, key wraps and manifests; only an
    ///   evaluator adds a batch, and only to a round that is open at that point of the log;
    /// - versions go up by one and round states only move forward, so an old record can never
    ///   become the latest again.
    mutating func apply(seq: Int, entry: JSONValue, signedMessage: [UInt8], signature: [UInt8]?, verifySignature: Bool) throws {
        func bad(_ why: String) -> VaultError { .integrity("audit entry \(seq) \(why)") }
        guard entry["seq"]?.integerValue == Int64(seq) else { throw bad("is out of place (its seq field says otherwise)") }
        guard let actor = entry["actor"]?.stringValue, case .bool(let authenticated)? = entry["authenticated"],
              let action = entry["action"]?.stringValue, let outcome = entry["outcome"]?.stringValue,
              let details = entry["details"]?.objectValue else { throw bad("lacks a field") }
        let objects = try (details["objects"]?.arrayValue ?? []).map(ObjectRecord.init(json:))

        if seq == 0 {
            // The first entry creates the vault and enrols its chair, signed by the chair's own key.
            guard action == "vault.init", authenticated, let chair = objects.first(where: { $0.kind == .principal }),
                  chair.id == actor, chair.role == "chair", let raw = chair.ed25519.flatMap(Base64.decode),
                  let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw bad("is not the vault's signed creation by its chair")
            }
            if let pinned = chairKey, pinned != key {
                throw VaultError.integrity("this vault's chair key is not the one this client pinned for vault \(vaultID) (the vault was replaced, or its log rewritten from the start)")
            }
            chairID = actor
            chairKey = key
            identityKeyCommitment = details["identity_key_commitment"]?.stringValue
        }
        guard !objects.isEmpty || seq != 0 else { throw bad("creates nothing") }

        if authenticated {
            guard let signature else { throw bad("claims an authenticated actor but carries no signature") }
            let signerKey: Curve25519.Signing.PublicKey
            if seq == 0 {
                signerKey = chairKey!
            } else {
                guard let p = head(.principal, actor), !p.deleted, let raw = p.ed25519.flatMap(Base64.decode),
                      let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                    throw bad("is signed by \(actor), who is not enrolled at that point of the log")
                }
                guard p.enabled != false else { throw bad("is signed by \(actor), who was disabled before it") }
                signerKey = key
            }
            if verifySignature && !signerKey.isValidSignature(signature, for: signedMessage) {
                throw bad("has a signature that does not verify for \(actor)")
            }
        } else {
            guard signature == nil else { throw bad("is unauthenticated but carries a signature") }
            guard objects.isEmpty else { throw bad("changes vault state without an authenticated, signed actor") }
        }
        guard objects.isEmpty || (outcome == "ok" && entry["decision"]?.stringValue != "deny") else {
            throw bad("changes vault state in a refused or failed action")
        }

        let isChair = actor == chairID
        for o in objects {
            let old = heads[o.key]
            var new = o
            switch o.kind {
            case .principal:
                guard isChair else { throw bad("changes principal \(o.id) but is not the chair's") }
                guard !o.deleted else { throw bad("deletes principal \(o.id)") }
                if let old {
                    guard o.version == (old.version ?? 0) + 1 else { throw bad("gives principal \(o.id) version \(o.version ?? 0) after \(old.version ?? 0)") }
                    guard o.role == nil || o.role == old.role, o.ed25519 == nil || o.ed25519 == old.ed25519 else {
                        throw bad("changes the role or key of principal \(o.id)")
                    }
                    new.role = old.role
                    new.ed25519 = old.ed25519
                    new.enabled = o.enabled ?? old.enabled
                } else {
                    guard o.version == 1, let role = o.role, Role(rawValue: role) != nil, o.ed25519 != nil else {
                        throw bad("enrols principal \(o.id) without its role, key or first version")
                    }
                    guard role != "chair" || seq == 0 else { throw bad("enrols a second chair") }
                    new.enabled = o.enabled ?? true
                }
            case .round:
                guard isChair else { throw bad("changes round \(o.id) but is not the chair's") }
                guard !o.deleted, let state = o.state.flatMap(RoundState.init) else { throw bad("gives round \(o.id) no state") }
                let before = old?.state.flatMap(RoundState.init)
                guard o.version == (old?.version ?? 0) + 1 else { throw bad("gives round \(o.id) version \(o.version ?? 0) after \(old?.version ?? 0)") }
                let allowed: [RoundState?: RoundState] = [nil: .draft, .draft: .open, .open: .closed, .closed: .shredded]
                // A tally round's finished key ceremony is recorded in a new version of its draft.
                let ceremony = action == "ceremony.finish" && before == .draft && state == .draft
                guard allowed[before] == state || ceremony else { throw bad("moves round \(o.id) from \(before?.rawValue ?? "nothing") to \(state.rawValue)") }
                // Holders and threshold are fixed when the round is created; a later record may
                // only repeat them (the row's values are compared with these on every load).
                if let old {
                    guard (o.holders == nil || o.holders == old.holders) && (o.threshold == nil || o.threshold == old.threshold) else {
                        throw bad("changes the reveal holders or threshold of round \(o.id)")
                    }
                } else {
                    guard let h = o.holders, !h.isEmpty, Set(h).count == h.count, let k = o.threshold, (1...h.count).contains(k) else {
                        throw bad("creates round \(o.id) without valid holders and threshold")
                    }
                }
                new.holders = old?.holders ?? o.holders
                new.threshold = old?.threshold ?? o.threshold
                new.panel = old?.panel ?? o.panel
                if state == .open {
                    // Opening fixes the panel, and takes k of the round's reveal holders: each
                    // approval is that holder's signature over the opened round's record.
                    guard let panel = o.panel, let holders = new.holders, let k = new.threshold else {
                        throw bad("opens round \(o.id) without its panel, holders or threshold")
                    }
                    new.panel = panel
                    let message = Round.openApprovalBytes(vaultID: vaultID, roundID: o.id, recordSHA256: o.sha256)
                    var approved = Set<String>()
                    for a in details["approvals"]?.arrayValue ?? [] {
                        guard let holder = a["holder"]?.stringValue, holders.contains(holder),
                              let sig = a["sig"]?.stringValue.flatMap(Base64.decode),
                              let raw = head(.principal, holder)?.ed25519.flatMap(Base64.decode),
                              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw),
                              key.isValidSignature(sig, for: message) else {
                            throw bad("carries an approval of round \(o.id) that is not a valid signature by one of its holders")
                        }
                        approved.insert(holder)
                    }
                    guard approved.count >= k else {
                        throw bad("opens round \(o.id) with \(approved.count) holder approval\(approved.count == 1 ? "" : "s"); it needs \(k)")
                    }
                } else if o.panel != nil && o.panel != old?.panel {
                    throw bad("changes the panel of round \(o.id) after it opened")
                }
            case .policy:
                guard isChair else { throw bad("applies a policy but is not the chair's") }
                guard !o.deleted, Int(o.id) == policyVersion + 1 else { throw bad("applies policy version \(o.id) after \(policyVersion)") }
                policyVersion += 1
            case .wrap:
                guard isChair else { throw bad("changes a key wrap but is not the chair's") }
            case .manifest:
                guard isChair else { throw bad("signs a manifest but is not the chair's") }
                guard old == nil, head(.round, o.id)?.state == RoundState.closed.rawValue else {
                    throw bad("signs a manifest for round \(o.id), which is not being closed")
                }
            case .batch:
                // A batch is added by its evaluator (`seal` on the vault's machine) or imported by
                // the chair; either way it carries the evaluator's own signature over its digest,
                // so nobody else — the chair included — can add a batch in an evaluator's name.
                guard old == nil, !o.deleted else { throw bad("adds batch \(o.id) twice") }
                guard let evaluator = o.evaluator, let digest = o.digest.flatMap(Hex.decode), digest.count == 32, (o.count ?? 0) >= 1,
                      let sig = o.signature.flatMap(Base64.decode) else {
                    throw bad("names batch \(o.id) without its evaluator, digest, size or signature")
                }
                guard actor == evaluator || isChair else { throw bad("adds batch \(o.id) of \(evaluator), but \(actor) is neither that evaluator nor the chair") }
                guard let p = head(.principal, evaluator), p.role == Role.evaluator.rawValue, p.enabled != false,
                      let raw = p.ed25519.flatMap(Base64.decode), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                    throw bad("adds batch \(o.id) of \(evaluator), who is not an enrolled, enabled evaluator at that point")
                }
                guard let r = o.round, let round = head(.round, r), round.state == RoundState.open.rawValue else {
                    throw bad("adds batch \(o.id) to round \(o.round ?? "?"), which is not open at that point")
                }
                guard round.panel?.contains(evaluator) == true else { throw bad("adds batch \(o.id) to round \(r), but \(evaluator) is not on its panel") }
                if verifySignature || actor != evaluator, !key.isValidSignature(sig, for: digest) {
                    throw bad("adds batch \(o.id) whose signature by \(evaluator) does not verify")
                }
            }
            heads[o.key] = new
        }
    }
}
