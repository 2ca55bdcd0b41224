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

    /// How many times a passphrase typed at the terminal may be wrong before the command fails.
    public static let tries = 3

    /// True when the passphrase will be asked on the terminal (no file, no environment variable).
    public var isPrompted: Bool { file == nil && getenv(environmentVariable) == nil }

    /// Opens something with the passphrase (a key file), asking again when it is wrong — three
    /// tries in all, as sudo and gpg allow — but only when it is typed at the terminal: a
    /// passphrase from a file or the environment would be wrong again, so it fails at once (77).
    /// `failedTry` runs for each wrong try that is asked again (the caller audits it); the last
    /// one is thrown to the caller.
    public func unlock<T>(_ open: (SecureBytes) throws -> T, failedTry: (VaultError) throws -> Void = { _ in }) throws -> T {
        let prompted = isPrompted
        var attempt = 1
        while true {
            let passphrase = try read(attempt: attempt)
            do {
                return try open(passphrase)
            } catch let error as VaultError {
                guard case .authenticationFailed = error, prompted, attempt < Self.tries else { throw error }
                try failedTry(error)
                attempt += 1
            }
        }
    }

    /// Reads the passphrase. With `confirm`, a terminal prompt asks twice (for a new key).
    public func read(confirm: Bool = false) throws -> SecureBytes { try read(confirm: confirm, attempt: 1) }

    func read(confirm: Bool = false, attempt: Int) throws -> SecureBytes {
        let value: SecureBytes
        if let file {
            value = try Self.readFile(file)
        } else if let env = getenv(environmentVariable) {
            let n = strlen(env)
            value = SecureBytes(count: n) { $0.copyMemory(from: UnsafeRawBufferPointer(start: env, count: n)) }
        } else {
            let again = attempt > 1 ? "Wrong passphrase; try \(attempt) of \(Self.tries). " : ""
            value = try Self.prompt(again + "Passphrase for \(subject): ", noTerminal: noTerminalMessage)
            if confirm {
                let again = try Self.prompt("Repeat the passphrase for \(subject): ", noTerminal: noTerminalMessage)
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
    /// `noTerminal`. The terminal's settings are put back on every way out: on return and on a
    /// thrown error (`defer`), and on ^C, ^\, a hangup or a kill while it waits (`TerminalGuard`),
    /// so echo is never left off in the person's shell.
    static func prompt(_ text: String, noTerminal: String) throws -> SecureBytes {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw VaultError.usage(noTerminal) }
        defer { close(fd) }
        var saved = termios()
        let hasTermios = tcgetattr(fd, &saved) == 0
        var guarded: TerminalGuard?
        if hasTermios {
            guarded = TerminalGuard(fd: fd, saved: saved)
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            quiet.c_lflag |= tcflag_t(ECHONL)
            _ = tcsetattr(fd, TCSAFLUSH, &quiet)
        }
        defer {
            if hasTermios { _ = tcsetattr(fd, TCSAFLUSH, &saved) }
            guarded?.release()
        }
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

/// Puts a terminal's saved settings back if the process is killed by a signal while a no-echo
/// prompt waits (^C, ^\, a hangup, a kill): the handler restores them, then lets the signal do
/// what it would have done (the shell sees the usual status, 130 for ^C). As readpassphrase(3)
/// does. A signal the process was started ignoring stays ignored (it cannot end the prompt).
/// Only one prompt reads at a time (commands are single-threaded), so one slot suffices.
struct TerminalGuard {
    static let signals = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
    var previous: [(signal: Int32, action: sigaction)] = []

    init(fd: Int32, saved: termios) {
        guardedTerminal = fd
        guardedSettings = saved
        var action = sigaction()
        action.__sigaction_handler.sa_handler = restoreTerminalAndReraise
        sigemptyset(&action.sa_mask)
        for signal in Self.signals {
            var old = sigaction()
            guard sigaction(signal, nil, &old) == 0, !Self.isIgnored(old) else { continue }
            sigaction(signal, &action, nil)
            previous.append((signal, old))
        }
    }

    /// SIG_IGN is a sentinel address, not a function: compared as a word.
    static func isIgnored(_ action: sigaction) -> Bool {
        var handler = action.__sigaction_handler
        return withUnsafeBytes(of: &handler) { $0.load(as: UInt.self) } == UInt(bitPattern: unsafeBitCast(SIG_IGN, to: Int.self))
    }

    /// Puts the earlier handlers back, once the terminal is restored.
    func release() {
        for (signal, old) in previous {
            var old = old
            sigaction(signal, &old, nil)
        }
        guardedTerminal = -1
    }
}

// Read by the signal handler, which can capture nothing: set before the handler is installed and
// cleared after it is removed, on the one thread that prompts.
nonisolated(unsafe) private var guardedTerminal: Int32 = -1
nonisolated(unsafe) private var guardedSettings = termios()

/// Async-signal-safe: tcsetattr, write, sigaction and raise only.
private func restoreTerminalAndReraise(_ signal: Int32) {
    if guardedTerminal >= 0 {
        _ = tcsetattr(guardedTerminal, TCSAFLUSH, &guardedSettings)
        var newline: UInt8 = 0x0A  // the prompt's line was never ended
        _ = write(guardedTerminal, &newline, 1)
    }
    var fallback = sigaction()
    fallback.__sigaction_handler.sa_handler = SIG_DFL
    sigemptyset(&fallback.sa_mask)
    sigaction(signal, &fallback, nil)
    raise(signal)
}
