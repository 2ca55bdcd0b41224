import Foundation
import VaultCore

/// stdout/stderr writing for the commands.
enum Output {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// An error: each line of the message on stderr, prefixed `evalvault: `.
    static func error(_ message: String) {
        let text = message.split(separator: "\n", omittingEmptySubsequences: false).map { "evalvault: \($0)\n" }.joined()
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// A note for the person at the terminal, on stderr so stdout stays machine-readable.
    static func notice(_ message: String) {
        FileHandle.standardError.write(Data("evalvault: \(message)\n".utf8))
    }

    /// Writes to `path` atomically (or stdout when nil), through a buffered sink.
    static func write(to path: String?, mode: mode_t = 0o644, _ body: (([UInt8]) throws -> Void) throws -> Void) throws {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 16)
        if let path {
            let writer = try Files.AtomicWriter(path: path, mode: mode)
            try body { bytes in
                buffer += bytes
                if buffer.count >= 1 << 16 { try writer.write(buffer); buffer.removeAll(keepingCapacity: true) }
            }
            try writer.write(buffer)
            try writer.commit()
        } else {
            try body { bytes in
                buffer += bytes
                if buffer.count >= 1 << 16 { FileHandle.standardOutput.write(Data(buffer)); buffer.removeAll(keepingCapacity: true) }
            }
            FileHandle.standardOutput.write(Data(buffer))
        }
    }

    /// A plain text table with a header row, columns padded to their widest cell.
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

    /// One JSON object on stdout, keys sorted so output is stable.
    static func json(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        line(String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self))
    }
}
