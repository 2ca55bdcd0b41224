import Foundation
import VaultCrypto

/// The signed round descriptor (`round publish R --out R.round`): everything an evaluator needs
/// to seal on its own machine, with no vault — the vault id, the round as the chair signed it
/// (title, teams, criteria, declared reveals, holders and threshold, the round public key and
/// the panel, with each panel member's signing key and declared conflicts), the policy that
/// governs it (source and hash), the chair's public keys and the chair-signed checkpoint of the
/// log at publication.
///
/// Canonical JSON (RFC 8785), signed by the chair with Ed25519 over the canonical JSON of every
/// other member. Why the evaluator can trust it: its client pins the chair's key on first use
/// (per vault, in its own state folder) and refuses a descriptor signed by any other; the
/// person compares the fingerprint by voice once. Nothing in it is secret.
public struct RoundDescriptor: Sendable {
    public static let formatName = "evalvault-round/1"
    public static let maxFileSize = 4 << 20

    public let vault: String
    public let round: Round
    public let policy: PolicySet
    public let chair: String
    public let chairKeys: PublicKeys
    /// Panel members: their Ed25519 keys and declared conflicts.
    public let members: [String: (signing: [UInt8], conflicts: [String])]
    public let checkpoint: String

    public var fingerprint: Fingerprint { chairKeys.fingerprint }

    static func body(vault: String, round: Round, policy: PolicySet, chair: String, chairKeys: PublicKeys,
                     members: [Principal], checkpoint: String) -> [String: JSONValue] {
        var body: [String: JSONValue] = [
            "format": .string(formatName), "vault": .string(vault), "round": round.config.canonicalJSON,
            "state": .string(round.state.rawValue), "version": .integer(Int64(round.version)),
            "policy_version": .integer(Int64(round.policyVersion ?? 0)),
            "public_key": .string(Base64.encode(round.publicKey?.rawRepresentation ?? [])),
            "panel": .array(members.map { p in
                .object(["id": .string(p.id.rawValue), "ed25519": .string(Base64.encode(p.publicKeys.signing.rawRepresentation)),
                         "conflicts": .array(p.conflicts.map { .string($0) })])
            }),
            "policy": .string(policy.source), "policy_sha256": .string(policy.sha256Hex),
            "chair": .string(chair), "chair_ed25519": .string(Base64.encode(chairKeys.signing.rawRepresentation)),
            "chair_x25519": .string(Base64.encode(chairKeys.agreement.rawRepresentation)),
            "checkpoint": .string(checkpoint),
        ]
        // A tally round's key is its ceremony's joint key; the evaluator's client checks the
        // ceremony (every holder's signed statement over it) before sealing to that key.
        if let ceremony = round.ceremony { body["ceremony"] = .string(Base64.encode(ceremony)) }
        return body
    }

    init(vault: String, round: Round, policy: PolicySet, chair: String, chairKeys: PublicKeys,
         members: [String: (signing: [UInt8], conflicts: [String])], checkpoint: String) {
        self.vault = vault; self.round = round; self.policy = policy; self.chair = chair; self.chairKeys = chairKeys
        self.members = members; self.checkpoint = checkpoint
    }

