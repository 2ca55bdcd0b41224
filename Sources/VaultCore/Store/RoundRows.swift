import Foundation
import VaultCrypto

/// Round rows in vault.db, each checked against the log and the chair's signature on load.
extension Vault {
    /// Loads a round and checks the chair's signature with `chairKey` — for an evaluator that is
    /// the pinned key, so a round (and its public key) swapped by a writer of vault.db is refused.
    public func round(_ id: String, verifiedWith chairKey: Curve25519.Signing.PublicKey) throws -> Round {
        let s = try database.prepare("SELECT config, state, policy_version, public_key, version, chair_sig, panel, ceremony FROM rounds WHERE id = ?").bind(id)
        guard try s.step() else {
            try vouch(.round, id, row: nil, what: "round \(id)")
            // Sealed batches that name a round with no record mean the record was removed or renamed.
            if try database.prepare("SELECT 1 FROM batches WHERE round = ? LIMIT 1").bind(id).step() {
                throw VaultError.integrity("round \(id) has sealed batches but no record (removed or renamed in vault.db)")
            }
            throw VaultError.notFound("no round \(id) in this vault")
        }
        let config: RoundConfig
        do { config = try RoundConfig(canonical: try JSONParser.parse(Array(s.text(0).utf8))) } catch {
            throw VaultError.integrity("round \(id) has a malformed definition")
        }
        guard config.id == id, let state = RoundState(rawValue: s.text(1)) else { throw VaultError.integrity("round \(id) has a malformed record") }
        let publicKey: Curve25519.KeyAgreement.PublicKey?
        do { publicKey = try s.optionalBlob(3).map { try Curve25519.KeyAgreement.PublicKey(rawRepresentation: $0) } } catch {
            throw VaultError.integrity("round \(id) has a malformed public key")
        }
        let panel: [PrincipalID]
        do { panel = try (s.isNull(6) ? [] : JSONDecoder().decode([String].self, from: Data(s.text(6).utf8))).map { try PrincipalID($0) } } catch {
            throw VaultError.integrity("round \(id) has a malformed panel")
        }
        let round = Round(config: config, state: state, policyVersion: s.isNull(2) ? nil : s.int(2), publicKey: publicKey, version: s.int(4),
                          panel: panel, ceremony: s.optionalBlob(7))
        try vouch(.round, id, row: SHA256.hash(data: round.signedBytes(vaultID: self.id)), what: "round \(id)")
        // The facts the log's replay relied on (holders, threshold, panel) must be the row's.
        let head = log.head(.round, id)
        guard head?.holders == config.reveal.holders.map(\.rawValue), head?.threshold == config.reveal.threshold,
              (head?.panel ?? []) == panel.map(\.rawValue) else {
            throw VaultError.integrity("round \(id): its signed log record and its row disagree on holders, threshold or panel")
        }
        guard chairKey.isValidSignature(s.blob(5), for: round.signedBytes(vaultID: self.id)) else {
            throw VaultError.integrity("round \(id) is not signed by the chair's key (changed in vault.db, or a different chair)")
        }
        return round
    }

    /// Every round id, sorted: those with a row and those the log records.
    public func roundIDs() throws -> [String] {
        let s = try database.prepare("SELECT id FROM rounds ORDER BY id")
        var out = Set(log.heads.values.filter { $0.kind == .round }.map(\.id))
        while try s.step() { out.insert(s.text(0)) }
        return out.sorted()
    }

    /// Stores a round row, signed by the chair; returns the record its log entry carries.
    func store(_ r: Round, signedBy chairKey: Curve25519.Signing.PrivateKey, replacing: Bool) throws -> ObjectRecord {
        let sig = try chairKey.signature(for: r.signedBytes(vaultID: id))
        let sql = replacing
            ? "UPDATE rounds SET config = ?2, state = ?3, policy_version = ?4, public_key = ?5, version = ?6, chair_sig = ?7, panel = ?8, ceremony = ?9 WHERE id = ?1"
            : "INSERT INTO rounds (id, config, state, policy_version, public_key, version, chair_sig, panel, ceremony) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        let panel = r.panel.isEmpty ? nil : CanonicalJSON.string(.array(r.panel.map { .string($0.rawValue) }))
        try database.prepare(sql).bind(r.id, CanonicalJSON.string(r.config.canonicalJSON), r.state.rawValue, r.policyVersion,
                                       r.publicKey?.rawRepresentation, r.version, sig, panel, r.ceremony).run()
        return r.objectRecord(vaultID: id)
    }

    /// Whether vault.db has a row for this round id (taken ids are refused even when the log
    /// does not record them: that row is damage to report, not to overwrite).
    func roundRowExists(_ id: String) throws -> Bool {
        try database.prepare("SELECT 1 FROM rounds WHERE id = ?").bind(id).step()
    }
}
