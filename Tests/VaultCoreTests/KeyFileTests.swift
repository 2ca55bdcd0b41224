import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

@Suite("Key files (design: Cryptography)")
struct KeyFileTests {
    static let kdf = try! Scrypt.Parameters(log2N: 10)
    static let passphrase = SecureBytes(Array("right passphrase".utf8))

    @Test("seal and open round trip; public keys readable without the passphrase")
    func roundTrip() throws {
        let keys = PrivateKeys.generate()
        let file = try KeyFile.seal(keys, passphrase: Self.passphrase, kdf: Self.kdf)
        let opened = try KeyFile.open(file, passphrase: Self.passphrase, path: "k.key")
        #expect(opened.publicKeys == keys.publicKeys)
        #expect(opened.agreement.rawRepresentation.constantTimeEquals(keys.agreement.rawRepresentation))
        #expect(opened.signing.rawRepresentation.constantTimeEquals(keys.signing.rawRepresentation))
        #expect(try KeyFile.publicKeys(of: file, path: "k.key") == keys.publicKeys)
        #expect(!file.contains(bytes: Array("right passphrase".utf8)))
        #expect(!file.contains(bytes: keys.signing.rawRepresentation.unsafeArray()))
        #expect(!file.contains(bytes: keys.agreement.rawRepresentation.unsafeArray()))
    }

    @Test("a wrong passphrase is 'authentication failed' (77)")
    func wrongPassphrase() throws {
        let file = try KeyFile.seal(.generate(), passphrase: Self.passphrase, kdf: Self.kdf)
        let error = #expect(throws: VaultError.self) { try KeyFile.open(file, passphrase: SecureBytes(Array("wrong".utf8)), path: "k.key") }
        #expect(error?.exitStatus == .noPermission)
        #expect(error?.message.contains("authentication failed") == true)
        #expect(error?.message.contains("wrong") == true && error?.message.contains("right passphrase") == false)
    }

    @Test("every truncation and every single-byte flip is refused as damaged (65), never opened")
    func damage() throws {
        let file = try KeyFile.seal(.generate(), passphrase: Self.passphrase, kdf: Self.kdf)
        var checked = 0
        for length in 0..<file.count {
            let e = #expect(throws: VaultError.self) { try KeyFile.open(Array(file.prefix(length)), passphrase: Self.passphrase, path: "k") }
            #expect(e?.exitStatus == .dataError, "truncated to \(length)")
            checked += 1
        }
        for i in file.indices {
            var edited = file
            edited[i] ^= 0x04
            let e = #expect(throws: VaultError.self) { try KeyFile.open(edited, passphrase: Self.passphrase, path: "k") }
            #expect(e?.exitStatus == .dataError, "byte \(i) flipped")
            checked += 1
        }
        #expect(checked == 2 * file.count)
    }

    @Test("a foreign file is refused (65)")
    func foreign() throws {
        for bytes in [Array("-----BEGIN OPENSSH PRIVATE KEY-----\n".utf8), [], Array("evalvault-pub/1\n".utf8), [0xff, 0xfe]] {
            let e = #expect(throws: VaultError.self) { try KeyFile.open(bytes, passphrase: Self.passphrase, path: "k") }
            #expect(e?.exitStatus == .dataError)
            #expect(e?.message.contains("not an evalvault key file") == true)
        }
    }

    /// Someone who edits the header *and* recomputes the checksum only makes the AEAD fail:
    /// the checksum is not authentication, the GCM tag over the header is.
    @Test("an edited header with a recomputed checksum fails authentication; absurd KDF costs are refused")
    func forgedHeader() throws {
        let file = String(decoding: try KeyFile.seal(.generate(), passphrase: Self.passphrase, kdf: Self.kdf), as: UTF8.self)
        func reforge(_ transform: (String) -> String) -> [UInt8] {
            var lines = file.split(separator: "\n").map(String.init)
            lines.removeLast()
            let body = transform(lines.joined(separator: "\n") + "\n")
            return Array((body + "checksum: \(Hex.encode(SHA256.hash(data: Array(body.utf8))))\n").utf8)
        }
        let cheaper = reforge { $0.replacingOccurrences(of: "scrypt 10 8 1", with: "scrypt 11 8 1") }
        let e1 = #expect(throws: VaultError.self) { try KeyFile.open(cheaper, passphrase: Self.passphrase, path: "k") }
        #expect(e1?.exitStatus == .noPermission)
        let huge = reforge { $0.replacingOccurrences(of: "scrypt 10 8 1", with: "scrypt 40 8 1") }
        let e2 = #expect(throws: VaultError.self) { try KeyFile.open(huge, passphrase: Self.passphrase, path: "k") }
        #expect(e2?.exitStatus == .dataError)
        #expect(e2?.message.contains("scrypt parameters outside") == true)
        let otherPub = PrivateKeys.generate().publicKeys
        let swapped = reforge { text in
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            lines[1] = "pub: \(Base64.encode(otherPub.agreement.rawRepresentation)) \(Base64.encode(otherPub.signing.rawRepresentation))"
            return lines.joined(separator: "\n")
        }
        let e3 = #expect(throws: VaultError.self) { try KeyFile.open(swapped, passphrase: Self.passphrase, path: "k") }
        #expect(e3?.exitStatus == .noPermission)
    }

