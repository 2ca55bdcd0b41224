import Foundation

/// Where a vault lives on disk (design: On disk): `vault.db`, `Keys/`, `Policies/` under one folder.
public struct VaultLocation: Sendable, Equatable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// `--dir`, else `$EVALVAULT_DIR`, else `./vault`.
    public static func resolve(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> VaultLocation {
        VaultLocation(directory: option ?? environment["EVALVAULT_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "vault")
    }

    public var databasePath: String { directory + "/vault.db" }
    public var keysDirectory: String { directory + "/Keys" }
    public var policiesDirectory: String { directory + "/Policies" }

    /// `Keys/<id>` without extension; `.key` and `.pub` are added by the key-file code.
    public func keyBasePath(for id: PrincipalID) -> String { keysDirectory + "/" + id.rawValue }
}
