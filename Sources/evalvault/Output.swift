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

    /// One JSON object on stdout, keys sorted so output is stable.
    static func json(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        line(String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self))
    }
}
