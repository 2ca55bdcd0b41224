import Foundation
import VaultCrypto

/// Principal rows in vault.db, each checked against the log and the chair's signature on load.
extension Vault {
    /// Stores a principal with the chair's signature over every field; returns the record its
    /// log entry must carry.
    @discardableResult
    func insert(_ p: Principal, signedBy chairKey: Curve25519.Signing.PrivateKey) throws -> ObjectRecord {
        let sig = try chairKey.signature(for: p.signedBytes(vaultID: id))
        let conflictsJSON = Self.conflictsColumn(p)
        try database.prepare("""
            INSERT INTO principals (id, role, x25519_pub, ed25519_pub, identity_ct, conflicts, enabled, version, chair_sig)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).bind(p.id.rawValue, p.role.rawValue, p.publicKeys.agreement.rawRepresentation, p.publicKeys.signing.rawRepresentation,
                      p.identityCiphertext, conflictsJSON, p.enabled, p.version, sig).run()
        return p.objectRecord(vaultID: id)
    }

    /// Loads a principal and checks it twice: its row must be the version the log's latest entry
    /// for it records, and carry the chair's signature. A row that does not verify is an
    /// integrity failure, never silently used.
    public func principal(_ pid: PrincipalID, verifiedWith chairKey: Curve25519.Signing.PublicKey) throws -> Principal {
        try principals([pid], verifiedWith: chairKey)[0]
    }

    /// Several principals at once, each checked as `principal(_:verifiedWith:)` says: the rows are
    /// read in order, decoded and their chair signatures verified on every core (a reveal checks
    /// a thousand evaluators), then each is checked against the signed log.
    public func principals(_ pids: [PrincipalID], verifiedWith chairKey: Curve25519.Signing.PublicKey) throws -> [Principal] {
        struct Raw { let role: String, x25519: [UInt8], ed25519: [UInt8], identity: [UInt8]?, conflicts: String, enabled: Bool, version: Int, sig: [UInt8] }
        let s = try database.prepare("""
            SELECT role, x25519_pub, ed25519_pub, identity_ct, conflicts, enabled, version, chair_sig FROM principals WHERE id = ?
            """)
        var raws: [Raw] = []
        raws.reserveCapacity(pids.count)
        for pid in pids {
            s.reset()
            try s.bind(pid.rawValue)
            guard try s.step() else {
                try vouch(.principal, pid.rawValue, row: nil, what: "principal \(pid)")
                throw VaultError.notFound("no principal \(pid) in this vault")
            }
            raws.append(Raw(role: s.text(0), x25519: s.blob(1), ed25519: s.blob(2), identity: s.optionalBlob(3), conflicts: s.text(4),
                            enabled: s.int(5) == 1, version: s.int(6), sig: s.blob(7)))
        }
        s.reset()
        // Decoding (two public keys each) and the chair's signatures, on every core; a signature
        // this client verified before on the same row is recognised, not verified again.
        var decoded = [Result<(Principal, [UInt8], String), VaultError>?](repeating: nil, count: raws.count)
        let vaultID = id, known = log.checkedSignatures
        decoded.withUnsafeMutableBufferPointer { slots in
            try? Parallel.forEach(raws.count) { i in
                let r = raws[i], pid = pids[i]
                slots[i] = Result {
                    guard let role = Role(rawValue: r.role), let (conflicts, exemptions) = Self.conflicts(fromColumn: r.conflicts) else {
                        throw VaultError.integrity("principal \(pid) has a malformed record")
                    }
                    let p = Principal(id: pid, role: role, publicKeys: try PublicKeys(agreementRaw: r.x25519, signingRaw: r.ed25519),
                                      identityCiphertext: r.identity, conflicts: conflicts, conflictExemptions: exemptions,
                                      enabled: r.enabled, version: r.version)
                    let bytes = p.signedBytes(vaultID: vaultID)
                    let digest = SHA256.hash(data: bytes)
                    let checked = Hex.encode(SHA256.hash(data: digest + r.sig + chairKey.rawRepresentation))
                    guard known[pid.rawValue] == checked || chairKey.isValidSignature(r.sig, for: bytes) else {
                        throw VaultError.integrity("the chair's signature on principal \(pid) does not verify")
                    }
                    return (p, digest, checked)
                }.mapError { $0 as? VaultError ?? .internalError("\($0)") }
            }
        }
        return try zip(pids, decoded).map { pid, result in
            let (p, digest, checked) = try result!.get()
            try vouch(.principal, pid.rawValue, row: digest, what: "principal \(pid)")
            log.checkedSignatures[pid.rawValue] = checked
            // The facts the log's replay relied on (role, signing key, enabled) must be the row's.
            let head = log.head(.principal, pid.rawValue)
            guard head?.role == p.role.rawValue, head?.ed25519 == Base64.encode(p.publicKeys.signing.rawRepresentation), head?.enabled == p.enabled else {
                throw VaultError.integrity("principal \(pid): its signed log record and its row disagree on role, key or whether it is enabled")
            }
            return p
        }
    }

    /// The `enrolled` detail of an audit entry: binds the principal's signing key into the log,
    /// so an exported log's signer list can be checked against the log itself.
    static func enrolment(_ p: Principal) -> JSONValue {
        .object(["id": .string(p.id.rawValue), "role": .string(p.role.rawValue),
                 "ed25519": .string(Base64.encode(p.publicKeys.signing.rawRepresentation)),
                 "x25519": .string(Base64.encode(p.publicKeys.agreement.rawRepresentation))])
    }

    /// Every principal, each checked against the log and the chair's signature, sorted by id:
    /// those with a row and those the log records (a deleted row is an integrity error).
    public func allPrincipals(verifiedWith chairKey: Curve25519.Signing.PublicKey) throws -> [Principal] {
        let s = try database.prepare("SELECT id FROM principals ORDER BY id")
        var ids = Set(log.heads.values.filter { $0.kind == .principal }.map(\.id))
        while try s.step() { ids.insert(s.text(0)) }
        return try ids.sorted().map { raw in
            guard let pid = try? PrincipalID(raw) else { throw VaultError.integrity("vault.db holds a malformed principal id") }
            return try principal(pid, verifiedWith: chairKey)
        }
    }

    /// The chair's id, as the log's first entry records it.
    public func chairID() throws -> PrincipalID {
        guard let chair = log.chairID else { throw VaultError.integrity("the vault's log has no creation entry") }
        return try PrincipalID(chair)
    }

    /// Re-signs and stores a changed principal (a higher version: enabled or conflicts); returns
    /// its log record.
    func update(_ p: Principal, signedBy chairKey: Curve25519.Signing.PrivateKey) throws -> ObjectRecord {
        let sig = try chairKey.signature(for: p.signedBytes(vaultID: id))
        try database.prepare("UPDATE principals SET conflicts = ?, enabled = ?, version = ?, chair_sig = ? WHERE id = ?")
            .bind(Self.conflictsColumn(p), p.enabled, p.version, sig, p.id.rawValue).run()
        return p.objectRecord(vaultID: id)
    }

    /// The `conflicts` column: a JSON list of team ids, or — once a conflict has exemptions —
    /// `{"teams": [...], "exempt": {team: [round, ...]}}`. Both are covered by the chair's
    /// signature (`Principal.signedBytes`). Why in the one column: no schema change, and a row
    /// without exemptions is written exactly as before.
    static func conflictsColumn(_ p: Principal) -> String {
        let teams = JSONValue.array(p.conflicts.map { .string($0) })
        guard !p.conflictExemptions.isEmpty else { return CanonicalJSON.string(teams) }
        return CanonicalJSON.string(.object(["teams": teams, "exempt": .object(p.conflictExemptions.mapValues { .array($0.map { .string($0) }) })]))
    }

    /// Reads the `conflicts` column back; nil when it is malformed.
    static func conflicts(fromColumn text: String) -> ([String], [String: [String]])? {
        guard let v = try? JSONParser.parse(Array(text.utf8)) else { return nil }
        func strings(_ v: JSONValue?) -> [String]? {
            guard let a = v?.arrayValue else { return nil }
            let s = a.compactMap(\.stringValue)
            return s.count == a.count ? s : nil
        }
        if let teams = strings(v) { return (teams, [:]) }
        guard let o = v.objectValue, Set(o.keys) == ["teams", "exempt"], let teams = strings(o["teams"]), let e = o["exempt"]?.objectValue else { return nil }
        var exemptions: [String: [String]] = [:]
        for (team, rounds) in e {
            guard let r = strings(rounds) else { return nil }
            exemptions[team] = r
        }
        return (teams, exemptions)
    }

    func principalRowExists(_ pid: PrincipalID) throws -> Bool {
        try database.prepare("SELECT 1 FROM principals WHERE id = ?").bind(pid.rawValue).step()
    }

    /// Who already holds either of these public keys, if anyone (a key is enrolled once).
    func principalID(enrolling keys: PublicKeys) throws -> String? {
        let s = try database.prepare("SELECT id FROM principals WHERE x25519_pub = ? OR ed25519_pub = ?")
            .bind(keys.agreement.rawRepresentation, keys.signing.rawRepresentation)
        return try s.step() ? s.text(0) : nil
    }
}
