import Foundation
import VaultCrypto

/// Signed policy versions in vault.db, each checked against the log on load.
extension Vault {
    /// What the chair signs for a policy version: the vault, the version, the hash of the text
    /// and when it was applied (every column, so no byte of the row can change unnoticed).
    static func policySignedBytes(vaultID: String, version: Int, sha256: [UInt8], appliedAt: String) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/policy/v1")
        e.append(vaultID)
        e.append(Int64(version))
        e.append(sha256)
        e.append(appliedAt)
        return e.bytes
    }

    /// Stores `set` as version `version`, signed by the chair; returns the record its log entry
    /// carries. Call inside `write`.
    func storePolicy(_ set: PolicySet, version: Int, chairKey: Curve25519.Signing.PrivateKey) throws -> ObjectRecord {
        let appliedAt = Timestamp.now()
        let sig = try chairKey.signature(for: Self.policySignedBytes(vaultID: id, version: version, sha256: set.sha256, appliedAt: appliedAt))
        try database.prepare("INSERT INTO policies (version, source, sha256, applied_at, chair_sig) VALUES (?, ?, ?, ?, ?)")
            .bind(version, set.source, set.sha256, appliedAt, sig).run()
        return ObjectRecord(kind: .policy, id: String(version),
                            sha256: SHA256.hash(data: Self.policySignedBytes(vaultID: id, version: version, sha256: set.sha256, appliedAt: appliedAt)))
    }

    /// One stored policy version, verified.
    public func policy(version: Int, chairKey: Curve25519.Signing.PublicKey) throws -> PolicyVersion {
        let s = try database.prepare("SELECT version, source, sha256, applied_at, chair_sig FROM policies WHERE version = ?").bind(version)
        guard try s.step() else {
            try vouch(.policy, String(version), row: nil, what: "policy version \(version)")
            throw VaultError.integrity("vault.db holds no policy version \(version)")
        }
        let source = s.text(1), hash = s.blob(2)
        let signed = Self.policySignedBytes(vaultID: id, version: version, sha256: hash, appliedAt: s.text(3))
        try vouch(.policy, String(version), row: SHA256.hash(data: signed), what: "policy version \(version)")
        guard SHA256.hash(data: Array(source.utf8)) == hash, chairKey.isValidSignature(s.blob(4), for: signed) else {
            throw VaultError.integrity("policy version \(version) does not match the chair's signature")
        }
        if let known = parsedPolicies[version], known.sha256 == hash {
            return PolicyVersion(version: version, set: known.set, appliedAt: s.text(3))
        }
        do {
            let set = try PolicySet(source: source, fileName: "policy version \(version)")
            parsedPolicies[version] = (hash, set)
            return PolicyVersion(version: version, set: set, appliedAt: s.text(3))
        } catch {
            throw VaultError.integrity("the stored policy version \(version) does not load")
        }
    }
}
