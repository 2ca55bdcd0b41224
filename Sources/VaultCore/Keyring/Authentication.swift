import Foundation
import VaultCrypto

/// An authenticated principal for the length of one command: its verified record and its
/// private keys, and the chair key its trust rests on.
public struct Actor: Sendable {
    public let principal: Principal
    public let keys: PrivateKeys
    /// The chair's signing key this actor trusts: its own key for the chair, the pinned key for
    /// everyone else (design: Cryptography: trust on first use, then refuse any other).
    public let chairKey: Curve25519.Signing.PublicKey
    /// Set when this command pinned the chair key for the first time (the CLI says so).
    public let newlyPinned: Fingerprint?

    public var id: PrincipalID { principal.id }
}

extension Vault {
    /// Opens the acting principal's key file and ties it to its enrolled, chair-signed record.
    /// A failed attempt (wrong passphrase, refused or missing key file, key not enrolled,
    /// disabled principal) is recorded in the audit log, unauthenticated, before the error is
    /// returned.
    public func authenticate(_ pid: PrincipalID, keyPath: String?, passphrase: PassphraseSource,
                             action: String, target: String) throws -> Actor {
        let path = keyPath ?? location.keyBasePath(for: pid) + ".key"
        func fail(_ reason: String, _ error: VaultError) -> VaultError {
            let record = AuditRecord(actor: pid.rawValue, authenticated: false, action: action, target: target,
                                     outcome: .failed, details: ["reason": .string(reason)])
            do { try recordAttempt(record, signer: nil) } catch let e as VaultError { return e } catch { return .internalError("audit append failed") }
            return error
        }
        let keys: PrivateKeys
        do {
            try KeyFile.checkPermissions(path: path)
            keys = try KeyFile.load(path: path, passphrase: try passphrase.read())
        } catch let error as VaultError {
            let reason = switch error {
            case .authenticationFailed: "wrong passphrase"
            case .permission: "key file refused"
            case .notFound: "key file missing"
            case .usage: "no passphrase"
            default: "key file damaged"
            }
            throw fail(reason, error)
        }
        let chairID = try chairID()
        var chairKey: Curve25519.Signing.PublicKey
        var newlyPinned: Fingerprint?
        if pid == chairID {
            chairKey = keys.signing.publicKey
        } else {
            (chairKey, newlyPinned) = try pinnedChairKey(chairID: chairID, pinFile: Self.pinPath(forKey: path))
        }
        if pid == chairID {
            // A key file that is not the enrolled chair key is an authentication failure; the
            // enrolled key with a record that no longer verifies is damage (integrity).
            let stored = try database.prepare("SELECT x25519_pub, ed25519_pub FROM principals WHERE id = ?").bind(pid.rawValue)
            if try stored.step(), stored.blob(0) != keys.publicKeys.agreement.rawRepresentation
                || stored.blob(1) != keys.publicKeys.signing.rawRepresentation {
                throw fail("key not enrolled", .authenticationFailed("\(path) is not the key enrolled for \(pid)"))
            }
        }
        let principal: Principal
        do {
            principal = try self.principal(pid, verifiedWith: chairKey)
        } catch VaultError.notFound(let m) {
            throw fail("not enrolled", .notFound(m))
        }
        guard principal.publicKeys == keys.publicKeys else {
            throw fail("key not enrolled", .authenticationFailed("\(path) is not the key enrolled for \(pid)"))
        }
        guard principal.enabled else { throw fail("principal disabled", .permission("principal \(pid) is disabled")) }
        return Actor(principal: principal, keys: keys, chairKey: chairKey, newlyPinned: newlyPinned)
    }

    /// `<key>.pins` beside a key file: one line per vault, `<vault id> <base64 chair Ed25519 key>`.
    /// It lives with the principal's key, not in vault.db, because a writer of vault.db is
    /// exactly who must not be able to swap the chair key (design: Cryptography).
    static func pinPath(forKey path: String) -> String {
        (path.hasSuffix(".key") ? String(path.dropLast(4)) : path) + ".pins"
    }

    func pinnedChairKey(chairID: PrincipalID, pinFile: String) throws -> (Curve25519.Signing.PublicKey, Fingerprint?) {
        var lines: [String] = []
        if Files.exists(pinFile) {
            lines = String(decoding: try Files.read(pinFile, what: "pin file"), as: UTF8.self).split(separator: "\n").map(String.init)
            for line in lines {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let raw = Base64.decode(parts[1]), raw.count == 32 else {
                    throw VaultError.invalidData("\(pinFile) is malformed")
                }
                if parts[0] == id { return (try Curve25519.Signing.PublicKey(rawRepresentation: raw), nil) }
            }
        }
        // First use: trust the chair record's own key, after checking it is self-consistent.
        let s = try database.prepare("SELECT ed25519_pub FROM principals WHERE id = ?").bind(chairID.rawValue)
        guard try s.step() else { throw VaultError.integrity("vault.db has no record for its chair \(chairID)") }
        let key: Curve25519.Signing.PublicKey
        do { key = try Curve25519.Signing.PublicKey(rawRepresentation: s.blob(0)) } catch {
            throw VaultError.integrity("the chair's public key in vault.db is malformed")
        }
        let chair = try principal(chairID, verifiedWith: key)
        lines.append("\(id) \(Base64.encode(key.rawRepresentation))")
        try Files.writeAtomically(Array((lines.joined(separator: "\n") + "\n").utf8), to: pinFile, mode: 0o600, overwrite: true)
        return (key, chair.publicKeys.fingerprint)
    }
}
