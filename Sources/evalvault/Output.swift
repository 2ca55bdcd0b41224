import ArgumentParser
import Foundation
import VaultCore

/// stdout/stderr writing for the commands: results and success notices on stdout, warnings and
/// errors on stderr (design: Command line).
enum Output {
    /// How this run prints, from `--json` and `--quiet`. Set once by `EvalVault.main()` after
    /// parsing and before the command runs (the CLI is single-threaded), so every command —
    /// including ones added later — follows it without passing it around.
    struct Mode: Sendable {
        var json = false
        var quiet = false
    }

    nonisolated(unsafe) static var mode = Mode()

    /// A line of the command's result on stdout.
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// A success notice (what was written or changed) on stdout, as gh and git print theirs.
    /// Silent with `--quiet`, and with `--json`, whose object carries the same facts.
    static func notice(_ message: String) {
        guard !mode.quiet && !mode.json else { return }
        line(message)
    }

    /// Something the person must see whatever the output mode (a first pin of the chair's key, data
    /// left out): on stderr, so stdout stays the result, prefixed `evalvault: warning: `.
    static func warning(_ message: String) {
        FileHandle.standardError.write(Data("evalvault: warning: \(message)\n".utf8))
    }

    /// Context shown on stderr before a question on the terminal (`approve` shows the request).
    static func info(_ message: String) {
        FileHandle.standardError.write(Data("evalvault: \(message)\n".utf8))
    }

    /// An error: each line of the message on stderr, prefixed `evalvault: `.
    static func error(_ message: String) {
        let text = message.split(separator: "\n", omittingEmptySubsequences: false).map { "evalvault: \($0)\n" }.joined()
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// One JSON value and a newline on stdout, written the one way EvalVault writes JSON: RFC 8785
    /// (the form of audit entries and result statements) — members sorted, no whitespace. Counts,
    /// sizes, sequence numbers and versions are numbers; scores, weights and aggregate values are
    /// decimal strings, as in a reveal's JSON, so nothing passes through binary floating point.
    static func json(_ value: JSONValue) {
        FileHandle.standardOutput.write(Data(CanonicalJSON.encode(value) + [0x0A]))
    }

    /// Refuses, before any work is done, to replace an existing file unless `--force` was given
    /// (64). The write itself refuses again if the file appears meanwhile (`AtomicWriter.commit`).
    /// Why before: a reveal or a signed checkpoint is recorded in the audit log; refusing only at
    /// the end would record work whose output was then thrown away.
    static func checkWritable(_ path: String?, force: Bool, option: String = "--out") throws {
        guard let path, !force, Files.exists(path) else { return }
        throw refusal(path, option: option)
    }

    static func refusal(_ path: String, option: String) -> VaultError {
        .usage("\(path) already exists; refusing to overwrite it (give --force to replace it, or another \(option))")
    }

    /// Writes a whole file atomically, replacing an existing one only with `force`.
    static func writeFile(_ bytes: some ContiguousBytes, to path: String, mode: mode_t = 0o644, force: Bool, option: String = "--out") throws {
        try checkWritable(path, force: force, option: option)
        do {
            try Files.writeAtomically(bytes, to: path, mode: mode, overwrite: force)
        } catch VaultError.usage where !force && Files.exists(path) {
            throw refusal(path, option: option)  // it appeared while the command ran
        }
    }

    /// Writes to `path` atomically (or stdout when nil), through a buffered sink. An existing file
    /// is replaced only with `force`.
    static func write(to path: String?, mode: mode_t = 0o644, force: Bool = false, _ body: (([UInt8]) throws -> Void) throws -> Void) throws {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 16)
        if let path {
            try checkWritable(path, force: force)
            let writer = try Files.AtomicWriter(path: path, mode: mode)
            try body { bytes in
                buffer += bytes
                if buffer.count >= 1 << 16 { try writer.write(buffer); buffer.removeAll(keepingCapacity: true) }
            }
            try writer.write(buffer)
            do {
                try writer.commit(overwrite: force)
            } catch VaultError.usage where !force && Files.exists(path) {
                throw refusal(path, option: "--out")  // it appeared while the command ran
            }
        } else {
            try body { bytes in
                buffer += bytes
                if buffer.count >= 1 << 16 { FileHandle.standardOutput.write(Data(buffer)); buffer.removeAll(keepingCapacity: true) }
            }
            FileHandle.standardOutput.write(Data(buffer))
        }
    }

    /// A plain text table with a header row, columns padded to their widest cell. Its headings
    /// are the member names of the same command's JSON.
    static func table(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
        func render(_ r: [String]) -> String {
            r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        line(render(header))
        for r in rows { line(render(r)) }
    }

    /// A progress bar on stderr, drawn only when stderr is a terminal (never in logs or pipes).
    final class ProgressBar {
        let label: String
        let enabled = isatty(2) == 1
        var drawn = false

        init(label: String) { self.label = label }

        func update(_ done: Int, _ total: Int) {
            guard enabled, total > 0 else { return }
            let width = 30
            let filled = done * width / total
            let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
            FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
            drawn = true
        }

        func finish() {
            if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }
}

/// Short spellings for building a command's JSON result.
extension JSONValue {
    static func int(_ n: Int) -> JSONValue { .integer(Int64(n)) }
    static func strings(_ list: [String]) -> JSONValue { .array(list.map { .string($0) }) }
    static func ids(_ list: [PrincipalID]) -> JSONValue { .array(list.map { .string($0.rawValue) }) }
    static func optional(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    static func optional(_ n: Int?) -> JSONValue { n.map { .int($0) } ?? .null }
}

extension JSONValue {
    /// How a JSON result value shows in a table cell.
    var cell: String {
        switch self {
        case .null: "-"
        case .bool(let b): b ? "yes" : "no"
        case .integer(let i): String(i)
        case .decimal(let s), .string(let s): s
        case .array(let a): a.map(\.cell).joined(separator: ",")
        case .object: CanonicalJSON.string(self)
        }
    }
}
