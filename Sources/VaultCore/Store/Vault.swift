import Foundation
import VaultCrypto

/// An open vault: its location, its database and its id.
public final class Vault {
    public let location: VaultLocation
    public let database: Database
    /// A random 128-bit id in hex, bound into every signature and AAD so that nothing can be
    /// moved from one vault to another.
    public let id: String

    init(location: VaultLocation, database: Database, id: String) {
        self.location = location
        self.database = database
        self.id = id
    }

    /// Opens an existing vault (exit 66 when there is none).
    public static func open(at location: VaultLocation) throws -> Vault {
        guard Files.exists(location.databasePath) else {
            throw VaultError.notFound("no vault at \(location.directory) (run `evalvault init --chair ID`, or pass --dir or set EVALVAULT_DIR)")
        }
        let db = try Database(path: location.databasePath, create: false)
        try Schema.migrate(db)
        let s = try db.prepare("SELECT value FROM vault_meta WHERE key = 'vault_id'")
        guard try s.step() else { throw VaultError.integrity("\(location.databasePath) has no vault id") }
        return Vault(location: location, database: db, id: s.text(0))
    }

    /// What `init` made, for the CLI to report.
    public struct Created: Sendable {
        public let vaultID: String
        public let chair: PrincipalID
        public let chairFingerprint: Fingerprint
        public let keyPath: String
    }

    /// Creates a new vault (design: On disk): the folder, the chair's key pair in `Keys/`, `vault.db`
    /// with a fresh vault id, the chair as first principal (self-signed), the vault identity key
    /// wrapped to the chair, and the default policy in `Policies/`. Refuses to touch an existing
    /// vault. On failure, whatever this call created is removed again.
    public static func initialize(at location: VaultLocation, chair: PrincipalID, passphrase: SecureBytes,
                                  identity: String?, kdf: Scrypt.Parameters) throws -> Created {
        guard !Files.exists(location.databasePath) else {
            throw VaultError.usage("a vault already exists at \(location.directory); refusing to overwrite it")
        }
        let keyBase = location.keyBasePath(for: chair)
        for p in [keyBase + ".key", keyBase + ".pub"] where Files.exists(p) {
            throw VaultError.usage("\(p) already exists; refusing to overwrite a key")
        }
        guard !passphrase.isEmpty else { throw VaultError.usage("the passphrase for \(chair) must not be empty") }
        let createdDirectory = !Files.exists(location.directory)
        var created: [String] = []
        do {
            try Files.makeDirectory(location.directory, mode: 0o700)
            try Files.makeDirectory(location.keysDirectory, mode: 0o700)
            try Files.makeDirectory(location.policiesDirectory, mode: 0o755)

            let keys = PrivateKeys.generate()
            created += [keyBase + ".key", keyBase + ".pub"]
            try KeyFile.write(keys, to: keyBase, passphrase: passphrase, kdf: kdf)

            created += [location.databasePath, location.databasePath + "-wal", location.databasePath + "-shm"]
            let db = try Database(path: location.databasePath, create: true)
            try Schema.migrate(db)
            let vaultID = Hex.encode(SecureRandom.bytes(count: 16))
            let vault = Vault(location: location, database: db, id: vaultID)
            let identityKey = SymmetricKey(randomByteCount: 32)
            try db.transaction {
                let meta = try db.prepare("INSERT INTO vault_meta (key, value) VALUES (?, ?)")
                for (k, v) in [("vault_id", vaultID), ("format", "1"), ("chair", chair.rawValue),
                               ("created_at", Timestamp.now())] {
                    try meta.bind(k, v).run()
                }
                let principal = Principal(id: chair, role: .chair, publicKeys: keys.publicKeys,
                                          identityCiphertext: try identity.map { try vault.encryptIdentity($0, of: chair, key: identityKey) },
                                          conflicts: [], enabled: true, version: 1)
                try vault.insert(principal, signedBy: keys.signing)
                try vault.wrapIdentityKey(identityKey, to: principal)
                let policy = try PolicySet(source: DefaultPolicy.source, fileName: "default.policy")
                try vault.storePolicy(policy, version: 1, chairKey: keys.signing)
                try vault.appendAudit(AuditRecord(
                    actor: chair.rawValue, authenticated: true, action: "vault.init", target: "vault/\(vaultID)",
                    policySHA256: policy.sha256Hex,
                    details: ["enrolled": Vault.enrolment(principal), "policy_version": .integer(1)]), signer: keys.signing)
            }

            let policyPath = location.policiesDirectory + "/default.policy"
            if !Files.exists(policyPath) {
                created.append(policyPath)
                try Files.writeAtomically(Array(DefaultPolicy.source.utf8), to: policyPath, mode: 0o644, overwrite: false)
            }
            return Created(vaultID: vaultID, chair: chair, chairFingerprint: keys.publicKeys.fingerprint, keyPath: keyBase + ".key")
        } catch {
            for p in created { unlink(p) }
            if createdDirectory { try? FileManager.default.removeItem(atPath: location.directory) }
            throw error
        }
    }

    // MARK: - Principals

