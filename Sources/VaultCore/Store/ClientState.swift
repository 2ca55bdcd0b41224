import Foundation
import VaultCrypto

/// A person's own evalvault state, outside every vault: `$EVALVAULT_STATE`, else
/// `$XDG_STATE_HOME/evalvault`, else `~/.local/state/evalvault` (mode 0700). Per vault it keeps
/// the pinned chair key, how far this client has verified the log and the latest record of
/// every object (`vaults/<vault id>.state`, see `ClientStateFile`), and the receipts of the batches it sealed
/// (`receipts/<vault id>/<batch id>.json`); for a reveal holder, the manifest root it approved a
/// reveal of each round for (`approvals/<vault id>.json`).
///
/// Why outside the vault: a writer of the vault folder is exactly who must not be able to remove
/// a pin or roll back what a client has seen (design: On disk).
public struct ClientState: Sendable, Equatable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The state folder for this environment.
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) -> ClientState {
        if let s = environment["EVALVAULT_STATE"], !s.isEmpty { return ClientState(directory: s) }
        if let x = environment["XDG_STATE_HOME"], !x.isEmpty { return ClientState(directory: x + "/evalvault") }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return ClientState(directory: home + "/.local/state/evalvault")
    }

    func vaultFile(_ vaultID: String) -> String { directory + "/vaults/" + vaultID + ".state" }
    func receiptDirectory(_ vaultID: String) -> String { directory + "/receipts/" + vaultID }

    /// Creates the folder (0700) if needed; refuses one that others can write or read, as ssh
    /// refuses a loose ~/.ssh.
    func prepare(_ sub: String) throws {
        if Files.exists(directory) {
            try checkPermissions()
        } else {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let path = directory + "/" + sub
        if !Files.exists(path) {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    func checkPermissions() throws {
        guard let mode = Files.mode(directory), mode & 0o077 == 0 else {
            throw VaultError.permission("\(directory) is readable or writable by others; run `chmod 700 \(directory)` (it holds your pins and receipts)")
        }
    }

    /// What this client knows of the vault, or nil when it has never opened it.
    func load(vaultID: String) throws -> LogState? {
        if Files.exists(directory) { try checkPermissions() }
        let file = vaultFile(vaultID)
        guard Files.exists(file) else {
            // A development build before 0.2.0 kept this as JSON. Starting afresh would pin the
            // chair again on trust, so the old file is not silently ignored.
            let old = directory + "/vaults/" + vaultID + ".json"
            if Files.exists(old) {
                throw VaultError.invalidData("\(old) was written by a development build of evalvault; move it away, open the vault again and compare the chair's fingerprint by voice")
            }
            return nil
        }
        let bad = VaultError.invalidData("\(file) is not an evalvault client state file (damaged? move it away to start afresh, and compare the chair's fingerprint again)")
        let state = try ClientStateFile.decode(try Files.read(file, what: "client state file"), bad: bad)
        guard state.vaultID == vaultID else { throw VaultError.invalidData("\(file) belongs to another vault") }
        return state
    }

    /// Saves what this client knows, unless another process of the same client has already
    /// saved a longer log (what a client has seen only ever grows).
    func save(_ state: LogState) throws {
        try prepare("vaults")
        if let existing = savedSize(vaultID: state.vaultID), existing > state.size { return }
        try Files.writeAtomically(ClientStateFile.encode(state), to: vaultFile(state.vaultID), mode: 0o600, overwrite: true, durable: false)
    }

    /// The size recorded in this client's saved state, read from the file's last line, so a save
    /// does not parse the whole file again; the whole file is parsed only when its end does not
    /// read that way.
    private func savedSize(vaultID: String) -> Int? {
        let file = vaultFile(vaultID)
        guard let handle = FileHandle(forReadingAtPath: file) else { return nil }
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd(), end > 0 else { return nil }
        try? handle.seek(toOffset: end > 64 ? end - 64 : 0)
        if let size = ClientStateFile.trailingSize([UInt8]((try? handle.readToEnd()) ?? Data())) { return size }
        return (try? load(vaultID: vaultID))?.size
    }

    // MARK: Which vault each folder holds

    private var foldersFile: String { directory + "/folders.json" }

    private func folders() throws -> [String: String] {
        guard Files.exists(foldersFile) else { return [:] }
        guard case .object(let o)? = try? JSONParser.parse(try Files.read(foldersFile, what: "client state file")) else {
            throw VaultError.invalidData("\(foldersFile) is damaged (move it away to start afresh)")
        }
        return o.compactMapValues(\.stringValue)
    }

    private static func key(_ folder: String) -> String {
        URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// Refuses a folder that held another vault when this client last opened it.
    func checkFolder(_ folder: String, holds vaultID: String) throws {
        if Files.exists(directory) { try checkPermissions() }
        if let known = try folders()[Self.key(folder)], known != vaultID {
            throw VaultError.integrity("\(folder) held vault \(known) when this client last opened it; it now holds vault \(vaultID) (replaced?). If the chair really made a new vault there, compare its fingerprint by voice, then remove this folder's line from \(foldersFile)")
        }
    }

    /// Remembers which vault a folder holds.
    func remember(folder: String, holds vaultID: String) throws {
        var all = try folders()
        let key = Self.key(folder)
        guard all[key] != vaultID else { return }
        all[key] = vaultID
        try prepare(".")
        try Files.writeAtomically(CanonicalJSON.encode(.object(all.mapValues { .string($0) })) + [0x0A], to: foldersFile, mode: 0o600, overwrite: true)
    }

    /// Keeps a receipt; returns its path.
    @discardableResult
    func saveReceipt(_ receipt: Receipt) throws -> String {
        try prepare("receipts/" + receipt.vault)
        let path = receiptDirectory(receipt.vault) + "/" + receipt.batch + ".json"
        try Files.writeAtomically(receipt.bytes, to: path, mode: 0o600, overwrite: true)
        return path
    }
}

// MARK: What a reveal holder approved (design: Across machines)

extension ClientState {
    func approvalsFile(_ vaultID: String) -> String { directory + "/approvals/" + vaultID + ".json" }

    /// The manifest root (hex) this client approved a reveal of `round` for, if any.
    func approvedRoot(vault: String, round: String) throws -> String? {
        try approvedRoots(vault: vault)[round]
    }

    func approvedRoots(vault: String) throws -> [String: String] {
        if Files.exists(directory) { try checkPermissions() }
        let file = approvalsFile(vault)
        guard Files.exists(file) else { return [:] }
        let damaged = VaultError.invalidData("\(file) is damaged (it holds the manifest roots you approved; restore it from a backup rather than remove it)")
        guard let v = try? JSONParser.parse(try Files.read(file, what: "client state file", limit: 16 << 20)),
              v["format"]?.stringValue == "evalvault-approved-roots/1", v["vault"]?.stringValue == vault,
              let rounds = v["rounds"]?.objectValue else { throw damaged }
        return try rounds.mapValues { guard let s = $0.stringValue else { throw damaged }; return s }
    }

    /// Records the root approved for a round (the first one stays: a different one is refused before this).
    func recordApprovedRoot(vault: String, round: String, root: [UInt8]) throws {
        var all = try approvedRoots(vault: vault)
        guard all[round] == nil else { return }
        all[round] = Hex.encode(root)
        try prepare("approvals")
        try Files.writeAtomically(CanonicalJSON.encode(.object([
            "format": .string("evalvault-approved-roots/1"), "vault": .string(vault), "rounds": .object(all.mapValues { .string($0) }),
        ])) + [0x0A], to: approvalsFile(vault), mode: 0o600, overwrite: true)
    }
}

// MARK: Ids for shell completion

extension ClientState {
    /// The ids of one kind of object (`.round`, `.principal`) in the vault a folder held when
    /// this client last opened it, from the log as this client verified it then; deleted objects
    /// left out; sorted. Empty when the client does not know the folder or its state is
    /// unreadable. Why from the state folder and not vault.db: shell completion runs on every TAB
    /// press with no passphrase, and must not append audit entries, pin a chair key without
    /// showing its fingerprint, or wait on a busy vault; it reads the same verified log heads a
    /// command checks every row against, and writes nothing.
    public func knownIDs(_ kind: ObjectRecord.Kind, inVaultAt folder: String) -> [String] {
        guard let vaultID = try? folders()[Self.key(folder)], let state = try? load(vaultID: vaultID) else { return [] }
        return state.heads.values.filter { $0.kind == kind && !$0.deleted }.map(\.id).sorted()
    }
}