    @Test("files: written 0600/0644, never overwritten; group- or world-readable keys refused with the fix")
    func permissions() throws {
        let dir = TemporaryFolder()
        let base = dir.path + "/ev-1"
        try KeyFile.write(.generate(), to: base, passphrase: Self.passphrase, kdf: Self.kdf)
        #expect(Files.mode(base + ".key") == 0o600)
        #expect(Files.mode(base + ".pub") == 0o644)
        _ = try KeyFile.load(path: base + ".key", passphrase: Self.passphrase)
        #expect(throws: VaultError.self) { try KeyFile.write(.generate(), to: base, passphrase: Self.passphrase, kdf: Self.kdf) }
        for mode in [0o640, 0o604, 0o644, 0o660, 0o602] {
            chmod(base + ".key", mode_t(mode))
            let e = #expect(throws: VaultError.self) { try KeyFile.load(path: base + ".key", passphrase: Self.passphrase) }
            #expect(e?.exitStatus == .noPermission)
            #expect(e?.message.contains("chmod 600 \(base).key") == true)
        }
        let missing = #expect(throws: VaultError.self) { try KeyFile.load(path: dir.path + "/nope.key", passphrase: Self.passphrase) }
        #expect(missing?.exitStatus == .noInput)
        #expect(throws: VaultError.usage("the passphrase must not be empty")) {
            try KeyFile.seal(.generate(), passphrase: SecureBytes([UInt8]()), kdf: Self.kdf)
        }
    }

    @Test("a .pub file round trips; an edited fingerprint or key is refused")
    func publicKeyFile() throws {
        let pub = PrivateKeys.generate().publicKeys
        #expect(try PublicKeys(fileContents: pub.fileContents, path: "p") == pub)
        var text = pub.fileContents
        text = text.replacingOccurrences(of: "fingerprint: " + pub.fingerprint.description.prefix(4), with: "fingerprint: 0000")
        if text != pub.fileContents {
            #expect(throws: VaultError.self) { try PublicKeys(fileContents: text, path: "p") }
        }
        let other = PrivateKeys.generate().publicKeys
        let mixed = pub.fileContents.replacingOccurrences(of: Base64.encode(pub.signing.rawRepresentation),
                                                          with: Base64.encode(other.signing.rawRepresentation))
        let e = #expect(throws: VaultError.self) { try PublicKeys(fileContents: mixed, path: "p") }
        #expect(e?.message.contains("integrity") == true)
        #expect(throws: VaultError.self) { try PublicKeys(fileContents: "hello\n", path: "p") }
        #expect(pub.fingerprint.description.count == 39)
    }
}

@Suite("Passphrase sources (design: Command line)")
struct PassphraseTests {
    @Test("a passphrase file loses one trailing newline (LF or CRLF) and nothing else")
    func file() throws {
        let dir = TemporaryFolder()
        for (content, expected) in [("abc\n", "abc"), ("abc\r\n", "abc"), ("abc", "abc"), (" a b \n\n", " a b \n"), ("\n", "")] {
            let p = dir.path + "/p"
            try Data(content.utf8).write(to: URL(fileURLWithPath: p))
            let got = try PassphraseSource(file: p, environmentVariable: "UNUSED_VAR_FOR_TEST", subject: "t").read()
            #expect(got.unsafeArray() == Array(expected.utf8), "content \(content.debugDescription)")
        }
        let missing = #expect(throws: VaultError.self) {
            try PassphraseSource(file: dir.path + "/none", environmentVariable: "X", subject: "t").read()
        }
        #expect(missing?.exitStatus == .noInput)
        try Data(repeating: 0x61, count: 2000).write(to: URL(fileURLWithPath: dir.path + "/long"))
        #expect(throws: VaultError.self) { try PassphraseSource(file: dir.path + "/long", environmentVariable: "X", subject: "t").read() }
    }

    @Test("the environment is read when no file is given; a new key refuses an empty passphrase")
    func environment() throws {
        setenv("EVALVAULT_TEST_PASSPHRASE_ENV", "from env", 1)
        defer { unsetenv("EVALVAULT_TEST_PASSPHRASE_ENV") }
        let got = try PassphraseSource(file: nil, environmentVariable: "EVALVAULT_TEST_PASSPHRASE_ENV", subject: "t").read()
        #expect(got.unsafeArray() == Array("from env".utf8))
        setenv("EVALVAULT_TEST_PASSPHRASE_EMPTY", "", 1)
        defer { unsetenv("EVALVAULT_TEST_PASSPHRASE_EMPTY") }
        #expect(throws: VaultError.self) {
            try PassphraseSource(file: nil, environmentVariable: "EVALVAULT_TEST_PASSPHRASE_EMPTY", subject: "t").read(confirm: true)
        }
    }

    @Test("co-holder variable names: upper-cased, non-alphanumerics as _")
    func coHolderVariable() {
        #expect(PassphraseSource.variable(forCoHolder: "cm-1") == "EVALVAULT_PASSPHRASE_CM_1")
        #expect(PassphraseSource.variable(forCoHolder: "ev.7f3a") == "EVALVAULT_PASSPHRASE_EV_7F3A")
    }
}
