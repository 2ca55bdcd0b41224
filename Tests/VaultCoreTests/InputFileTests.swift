import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// A pipe whose write end is fed `bytes` from another thread; `path` names its read end as
/// `<(…)` does (`/dev/fd/N`). The writer stops when the reader closes (EPIPE: SIGPIPE ignored).
final class FedPipe: @unchecked Sendable {
    let readEnd: Int32
    var path: String { "/dev/fd/\(readEnd)" }

    init(_ bytes: [UInt8]) {
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0)
        readEnd = ends[0]
        Subprocess.feed(bytes, into: ends[1])
    }

    deinit { close(readEnd) }
}

/// Inputs as users have them (design: Command line): spreadsheet CSV, pipes, bounded reads.
@Suite("Input files: spreadsheet CSV, pipes and bounds")
struct InputFileTests {
    /// Rows read from CSV bytes by the streaming reader (`CSVStream`), as `seal --csv` reads them.
    static func streamedRows(_ path: String) throws -> [(line: Int, team: String)] {
        var rows: [(Int, String)] = []
        try CSVStream.read(path) { block, firstLine, reader in
            try reader.scan(block, firstLine: firstLine, { r in rows.append((r.line, String(decoding: r.team, as: UTF8.self))) },
                            problem: { throw VaultError.invalidData($0) })
        } progress: { _, _ in }
        return rows
    }

    @Test("a UTF-8 byte order mark is skipped, in memory and in the 4 MiB streaming reader")
    func byteOrderMark() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        _ = try ScoreSheet.fromCSV(bom + Array("team,criterion,score\r\nupstage,performance,81.5\r\n".utf8), file: "s.csv")
        // Over two blocks, so the second block is not mistaken for a file start.
        var text = "team,criterion,score\n"
        for i in 0..<300_000 { text += "team-\(i),performance,50\n" }
        let dir = TemporaryFolder()
        let path = dir.path + "/bom.csv"
        try Data(bom + Array(text.utf8)).write(to: URL(fileURLWithPath: path))
        let rows = try Self.streamedRows(path)
        #expect(rows.count == 300_000 && rows.first?.line == 2 && rows.first?.team == "team-0" && rows.last?.line == 300_001)
        // A byte order mark anywhere but at the start is data, and fails as a header would.
        let e = #expect(throws: VaultError.self) { try ScoreSheet.fromCSV(Array("\n".utf8) + bom + Array("team,criterion,score\n".utf8), file: "s.csv") }
        #expect(e?.message.contains("s.csv:2: the header must be team,criterion,score") == true, "\(e?.message ?? "")")
    }

    @Test("a semicolon-, tab-separated or UTF-16 file is named as such", arguments: [
        ("team;criterion;score\na;p;7,5\n", "s.csv:1: this looks like a semicolon-separated file"),
        ("\n\n\"team\";\"criterion\";\"score\"\n", "s.csv:3: this looks like a semicolon-separated file"),
        ("\u{FEFF}team;criterion;score\n", "s.csv:1: this looks like a semicolon-separated file"),
        ("team\tcriterion\tscore\n", "s.csv:1: this looks like a tab-separated file"),
        ("team criterion score\n", "s.csv:1: the header must be team,criterion,score"),
    ])
    func delimiters(_ text: String, _ message: String) throws {
        let e = #expect(throws: VaultError.self) { try ScoreSheet.fromCSV(Array(text.utf8), file: "s.csv") }
        #expect(e?.exitStatus == .dataError && e?.message.hasPrefix(message) == true, "\(e?.message ?? "")")
        if message.contains("looks like") { #expect(e?.message.contains("save it as \"CSV UTF-8 (comma delimited)\"") == true) }
    }

    @Test("UTF-16 text (little or big endian) is named, not read as garbage")
    func utf16() throws {
        for bom: [UInt8] in [[0xFF, 0xFE], [0xFE, 0xFF]] {
            let e = #expect(throws: VaultError.self) { try ScoreSheet.fromCSV(bom + [0x74, 0x00], file: "s.csv") }
            #expect(e?.message.hasPrefix("s.csv is UTF-16 text; save it as \"CSV UTF-8 (comma delimited)\"") == true, "\(e?.message ?? "")")
        }
    }

    @Test("a CSV from a pipe (/dev/fd/N) streams like a file, across blocks")
    func csvFromPipe() throws {
        var text = "team,criterion,score\n"
        for i in 0..<300_000 { text += "team-\(i),performance,50\n" }  // over 4 MiB: more than one block
        let pipe = FedPipe(Array(text.utf8))
        let rows = try Self.streamedRows(pipe.path)
        #expect(rows.count == 300_000 && rows.last?.team == "team-299999" && rows.last?.line == 300_001)
    }

    @Test("a pipe is read with the same bound as a file: never more than the limit and one chunk")
    func boundedPipe() throws {
        let small = FedPipe(Array(repeating: 0x41, count: 1000))
        #expect(try Files.read(small.path, what: "note", limit: 64 << 10).count == 1000)
        let big = FedPipe(Array(repeating: 0x41, count: 8 << 20))
        let e = #expect(throws: VaultError.self) { try Files.read(big.path, what: "checkpoint file", limit: 64 << 10) }
        #expect(e == .invalidData("checkpoint file \(big.path) is larger than 64 KiB; refusing to read it"))
        // A passphrase file reads at most 1026 bytes, from a pipe as from a file.
        let long = FedPipe(Array(repeating: 0x41, count: 1 << 20))
        let p = #expect(throws: VaultError.self) { try PassphraseSource(file: long.path, environmentVariable: "UNUSED", subject: "x").read() }
        #expect(p == .invalidData("passphrase file \(long.path) is longer than 1024 bytes"))
        let ok = FedPipe(Array("secret words\n".utf8))
        let pass = try PassphraseSource(file: ok.path, environmentVariable: "UNUSED", subject: "x").read()
        #expect(pass.constantTimeEquals(SecureBytes(Array("secret words".utf8))))
    }

    @Test("a missing file is 66, naming what it was to be")
    func missing() throws {
        let dir = TemporaryFolder()
        #expect(throws: VaultError.notFound("round file \(dir.path)/none does not exist")) { try Files.read(dir.path + "/none", what: "round file") }
        #expect(throws: VaultError.notFound("passphrase file \(dir.path)/none does not exist")) {
            try PassphraseSource(file: dir.path + "/none", environmentVariable: "UNUSED", subject: "x").read()
        }
    }
}
