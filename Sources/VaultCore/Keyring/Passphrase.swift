import Foundation
import VaultCrypto
#if canImport(Glibc)
import Glibc
#endif

/// Where a passphrase comes from, in the order of design: Command line: a file, an environment variable, a
/// no-echo prompt on the controlling terminal. Passphrases are read straight into `SecureBytes`
/// (never a Swift `String`), and a missing terminal is an error — never a hang on stdin.
public struct PassphraseSource: Sendable {
    public var file: String?
    public var environmentVariable: String
    /// What the prompt names, e.g. "chair" or "the new key".
    public var subject: String

    public init(file: String?, environmentVariable: String, subject: String) {
        self.file = file
        self.environmentVariable = environmentVariable
        self.subject = subject
    }

    /// `EVALVAULT_PASSPHRASE` for the acting principal.
    public static let primaryVariable = "EVALVAULT_PASSPHRASE"

    /// `EVALVAULT_PASSPHRASE_<ID upper-cased, non-alphanumerics as _>` for a co-holder.
    public static func variable(forCoHolder id: String) -> String {
        primaryVariable + "_" + String(id.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    static let maxLength = 1024

    /// Reads the passphrase. With `confirm`, a terminal prompt asks twice (for a new key).
    public func read(confirm: Bool = false) throws -> SecureBytes {
        let value: SecureBytes
        if let file {
            value = try Self.readFile(file)
        } else if let env = getenv(environmentVariable) {
            let n = strlen(env)
            value = SecureBytes(count: n) { $0.copyMemory(from: UnsafeRawBufferPointer(start: env, count: n)) }
        } else {
            value = try Self.prompt("Passphrase for \(subject): ")
            if confirm {
                let again = try Self.prompt("Repeat the passphrase for \(subject): ")
                guard again.constantTimeEquals(value) else { throw VaultError.usage("the two passphrases did not match") }
            }
        }
        if confirm && value.isEmpty { throw VaultError.usage("the passphrase for \(subject) must not be empty") }
        return value
    }

    /// The whole file, less one trailing newline (`\n` or `\r\n`). `-` is standard input
    /// (`printf %s "$PW" | evalvault … --passphrase-file -`), and a pipe or `/dev/fd/N` path
    /// reads like a file: either way no more than `maxLength` + 2 bytes are read.
    static func readFile(_ path: String) throws -> SecureBytes {
        let fd = try Files.openForReading(path, what: "passphrase file")
        defer { close(fd) }
        let name = Files.displayName(path)
        let buffer = SecureBytes(count: maxLength + 2) { _ in }
        var total = 0
        try buffer.withUnsafeBytes { raw in
            let base = UnsafeMutableRawPointer(mutating: raw.baseAddress!)
            while total < raw.count {
                let n = Glibc.read(fd, base + total, raw.count - total)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw VaultError.permission("cannot read passphrase file \(name)")
                }
                if n == 0 { break }
                total += n
            }
        }
        guard total <= maxLength else { throw VaultError.invalidData("passphrase file \(name) is longer than \(maxLength) bytes") }
        var end = total
        buffer.withUnsafeBytes { b in
            if end > 0 && b[end - 1] == 0x0A { end -= 1; if end > 0 && b[end - 1] == 0x0D { end -= 1 } }
        }
        return buffer.slice(0..<end)
    }

    /// Prompts on /dev/tty with echo off. Without a controlling terminal this fails at once.
    static func prompt(_ text: String) throws -> SecureBytes {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            throw VaultError.usage("no passphrase given and no terminal to ask on: use --passphrase-file FILE or set \(primaryVariable)")
        }
        defer { close(fd) }
        var saved = termios()
        let hasTermios = tcgetattr(fd, &saved) == 0
        if hasTermios {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            _ = tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer { if hasTermios { _ = tcsetattr(fd, TCSAFLUSH, &saved) } }
        // The prompt comes only after echo is off and earlier type-ahead is flushed (as
        // readpassphrase does): a reply typed as soon as the prompt shows is never discarded.
        _ = text.withCString { write(fd, $0, strlen($0)) }
        let buffer = SecureBytes(count: maxLength) { _ in }
        var length = 0
        var sawNewline = false
        buffer.withUnsafeBytes { raw in
            let base = UnsafeMutableRawPointer(mutating: raw.baseAddress!).assumingMemoryBound(to: UInt8.self)
            var byte: UInt8 = 0
            while Glibc.read(fd, &byte, 1) == 1 {
                if byte == 0x0A { sawNewline = true; break }
                if byte != 0x0D && length < raw.count { base[length] = byte; length += 1 }
            }
            byte = 0
        }
        guard sawNewline || length > 0 else { throw VaultError.usage("no passphrase was entered") }
        return buffer.slice(0..<length)
    }
}
