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
    /// The option that gives this passphrase as a file, as an error names it: `--passphrase-file
    /// FILE`, or `--with-passphrase-file cm-1=FILE` for a co-holder.
    public var fileOption: String

    public init(file: String?, environmentVariable: String, subject: String, fileOption: String = "--passphrase-file FILE") {
        self.file = file
        self.environmentVariable = environmentVariable
        self.subject = subject
        self.fileOption = fileOption
    }

    /// The source of a co-holder's passphrase (`--with ID`): `--with-passphrase-file ID=FILE`,
    /// else `$EVALVAULT_PASSPHRASE_<ID>`, else a prompt.
    public static func coHolder(_ id: String, file: String?) -> PassphraseSource {
        PassphraseSource(file: file, environmentVariable: variable(forCoHolder: id), subject: id, fileOption: "--with-passphrase-file \(id)=FILE")
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
            value = try Self.prompt("Passphrase for \(subject): ", noTerminal: noTerminalMessage)
            if confirm {
                let again = try Self.prompt("Repeat the passphrase for \(subject): ", noTerminal: noTerminalMessage)
                guard again.constantTimeEquals(value) else { throw VaultError.usage("the two passphrases did not match") }
            }
        }
        if confirm && value.isEmpty { throw VaultError.usage("the passphrase for \(subject) must not be empty") }
        return value
    }

    /// The whole file, less one trailing newline (`\n` or `\r\n`).
    static func readFile(_ path: String) throws -> SecureBytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw VaultError.notFound("passphrase file \(path) does not exist") }
            throw VaultError.permission("cannot read passphrase file \(path)")
        }
        defer { close(fd) }
        let buffer = SecureBytes(count: maxLength + 2) { _ in }
        var total = 0
        try buffer.withUnsafeBytes { raw in
            let base = UnsafeMutableRawPointer(mutating: raw.baseAddress!)
            while total < raw.count {
                let n = Glibc.read(fd, base + total, raw.count - total)
                if n < 0 { throw VaultError.permission("cannot read passphrase file \(path)") }
                if n == 0 { break }
                total += n
            }
        }
        guard total <= maxLength else { throw VaultError.invalidData("passphrase file \(path) is longer than \(maxLength) bytes") }
        var end = total
        buffer.withUnsafeBytes { b in
            if end > 0 && b[end - 1] == 0x0A { end -= 1; if end > 0 && b[end - 1] == 0x0D { end -= 1 } }
        }
        return buffer.slice(0..<end)
    }

    /// What to do when there is no terminal to ask on: this source's own option and variable.
    /// Why named exactly: with `EVALVAULT_PASSPHRASE` set for the acting principal, "set
    /// EVALVAULT_PASSPHRASE" would send a co-holder's owner to the one variable it does not read.
    var noTerminalMessage: String {
        var m = "no passphrase given and no terminal to ask on for \(subject): use \(fileOption) or set \(environmentVariable)"
        if environmentVariable.hasPrefix(Self.primaryVariable + "_") && getenv(Self.primaryVariable) != nil {
            m += " (\(Self.primaryVariable) is the --as principal's only)"
        }
        return m
    }

    /// Prompts on /dev/tty with echo off. Without a controlling terminal this fails at once with
    /// `noTerminal`.
    static func prompt(_ text: String, noTerminal: String) throws -> SecureBytes {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw VaultError.usage(noTerminal) }
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
