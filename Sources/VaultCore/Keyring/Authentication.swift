import Foundation
import VaultCrypto

/// An authenticated principal for the length of one command: its verified record and its
/// private keys, and the chair key its trust rests on.
public struct Actor: Sendable {
    public let principal: Principal
    public let keys: PrivateKeys
    /// The chair's signing key this actor trusts: the key pinned in its client state folder on
    /// first use (design: Cryptography: trust on first use, then refuse any other).
    public let chairKey: Curve25519.Signing.PublicKey

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
            // A wrong passphrase typed at the terminal is asked again (three tries); each wrong
            // try is recorded, as a wrong passphrase from a file is, the last by the catch below.
            keys = try passphrase.unlock({ try KeyFile.load(path: path, passphrase: $0) }, failedTry: { error in
                let recorded = fail("wrong passphrase", error)
                if recorded != error { throw recorded }
            })
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
        let chairKey = try self.chairKey
        if pid == chairID {
            // A key file that is not the pinned chair key is an authentication failure.
            guard keys.publicKeys.signing == chairKey else {
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
        return Actor(principal: principal, keys: keys, chairKey: chairKey)
    }
}
