import VaultCrypto

/// The exit statuses of design: Command line (the sysexits.h values).
public enum ExitStatus: Int32, Sendable {
    case success = 0
    case usage = 64
    case dataError = 65
    case noInput = 66
    case internalError = 70
    case noPermission = 77
}

/// Every error EvalVault reports. Each carries its exit status (design: Command line) and a one-sentence
/// message for stderr. Messages never contain a secret, a score or a real identity: the
/// cases take only ids, paths and fixed text from their callers.
public enum VaultError: Error, Equatable, Sendable {
    /// Bad arguments or a request that cannot be carried out as asked (64).
    case usage(String)
    /// Malformed input data: a file that does not parse, a value out of range (65).
    case invalidData(String)
    /// Data that fails an integrity check: tampered, truncated or forged (65, says "integrity").
    case integrity(String)
    /// A missing vault, file or id (66).
    case notFound(String)
    /// The policy denied the action (77, says "denied" and the determining policy ids), with,
    /// where EvalVault can tell exactly, what in the request the policy refused (a short cell, an
    /// undeclared reveal).
    case denied(policyIDs: [String], reason: String? = nil)
    /// A wrong passphrase or a signature from the wrong key (77, says "authentication failed").
    case authenticationFailed(String)
    /// Refused for a local security reason, such as a key file others can read (77).
    case permission(String)
    /// A bug or an environment failure (70).
    case internalError(String)

    public var exitStatus: ExitStatus {
        switch self {
        case .usage: .usage
        case .invalidData, .integrity: .dataError
        case .notFound: .noInput
        case .denied, .authenticationFailed, .permission: .noPermission
        case .internalError: .internalError
        }
    }

    /// The single sentence printed on stderr.
    public var message: String {
        switch self {
        case .usage(let m), .invalidData(let m), .notFound(let m), .permission(let m): m
        case .integrity(let m): "integrity check failed: \(m)"
        case .denied(let ids, let reason) where ids.isEmpty: "denied: no policy permits this" + (reason.map { ": \($0)" } ?? "")
        case .denied(let ids, let reason): "denied by policy \(ids.sorted().joined(separator: ", "))" + (reason.map { ": \($0)" } ?? "")
        case .authenticationFailed(let m): "authentication failed: \(m)"
        case .internalError(let m): "internal error: \(m)"
        }
    }
}

extension VaultError: CustomStringConvertible {
    public var description: String { message }
}
