import Foundation
import VaultCrypto

/// An open vault: its location, its database and its id, and what this client has verified of
/// its log (`log`), which every load of a row is checked against.
public final class Vault {
    public let location: VaultLocation
    public let database: Database
    /// A random 128-bit id in hex, bound into every signature and AAD so that nothing can be
    /// moved from one vault to another.
    public let id: String
    /// This person's state folder (pins, what it has seen, receipts).
    public let client: ClientState
    /// The log as this client has verified it: the source of truth for every row.
    public internal(set) var log: LogState
    /// The verified leaf hashes and their frontier (the root without re-reading the log).
    var leaves: [[UInt8]] = []
    /// Manifests already parsed in this process, by round, with the SHA-256 of the stored body
    /// they were parsed from: each read still hashes the stored body and checks it against the
    /// log; only the parsing and the leaf hashes of an identical body are not done again.
    var parsedManifests: [String: (sha256: [UInt8], manifest: Manifest)] = [:]
    /// Each policy version parsed once per process, by the SHA-256 of its source: every read
    /// still checks the row against the log and the chair's signature, and parses again a
    /// source that differs (a reveal asks the policy four times).
    var parsedPolicies: [Int: (sha256: [UInt8], set: PolicySet)] = [:]
    /// Tests only: runs between a seal's checks and its write transaction, to race a close
    /// there. Per vault (not global), so tests running in parallel never call each other's.
    var beforeSealTransaction: (() -> Void)?
    var frontier = MerkleFrontier()
    /// Set when this command pinned the chair's key for the first time (the CLI says so).
    public internal(set) var newlyPinned: Fingerprint?

    /// The on-disk format this version writes and reads.
    static let format = "2"

    init(location: VaultLocation, database: Database, id: String, client: ClientState) {
        self.location = location
        self.database = database
        self.id = id
        self.client = client
        self.log = LogState(vaultID: id)
    }

