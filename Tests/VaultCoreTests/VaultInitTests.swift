import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

@Suite("Vault init and principals")
struct VaultInitTests {
    static let kdf = try! Scrypt.Parameters(log2N: 10)
    static let passphraseText = "Tr0ub4dor&3 passphrase for the chair"
    static let identityText = "Park Ji-woo, Programme Director"

    func makeVault(_ dir: TemporaryFolder) throws -> (VaultLocation, Vault.Created) {
        let location = VaultLocation(directory: dir.path + "/vault")
        let created = try Vault.initialize(at: location, chair: PrincipalID("chair"), passphrase: SecureBytes(Array(Self.passphraseText.utf8)),
                                           identity: Self.identityText, kdf: Self.kdf)
        return (location, created)
    }

    @Test("no file under the vault holds the passphrase or the identity (design: invariant 1)")
    func noPlaintextSecrets() throws {
        let dir = TemporaryFolder()
        let (location, _) = try makeVault(dir)
        // Keep a connection open with the WAL present, as a running command would.
        let vault = try Vault.open(at: location)
        _ = try vault.chairID()
        let files = dir.allFiles()
        #expect(files.contains { $0.hasSuffix("vault.db") })
        #expect(files.contains { $0.hasSuffix("chair.key") })
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
            #expect(!bytes.contains(bytes: Array(Self.passphraseText.utf8)), "\(file)")
            #expect(!bytes.contains(bytes: Array(Self.identityText.utf8)), "\(file)")
            #expect(!bytes.contains(bytes: Array("Park Ji-woo".utf8)), "\(file)")
        }
    }

    @Test("layout, WAL mode, schema version, refusal to overwrite")
    func layout() throws {
        let dir = TemporaryFolder()
        let (location, created) = try makeVault(dir)
        #expect(created.vaultID.count == 32)
        #expect(Files.mode(location.keysDirectory) == 0o700)
        #expect(Files.mode(location.directory) == 0o700)
        #expect(try String(contentsOfFile: location.policiesDirectory + "/default.policy", encoding: .utf8) == DefaultPolicy.source)
        let vault = try Vault.open(at: location)
        #expect(vault.id == created.vaultID)
        let mode = try vault.database.prepare("PRAGMA journal_mode")
        #expect(try mode.step() && mode.text(0) == "wal")
        #expect(try vault.database.userVersion == Schema.migrations.count)
        let again = #expect(throws: VaultError.self) {
            try Vault.initialize(at: location, chair: PrincipalID("chair"), passphrase: SecureBytes(Array("x".utf8)), identity: nil, kdf: Self.kdf)
        }
        #expect(again?.exitStatus == .usage)
        let missing = #expect(throws: VaultError.self) { try Vault.open(at: VaultLocation(directory: dir.path + "/none")) }
        #expect(missing?.exitStatus == .noInput)
    }

    @Test("the chair's record verifies; its identity opens only through the wrapped identity key")
    func chairRecord() throws {
        let dir = TemporaryFolder()
        let (location, created) = try makeVault(dir)
        let vault = try Vault.open(at: location)
        let keys = try KeyFile.load(path: created.keyPath, passphrase: SecureBytes(Array(Self.passphraseText.utf8)))
        let chair = try vault.principal(PrincipalID("chair"), verifiedWith: keys.signing.publicKey)
        #expect(chair.role == .chair && chair.enabled && chair.publicKeys == keys.publicKeys)
        let identityKey = try vault.unwrapIdentityKey(as: chair.id, keys: keys)
        #expect(try vault.decryptIdentity(of: chair, key: identityKey)?.unsafeArray() == Array(Self.identityText.utf8))
        // Another key cannot unwrap it.
        #expect(throws: VaultError.self) { try vault.unwrapIdentityKey(as: chair.id, keys: PrivateKeys.generate()) }
        // A forged chair key does not verify the record.
        #expect(throws: VaultError.self) { try vault.principal(PrincipalID("chair"), verifiedWith: PrivateKeys.generate().signing.publicKey) }
    }

    @Test("any change to a signed principal column is an integrity failure", arguments: [
        "UPDATE principals SET role = 'auditor'",
        "UPDATE principals SET enabled = 0",
        "UPDATE principals SET conflicts = '[\"upstage\"]'",
        "UPDATE principals SET version = 2",
        "UPDATE principals SET identity_ct = NULL",
        "UPDATE principals SET identity_ct = randomblob(length(identity_ct))",
        "UPDATE principals SET x25519_pub = zeroblob(32)",
        "UPDATE principals SET chair_sig = zeroblob(64)",
    ])
    func tamperedPrincipal(sql: String) throws {
        let dir = TemporaryFolder()
        let (location, created) = try makeVault(dir)
        let keys = try KeyFile.load(path: created.keyPath, passphrase: SecureBytes(Array(Self.passphraseText.utf8)))
        let vault = try Vault.open(at: location)
        try vault.database.execute(sql)
        let e = #expect(throws: VaultError.self) { try vault.principal(PrincipalID("chair"), verifiedWith: keys.signing.publicKey) }
        #expect(e?.exitStatus == .dataError)
        #expect(e?.message.contains("integrity") == true)
    }

    @Test("a chair signature remembered as verified does not cover a changed signature or row (the check is redone)", arguments: [
        "UPDATE principals SET chair_sig = zeroblob(64) WHERE id = 'chair'",
        "UPDATE principals SET conflicts = '[\"upstage\"]' WHERE id = 'chair'",
    ])
    func rememberedSignature(sql: String) throws {
        let dir = TemporaryFolder()
        let (location, created) = try makeVault(dir)
        let keys = try KeyFile.load(path: created.keyPath, passphrase: SecureBytes(Array(Self.passphraseText.utf8)))
        let state = ClientState(directory: dir.path + "/state")
        let vault = try Vault.open(at: location, state: state)
        _ = try vault.principal(PrincipalID("chair"), verifiedWith: keys.signing.publicKey)
        #expect(vault.log.checkedSignatures["chair"] != nil, "the verified signature is remembered")
        try state.save(vault.log)
        let again = try Vault.open(at: location, state: state)
        #expect(again.log.checkedSignatures["chair"] == vault.log.checkedSignatures["chair"], "and kept in the client's state")
        _ = try again.principal(PrincipalID("chair"), verifiedWith: keys.signing.publicKey)
        try again.database.execute(sql)
        let e = #expect(throws: VaultError.self) { try again.principal(PrincipalID("chair"), verifiedWith: keys.signing.publicKey) }
        #expect(e?.exitStatus == .dataError && e?.message.contains("integrity") == true, "\(e?.message ?? "")")
    }

    @Test("principal ids: safe alphabet only", arguments: ["chair", "cm-1", "ev-7f3a9c", "a", "x.y_z"])
    func validIDs(id: String) throws { #expect(try PrincipalID(id).rawValue == id) }

    @Test("principal ids: path tricks and real-name-like strings are refused",
          arguments: ["", "../x", "a/b", "Chair", "-x", ".hidden", "ev 1", String(repeating: "a", count: 65), "é"])
    func invalidIDs(id: String) {
        #expect(throws: VaultError.self) { try PrincipalID(id) }
    }

    @Test("Policies/default.policy in the repository is the compiled-in default policy")
    func defaultPolicyInSync() throws {
        let repoFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Policies/default.policy")
        #expect(try String(contentsOf: repoFile, encoding: .utf8) == DefaultPolicy.source)
    }
}