    /// Stores a principal with the chair's signature over every field.
    func insert(_ p: Principal, signedBy chairKey: Curve25519.Signing.PrivateKey) throws {
        let sig = try chairKey.signature(for: p.signedBytes(vaultID: id))
        let conflictsJSON = String(decoding: try JSONEncoder().encode(p.conflicts), as: UTF8.self)
        try database.prepare("""
            INSERT INTO principals (id, role, x25519_pub, ed25519_pub, identity_ct, conflicts, enabled, version, chair_sig)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).bind(p.id.rawValue, p.role.rawValue, p.publicKeys.agreement.rawRepresentation, p.publicKeys.signing.rawRepresentation,
                      p.identityCiphertext, conflictsJSON, p.enabled, p.version, sig).run()
    }

    /// Loads a principal and checks the chair's signature on it against `chairKey`.
    /// A row that does not verify is an integrity failure, never silently used.
    public func principal(_ pid: PrincipalID, verifiedWith chairKey: Curve25519.Signing.PublicKey) throws -> Principal {
        let s = try database.prepare("""
            SELECT role, x25519_pub, ed25519_pub, identity_ct, conflicts, enabled, version, chair_sig FROM principals WHERE id = ?
            """).bind(pid.rawValue)
        guard try s.step() else { throw VaultError.notFound("no principal \(pid) in this vault") }
        guard let role = Role(rawValue: s.text(0)),
              let conflicts = try? JSONDecoder().decode([String].self, from: Data(s.text(4).utf8)) else {
            throw VaultError.integrity("principal \(pid) has a malformed record")
        }
        let p = Principal(id: pid, role: role, publicKeys: try PublicKeys(agreementRaw: s.blob(1), signingRaw: s.blob(2)),
                          identityCiphertext: s.optionalBlob(3), conflicts: conflicts, enabled: s.int(5) == 1, version: s.int(6))
        guard chairKey.isValidSignature(s.blob(7), for: p.signedBytes(vaultID: id)) else {
            throw VaultError.integrity("the chair's signature on principal \(pid) does not verify")
        }
        return p
    }

    /// The `enrolled` detail of an audit entry: binds the principal's signing key into the log,
    /// so an exported log's signer list can be checked against the log itself.
    static func enrolment(_ p: Principal) -> JSONValue {
        .object(["id": .string(p.id.rawValue), "role": .string(p.role.rawValue),
                 "ed25519": .string(Base64.encode(p.publicKeys.signing.rawRepresentation)),
                 "x25519": .string(Base64.encode(p.publicKeys.agreement.rawRepresentation))])
    }

    /// Every principal, each checked against the chair's signature, sorted by id.
    public func allPrincipals(verifiedWith chairKey: Curve25519.Signing.PublicKey) throws -> [Principal] {
        let s = try database.prepare("SELECT id FROM principals ORDER BY id")
        var ids: [PrincipalID] = []
        while try s.step() {
            guard let pid = try? PrincipalID(s.text(0)) else { throw VaultError.integrity("vault.db holds a malformed principal id") }
            ids.append(pid)
        }
        return try ids.map { try principal($0, verifiedWith: chairKey) }
    }

    /// The chair's id as recorded at init.
    public func chairID() throws -> PrincipalID {
        let s = try database.prepare("SELECT value FROM vault_meta WHERE key = 'chair'")
        guard try s.step() else { throw VaultError.integrity("vault.db names no chair") }
        return try PrincipalID(s.text(0))
    }

    // MARK: - Identities

    /// AAD for an identity ciphertext: binds it to this vault and this principal, so it cannot
    /// be moved to another principal's row.
    func identityAAD(_ pid: PrincipalID) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/identity/v1")
        e.append(id)
        e.append(pid.rawValue)
        return e.bytes
    }

    func encryptIdentity(_ identity: String, of pid: PrincipalID, key: SymmetricKey) throws -> [UInt8] {
        var plaintext = Array(identity.utf8)
        defer { secureWipe(&plaintext) }
        return try AES.GCM.seal(plaintext, using: key, authenticating: identityAAD(pid)).combined
    }

    func identityKeyWrapInfo() -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/identity-key-wrap/v1")
        e.append(id)
        return e.bytes
    }

    /// Wraps the vault identity key to a principal with HPKE (AAD: the recipient's id).
    func wrapIdentityKey(_ key: SymmetricKey, to p: Principal) throws {
        let (enc, ct) = try HPKE.seal(key.bytes, to: p.publicKeys.agreement, info: identityKeyWrapInfo(),
                                      authenticating: Array(p.id.rawValue.utf8))
        try database.prepare("INSERT INTO key_wraps (purpose, scope, recipient, enc, ct) VALUES ('identity-key', '', ?, ?, ?)")
            .bind(p.id.rawValue, enc, ct).run()
    }

    /// Unwraps the vault identity key with a holder's private key.
    public func unwrapIdentityKey(as pid: PrincipalID, keys: PrivateKeys) throws -> SymmetricKey {
        let s = try database.prepare("SELECT enc, ct FROM key_wraps WHERE purpose = 'identity-key' AND scope = '' AND recipient = ?")
            .bind(pid.rawValue)
        guard try s.step() else {
            // The chair and auditors always hold a wrap; for them a missing one is damage.
            let role = try database.prepare("SELECT role FROM principals WHERE id = ?").bind(pid.rawValue)
            if try role.step(), ["chair", "auditor"].contains(role.text(0)) {
                throw VaultError.integrity("the identity-key wrap for \(pid) is missing")
            }
            throw VaultError.denied(policyIDs: [])
        }
        do {
            return SymmetricKey(try HPKE.open(s.blob(1), encapsulatedKey: s.blob(0), using: keys.agreement,
                                              info: identityKeyWrapInfo(), authenticating: Array(pid.rawValue.utf8)))
        } catch {
            throw VaultError.integrity("the identity-key wrap for \(pid) does not open")
        }
    }

    /// Decrypts a principal's real identity (for `identity reveal`, later under policy).
    public func decryptIdentity(of p: Principal, key: SymmetricKey) throws -> SecureBytes? {
        guard let ct = p.identityCiphertext else { return nil }
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: ct), using: key, authenticating: identityAAD(p.id))
        } catch {
            throw VaultError.integrity("the identity of \(p.id) does not decrypt")
        }
    }
}

/// RFC 3339 UTC timestamps, to the second.
public enum Timestamp {
    public static func now() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date())
    }
}
