import Foundation
import VaultCrypto

/// The passphrase-protected private key file of design: Cryptography (`<name>.key`, mode 0600).
///
/// ```
/// evalvault-key/1
/// pub: <base64 X25519 public> <base64 Ed25519 public>
/// kdf: scrypt <log2 N> <r> <p> <base64 16-byte salt>
/// aead: aes-256-gcm <base64 12-byte nonce>
/// <base64 of AES-256-GCM(X25519 private ‖ Ed25519 seed) ‖ tag>
/// checksum: <hex SHA-256 of all the lines above, newlines included>
/// ```
///
/// The first four lines (with their newlines) are the header and the AEAD's AAD, so the KDF
/// parameters and public keys cannot be changed without the tag failing. The key is
/// scrypt(passphrase, salt). The checksum authenticates nothing (anyone can recompute it); it
/// exists so that a damaged or truncated file is reported as damaged (exit 65) instead of
/// looking like a wrong passphrase (exit 77).
public enum KeyFile {
    static let magic = "evalvault-key/1"
    static let plaintextByteCount = 64

    /// Encrypts `keys` under `passphrase`; returns the file's bytes.
    public static func seal(_ keys: PrivateKeys, passphrase: SecureBytes, kdf: Scrypt.Parameters) throws -> [UInt8] {
        guard !passphrase.isEmpty else { throw VaultError.usage("the passphrase must not be empty") }
        let salt = SecureRandom.bytes(count: 16)
        let nonce = AES.GCM.Nonce()
        let pub = keys.publicKeys
        let header = """
            \(magic)
            pub: \(Base64.encode(pub.agreement.rawRepresentation)) \(Base64.encode(pub.signing.rawRepresentation))
            kdf: scrypt \(kdf.log2N) \(kdf.r) \(kdf.p) \(Base64.encode(salt))
            aead: aes-256-gcm \(Base64.encode(nonce.bytes))

            """
        let key = try deriveKey(passphrase: passphrase, salt: salt, kdf: kdf)
        let plaintext = SecureBytes(count: plaintextByteCount) { out in
            keys.agreement.rawRepresentation.withUnsafeBytes { out.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 32) }
            keys.signing.rawRepresentation.withUnsafeBytes { (out.baseAddress! + 32).copyMemory(from: $0.baseAddress!, byteCount: 32) }
        }
        let box = try AES.GCM.seal(plaintext, using: key, nonce: nonce, authenticating: Array(header.utf8))
        let body = header + Base64.encode(box.ciphertext + box.tag) + "\n"
        return Array((body + "checksum: \(Hex.encode(SHA256.hash(data: Array(body.utf8))))\n").utf8)
    }

    /// Decrypts a key file. Damage → `.integrity`/`.invalidData` (65); wrong passphrase →
    /// `.authenticationFailed` (77). Messages name the file, never the passphrase.
    public static func open(_ fileBytes: [UInt8], passphrase: SecureBytes, path: String) throws -> PrivateKeys {
        let parsed = try parse(fileBytes, path: path)
        let key = try deriveKey(passphrase: passphrase, salt: parsed.salt, kdf: parsed.kdf)
        let plaintext: SecureBytes
        do {
            plaintext = try AES.GCM.open(parsed.box, using: key, authenticating: parsed.header)
        } catch {
            throw VaultError.authenticationFailed("wrong passphrase for \(path)")
        }
        guard plaintext.count == plaintextByteCount else { throw VaultError.integrity("\(path) holds a key of the wrong size") }
        let keys: PrivateKeys
        do {
            keys = PrivateKeys(agreement: try .init(rawRepresentation: plaintext.slice(0..<32)),
                               signing: try .init(rawRepresentation: plaintext.slice(32..<64)))
        } catch {
            throw VaultError.integrity("\(path) holds an unusable key")
        }
        // The public keys in the header are under the AAD, but check they match the private keys anyway.
        guard keys.publicKeys == parsed.publicKeys else { throw VaultError.integrity("\(path): the public keys do not match the private keys") }
        return keys
    }

    /// The public keys in a key file's header, readable without the passphrase.
    public static func publicKeys(of fileBytes: [UInt8], path: String) throws -> PublicKeys {
        try parse(fileBytes, path: path).publicKeys
    }

    /// Loads and opens a key file after checking its permissions (design: invariant 9, as ssh does).
    public static func load(path: String, passphrase: SecureBytes) throws -> PrivateKeys {
        try checkPermissions(path: path)
        return try open(try Files.read(path, what: "key file"), passphrase: passphrase, path: path)
    }

    /// Refuses a private key file that group or others can read or write. Why: on a shared
    /// machine such a file invites offline passphrase guessing, and ssh's users expect this.
    public static func checkPermissions(path: String) throws {
        guard let mode = Files.mode(path) else { throw VaultError.notFound("key file \(path) does not exist") }
        if mode & 0o077 != 0 {
            throw VaultError.permission("key file \(path) is accessible by group or others (mode \(String(mode, radix: 8))); fix it with: chmod 600 \(path)")
        }
    }

    /// Writes `PATH.key` (0600) and `PATH.pub` (0644); refuses to replace existing files. A
    /// missing parent folder is created, readable by its owner only.
    public static func write(_ keys: PrivateKeys, to basePath: String, passphrase: SecureBytes, kdf: Scrypt.Parameters) throws {
        let keyPath = basePath + ".key", pubPath = basePath + ".pub"
        let parent = (basePath as NSString).deletingLastPathComponent
        if !parent.isEmpty && !Files.exists(parent) { try Files.makeDirectory(parent, mode: 0o700) }
        for p in [keyPath, pubPath] where Files.exists(p) {
            throw VaultError.usage("\(p) already exists; refusing to overwrite a key")
        }
        try Files.writeAtomically(try seal(keys, passphrase: passphrase, kdf: kdf), to: keyPath, mode: 0o600, overwrite: false)
        try Files.writeAtomically(Array(keys.publicKeys.fileContents.utf8), to: pubPath, mode: 0o644, overwrite: false)
    }

    /// Re-encrypts a key file under a new passphrase (and optionally a new scrypt cost), with a
    /// fresh salt and nonce, replacing the file atomically: a crash leaves the old file or the
    /// new one, never neither. The keys themselves do not change.
    public static func changePassphrase(path: String, old: SecureBytes, new: SecureBytes, kdf: Scrypt.Parameters?) throws {
        let bytes = try Files.read(path, what: "key file")
        try checkPermissions(path: path)
        let keys = try open(bytes, passphrase: old, path: path)
        let cost = try kdf ?? parse(bytes, path: path).kdf
        try Files.writeAtomically(try seal(keys, passphrase: new, kdf: cost), to: path, mode: 0o600, overwrite: true)
    }

    // MARK: - Parsing

    struct Parsed {
        let header: [UInt8]
        let publicKeys: PublicKeys
        let kdf: Scrypt.Parameters
        let salt: [UInt8]
        let box: AES.GCM.SealedBox
    }

    static func parse(_ bytes: [UInt8], path: String) throws -> Parsed {
        let foreign = VaultError.invalidData("\(path) is not an evalvault key file")
        guard bytes.starts(with: Array((magic + "\n").utf8)) else { throw foreign }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw VaultError.integrity("\(path) is damaged (not text)") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count == 7, lines[6].isEmpty else {
            throw VaultError.integrity("\(path) is damaged or truncated (expected 6 lines, found \(max(lines.count - 1, 0)))")
        }
        lines.removeLast()
        let body = lines[0..<5].joined(separator: "\n") + "\n"
        guard lines[5] == "checksum: " + Hex.encode(SHA256.hash(data: Array(body.utf8))) else {
            throw VaultError.integrity("\(path) is damaged: its checksum does not match")
        }
        // The checksum matched, so anything malformed below was written that way on purpose.
        let pub = lines[1].split(separator: " ")
        let kdf = lines[2].split(separator: " ")
        let aead = lines[3].split(separator: " ")
        guard pub.count == 3, pub[0] == "pub:", let x = Base64.decode(pub[1]), let e = Base64.decode(pub[2]),
              kdf.count == 6, kdf[0] == "kdf:", kdf[1] == "scrypt",
              let log2N = Int(kdf[2]), let r = Int(kdf[3]), let p = Int(kdf[4]), let salt = Base64.decode(kdf[5]), salt.count == 16,
              aead.count == 3, aead[0] == "aead:", aead[1] == "aes-256-gcm", let nonce = Base64.decode(aead[2]),
              let sealed = Base64.decode(lines[4]), sealed.count == plaintextByteCount + AES.GCM.tagByteCount else {
            throw VaultError.invalidData("\(path) has a malformed header")
        }
        let params: Scrypt.Parameters
        do { params = try Scrypt.Parameters(log2N: log2N, r: r, p: p) } catch {
            throw VaultError.invalidData("\(path) asks for scrypt parameters outside the accepted range")
        }
        let box: AES.GCM.SealedBox
        do {
            box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: nonce), ciphertext: Array(sealed.prefix(plaintextByteCount)),
                                        tag: Array(sealed.suffix(AES.GCM.tagByteCount)))
        } catch { throw VaultError.invalidData("\(path) has a malformed nonce") }
        return Parsed(header: Array((lines[0..<4].joined(separator: "\n") + "\n").utf8),
                      publicKeys: try PublicKeys(agreementRaw: x, signingRaw: e), kdf: params, salt: salt, box: box)
    }

    static func deriveKey(passphrase: SecureBytes, salt: [UInt8], kdf: Scrypt.Parameters) throws -> SymmetricKey {
        do {
            return SymmetricKey(try Scrypt.deriveKey(passphrase: passphrase, salt: salt, parameters: kdf))
        } catch {
            throw VaultError.internalError("scrypt failed (not enough memory?)")
        }
    }
}