    /// Reads and verifies a descriptor: format, the chair's signature by the key inside, the
    /// policy's hash, the checkpoint's signature. Pinning is the caller's (`pin(in:)`).
    public init(bytes: [UInt8], file: String) throws {
        let bad = VaultError.invalidData("\(file) is not an evalvault round descriptor")
        guard bytes.count <= Self.maxFileSize, let v = try? JSONParser.parse(bytes, integersOnly: true), v["format"]?.stringValue == Self.formatName,
              case .object(var o) = v, let sig = o.removeValue(forKey: "signature")?.stringValue.flatMap(Base64.decode),
              let vault = o["vault"]?.stringValue, let chair = o["chair"]?.stringValue,
              let ed = o["chair_ed25519"]?.stringValue.flatMap(Base64.decode), let x = o["chair_x25519"]?.stringValue.flatMap(Base64.decode),
              let keys = try? PublicKeys(agreementRaw: x, signingRaw: ed) else { throw bad }
        guard keys.signing.isValidSignature(sig, for: CanonicalJSON.encode(.object(o))) else {
            throw VaultError.integrity("\(file): the chair's signature does not verify (changed after publication?)")
        }
        guard let config = o["round"].flatMap({ try? RoundConfig(canonical: $0) }), o["state"]?.stringValue == RoundState.open.rawValue,
              let version = o["version"]?.integerValue, let pv = o["policy_version"]?.integerValue,
              let pk = o["public_key"]?.stringValue.flatMap(Base64.decode),
              let panel = o["panel"]?.arrayValue, let source = o["policy"]?.stringValue, let sha = o["policy_sha256"]?.stringValue,
              let checkpoint = o["checkpoint"]?.stringValue else { throw bad }
        let publicKey: Curve25519.KeyAgreement.PublicKey?
        var ceremony: [UInt8]?
        if config.mode == .tally {
            guard pk.isEmpty, let c = o["ceremony"]?.stringValue.flatMap(Base64.decode), (try? CeremonyRecord(bytes: c)) != nil else {
                throw VaultError.integrity("\(file): its tally round's key ceremony is missing or does not verify")
            }
            publicKey = nil
            ceremony = c
        } else {
            guard o["ceremony"] == nil, let key = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: pk) else { throw bad }
            publicKey = key
        }
        var members: [String: (signing: [UInt8], conflicts: [String])] = [:]
        var ids: [PrincipalID] = []
        for m in panel {
            guard let id = m["id"]?.stringValue, let pid = try? PrincipalID(id), let key = m["ed25519"]?.stringValue.flatMap(Base64.decode), key.count == 32,
                  let conflicts = m["conflicts"]?.arrayValue?.compactMap(\.stringValue) else { throw bad }
            members[id] = (key, conflicts)
            ids.append(pid)
        }
        let policy = try PolicySet.load(Array(source.utf8), fileName: "\(file) (policy)")
        guard policy.sha256Hex == sha else { throw VaultError.integrity("\(file): its policy does not match its hash") }
        let note = try Checkpoint.parse(note: checkpoint)
        guard note.checkpoint.origin == "evalvault/\(vault)", note.isSigned(by: chair, key: keys.signing) else {
            throw VaultError.integrity("\(file): its checkpoint is not this vault's, signed by its chair")
        }
        self.vault = vault
        self.round = Round(config: config, state: .open, policyVersion: Int(pv), publicKey: publicKey, version: Int(version), panel: ids,
                           ceremony: ceremony)
        self.policy = policy
        self.chair = chair
        self.chairKeys = keys
        self.members = members
        self.checkpoint = checkpoint
    }

    /// Pins the chair's key for this vault on first use, in the client state folder, or checks
    /// it against the pin. Returns true when it was pinned now (the caller says so, with the
    /// fingerprint to compare by voice).
    public func pin(in client: ClientState) throws -> Bool {
        if let known = try client.load(vaultID: vault) {
            guard known.chairKey == chairKeys.signing else {
                throw VaultError.integrity("the descriptor's chair key (fingerprint \(fingerprint)) is not the one this client pinned for vault \(vault); do not seal with it — ask the chair, by voice, for the fingerprint")
            }
            return false
        }
        var state = LogState(vaultID: vault)
        state.chairID = chair
        state.chairKey = chairKeys.signing
        try client.save(state)
        return true
    }
}

extension Vault {
    /// `round publish`: the chair's signed descriptor of an open round, with a fresh checkpoint.
    public func publishRound(_ roundID: String, actor: Actor) throws -> [UInt8] {
        let target = "round/\(roundID)"
        let round = try recordingFailure(actor: actor.id.rawValue, action: "round.publish", target: target) {
            try self.round(roundID, verifiedWith: actor.chairKey)
        }
        let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: "round.publish",
                                                   resource: ["round": round.policyAttributes]), actor: actor, target: target)
        guard round.state == .open else {
            throw VaultError.usage("round \(roundID) is \(round.state.rawValue); only an open round can be published for sealing")
        }
        let policy = try self.policy(for: round, chairKey: actor.chairKey).set
        let members = try round.panel.map { try principal($0, verifiedWith: actor.chairKey) }
        return try write {
            try appendAudit(AuditRecord(actor: actor, action: "round.publish", target: target, decision: decision, details: [:]),
                            signer: actor.keys.signing)
            let note = try signCheckpoint(chair: actor.id, key: actor.keys.signing)
            var body = RoundDescriptor.body(vault: id, round: round, policy: policy, chair: actor.id.rawValue, chairKeys: actor.principal.publicKeys,
                                            members: members, checkpoint: note.text)
            body["signature"] = .string(Base64.encode(try actor.keys.signing.signature(for: CanonicalJSON.encode(.object(body)))))
            return CanonicalJSON.encode(.object(body)) + [0x0A]
        }
    }
}