    /// Opens an existing vault (exit 66 when there is none) and brings this client's view of it
    /// up to date: the log must be a consistent extension of what this client saw before, and
    /// every new entry is verified and replayed (design: invariants 10 and 12).
    public static func open(at location: VaultLocation, state client: ClientState = .resolve()) throws -> Vault {
        guard Files.exists(location.databasePath) else {
            throw VaultError.notFound("no vault at \(location.directory) (run `evalvault init --chair ID`, or pass --dir or set EVALVAULT_DIR)")
        }
        // A damaged vault.db says how to restore it (design: Backup and restore). An empty one
        // (truncated to nothing) is not created afresh by the migrations below.
        let advice = VaultBackup.advice(for: location)
        if let size = try? FileManager.default.attributesOfItem(atPath: location.databasePath)[.size] as? Int, size == 0 {
            throw VaultError.integrity("\(location.databasePath) is empty (truncated?); \(advice)")
        }
        let db = try Database(path: location.databasePath, create: false, corruptionAdvice: advice)
        try Schema.migrate(db)
        let s = try db.prepare("SELECT key, value FROM vault_meta WHERE key IN ('vault_id', 'format')")
        var meta: [String: String] = [:]
        while try s.step() { meta[s.text(0)] = s.text(1) }
        guard let id = meta["vault_id"] else { throw VaultError.integrity("\(location.databasePath) has no vault id; \(advice)") }
        // The id names files in the client's state folder: it must be exactly what init makes
        // (32 lower-case hex digits), never a path.
        guard id.utf8.count == 32, id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw VaultError.integrity("\(location.databasePath) has a malformed vault id")
        }
        guard meta["format"] == format else {
            throw VaultError.invalidData("\(location.databasePath) is a vault of format \(meta["format"] ?? "?"); this evalvault reads format \(format) only (version 1 vaults trusted vault.db's rows; create a new vault with `evalvault init`)")
        }
        let vault = Vault(location: location, database: db, id: id, client: client)
        // A folder this client knows must still hold the same vault: a vault replaced in place
        // (a new id, the writer's own chair) is not a first use to pin silently.
        try client.checkFolder(location.directory, holds: id)
        let known = try client.load(vaultID: id)
        if let known { vault.log = known }
        try vault.refresh()
        if known == nil, let chair = vault.log.chairID {
            vault.newlyPinned = try vault.principal(try PrincipalID(chair), verifiedWith: vault.chairKey).publicKeys.fingerprint
        }
        // Saved only when there is something new to remember (a first pin, a longer log).
        if known == nil || known?.size != vault.log.size || known?.checkpointSize != vault.log.checkpointSize {
            try client.save(vault.log)
        }
        try client.remember(folder: location.directory, holds: id)
        return vault
    }

    /// The chair's signing key this client trusts for this vault (pinned on first use).
    public var chairKey: Curve25519.Signing.PublicKey {
        get throws {
            guard let key = log.chairKey else { throw VaultError.integrity("the vault's log has no creation entry") }
            return key
        }
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
                                  identity: String?, kdf: Scrypt.Parameters, state client: ClientState = .resolve()) throws -> Created {
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
            let vault = Vault(location: location, database: db, id: vaultID, client: client)
            let identityKey = SymmetricKey(randomByteCount: 32)
            try vault.write {
                let meta = try db.prepare("INSERT INTO vault_meta (key, value) VALUES (?, ?)")
                for (k, v) in [("vault_id", vaultID), ("format", Vault.format), ("chair", chair.rawValue),
                               ("created_at", Timestamp.now())] {
                    try meta.bind(k, v).run()
                }
                let principal = Principal(id: chair, role: .chair, publicKeys: keys.publicKeys,
                                          identityCiphertext: try identity.map { try vault.encryptIdentity($0, of: chair, key: identityKey) },
                                          conflicts: [], enabled: true, version: 1)
                let chairRecord = try vault.insert(principal, signedBy: keys.signing)
                let wrap = try vault.wrapIdentityKey(identityKey, to: principal)
                let policy = try PolicySet(source: DefaultPolicy.source, fileName: "default.policy")
                let policyRecord = try vault.storePolicy(policy, version: 1, chairKey: keys.signing)
                try vault.appendAudit(AuditRecord(
                    actor: chair.rawValue, authenticated: true, action: "vault.init", target: "vault/\(vaultID)",
                    policySHA256: policy.sha256Hex,
                    details: ["enrolled": Vault.enrolment(principal), "policy_version": .integer(1),
                              "identity_key_commitment": .string(Hex.encode(vault.identityKeyCommitment(identityKey)))]),
                    signer: keys.signing, objects: [chairRecord, wrap, policyRecord])
            }
            try client.save(vault.log)
            try client.remember(folder: location.directory, holds: vaultID)

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

    /// A public commitment to the vault identity key, in the chair-signed creation entry: an
    /// unwrapped key that does not match it is refused before anything is encrypted under it.
    func identityKeyCommitment(_ key: SymmetricKey) -> [UInt8] {
        // Hashed straight from the key's wiped storage: no copy of the key is left behind.
        var e = CanonicalEncoder(domain: "evalvault/identity-key-commitment/v1")
        e.append(id)
        var h = SHA256.Hasher()
        h.update(data: e.bytes)
        h.update(data: key.bytes)
        return h.finalize()
    }

    /// Wraps the vault identity key to a principal with HPKE (AAD: the recipient's id). HPKE base
    /// mode does not say who sealed, so the wrap is authenticated by the chair instead: the
    /// returned record (the wrap's digest) goes into the chair-signed log entry of the change.
    func wrapIdentityKey(_ key: SymmetricKey, to p: Principal) throws -> ObjectRecord {
        let (enc, ct) = try HPKE.seal(key.bytes, to: p.publicKeys.agreement, info: identityKeyWrapInfo(),
                                      authenticating: Array(p.id.rawValue.utf8))
        return try storeWrap(purpose: "identity-key", scope: "", recipient: p.id, enc: enc, ct: ct)
    }

    /// Unwraps the vault identity key with a holder's private key: the wrap must be the one the
    /// log records (chair-signed), and the key must match the vault's commitment.
    public func unwrapIdentityKey(as pid: PrincipalID, keys: PrivateKeys) throws -> SymmetricKey {
        guard let wrap = try loadWrap(purpose: "identity-key", scope: "", recipient: pid) else {
            // The chair and auditors always hold a wrap; for them a missing one is damage.
            if let role = log.head(.principal, pid.rawValue)?.role, ["chair", "auditor"].contains(role) {
                throw VaultError.integrity("the identity-key wrap for \(pid) is missing")
            }
            throw VaultError.permission("\(pid) holds no wrap of the vault identity key (only the chair and auditors do)")
        }
        let key: SymmetricKey
        do {
            key = SymmetricKey(try HPKE.open(wrap.ct, encapsulatedKey: wrap.enc, using: keys.agreement,
                                             info: identityKeyWrapInfo(), authenticating: Array(pid.rawValue.utf8)))
        } catch {
            throw VaultError.integrity("the identity-key wrap for \(pid) does not open")
        }
        guard let commitment = log.identityKeyCommitment, Hex.encode(identityKeyCommitment(key)) == commitment else {
            throw VaultError.integrity("the identity key unwrapped for \(pid) is not the vault's (its wrap was swapped)")
        }
        return key
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
