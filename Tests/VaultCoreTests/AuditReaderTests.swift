import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// `audit verify` given hostile files (design: Audit log): a line over 1 MiB is refused naming
/// the line, in bounded memory, and reading stays linear. The bounds are checked on the line
/// reader's own counters of the bytes it read, scanned and moved, which a reader that buffered
/// a whole line, rescanned it or shifted its buffer would overrun.
@Suite("Audit export reader: bounded and linear")
struct AuditReaderTests {
    static let mib = 1 << 20
    /// The most a reader may take from its source before refusing an endless line.
    static let readBound = LineReader.maxLineLength + LineReader.chunkSize

    func write(_ bytes: [UInt8], in dir: TemporaryFolder, _ name: String = "export.jsonl") throws -> String {
        let path = dir.path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("a 2 MiB line at line 3 of a real export is refused with 65, naming line 3, having read no more than 1 MiB of it")
    func longLineThree() throws {
        let f = try AuditFixture()
        try f.act()
        let l = lines(try f.export())
        let before = l[0].count + 1 + l[1].count + 1
        let path = try write(join([l[0], l[1], [UInt8](repeating: UInt8(ascii: "x"), count: 2 * Self.mib)] + l[2...]), in: f.dir)
        var stats = LineReader.Stats()
        let e = #expect(throws: VaultError.self) { try AuditVerifier.verify(path: path, olderCheckpoint: nil, stats: &stats) }
        #expect(e == .integrity("line 3 is longer than 1 MiB"))
        #expect(e?.exitStatus == .dataError)
        #expect(e?.message == "integrity check failed: line 3 is longer than 1 MiB")
        #expect(stats.lines == 2)
        #expect(stats.bytesRead <= before + Self.readBound, "read \(stats.bytesRead) bytes")
        #expect(stats.bytesRead < before + 2 * Self.mib)
        // The same export without the long line verifies.
        #expect(try AuditVerifier.verify(path: try write(join(l), in: f.dir, "good.jsonl")).size == l.count - 2)
    }

    @Test("64 MiB without a newline: refused as line 1 after reading at most 1 MiB + 64 KiB, from a file and from an endless source")
    func endlessLine() throws {
        // A sparse file: 64 MiB of zero bytes that take no disk space.
        let dir = TemporaryFolder("evalvault-reader")
        let path = dir.path + "/zeros.jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        #expect(truncate(path, 64 << 20) == 0)
        var stats = LineReader.Stats()
        let e = #expect(throws: VaultError.self) { try AuditVerifier.verify(path: path, olderCheckpoint: nil, stats: &stats) }
        #expect(e == .integrity("line 1 is longer than 1 MiB"))
        #expect(stats.bytesRead > LineReader.maxLineLength && stats.bytesRead <= Self.readBound, "read \(stats.bytesRead) bytes")
        #expect(stats.capacity == Self.readBound && stats.bytesMoved == 0)

        // A source that never ends: it serves whatever is asked and counts it.
        var served = 0
        var reader = LineReader { buffer in
            buffer.initializeMemory(as: UInt8.self, repeating: UInt8(ascii: "{"))
            served += buffer.count
            return buffer.count
        }
        #expect(throws: VaultError.integrity("line 1 is longer than 1 MiB")) { try reader.next() }
        #expect(served == reader.stats.bytesRead && served <= Self.readBound, "served \(served) bytes")
    }

    @Test("a line of exactly 1 MiB is read; one byte more is refused, also after short lines that make the buffer wrap")
    func boundary() throws {
        let max = LineReader.maxLineLength
        let exact = [UInt8](repeating: UInt8(ascii: "a"), count: max)
        let input = Array("x\n".utf8) + exact + [0x0A] + Array("y\n".utf8)
        var reader = LineReader(bytes: input)
        #expect(try reader.next() == Array("x".utf8))
        #expect(try reader.next() == exact)
        #expect(try reader.next() == Array("y".utf8))
        #expect(try reader.next() == nil)
        #expect(reader.stats.lines == 3 && reader.stats.capacity == input.count + 1)
        #expect(LineReader(bytes: Array("{}\n".utf8)).stats.capacity == 4)  // a small input, a small buffer

        for prefix in [0, 1, 3, 70_001] {  // short lines first, so the long one starts at different offsets
            let short = [UInt8](repeating: UInt8(ascii: "s"), count: prefix) + (prefix > 0 ? [0x0A] : [])
            var over = LineReader(bytes: short + exact + [UInt8(ascii: "b"), 0x0A])
            if prefix > 0 { #expect(try over.next()?.count == prefix) }
            let n = prefix > 0 ? 2 : 1
            #expect(throws: VaultError.integrity("line \(n) is longer than 1 MiB"), "after \(prefix) bytes") { try over.next() }
        }
    }

    @Test("lines of nearly 1 MiB each: every byte read and scanned once, each line moved at most once")
    func longLines() throws {
        var rng = SeededRandom.fresh("long lines")
        var input: [UInt8] = []
        var expected: [Int] = []
        for _ in 0..<10 {
            let n = LineReader.maxLineLength - rng.int(0...(LineReader.chunkSize * 3))
            expected.append(n)
            input += [UInt8](repeating: UInt8(ascii: "a") + UInt8(rng.int(0...25)), count: n) + [0x0A]
        }
        var reader = LineReader(bytes: input)
        var got: [Int] = []
        while let line = try reader.next() { got.append(line.count) }
        #expect(got == expected)
        #expect(reader.stats.capacity == Self.readBound)
        #expect(reader.stats.bytesRead == input.count && reader.stats.bytesScanned == input.count)
        // Each line is moved at most once, so never more bytes than were read.
        #expect(reader.stats.bytesMoved > 0 && reader.stats.bytesMoved <= input.count, "moved \(reader.stats.bytesMoved) of \(input.count)")
    }

    @Test("random inputs, served in random pieces, give exactly the lines of a plain split; each byte is scanned once and moved at most once")
    func matchesSplit() throws {
        var rng = SeededRandom.fresh("line reader")
        for round in 0..<300 {
            let limit = rng.int(1...40)
            var bytes: [UInt8] = []
            for _ in 0..<rng.int(0...60) {
                bytes += (0..<rng.int(0...(limit + 2))).map { _ in UInt8(ascii: "a") + UInt8(rng.int(0...25)) }
                bytes.append(0x0A)
            }
            if rng.chance(0.2) { bytes += Array("tail".utf8) }
            var offset = 0, pieces = SeededRandom(seed: rng.next())
            var reader = LineReader(maxLineLength: limit) { out in
                let n = min(out.count, bytes.count - offset, pieces.int(1...7))
                guard n > 0 else { return 0 }
                for i in 0..<n { out[i] = bytes[offset + i] }
                offset += n
                return n
            }
            var expected = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
            let last = expected.removeLast()
            var got: [[UInt8]] = []
            var failure: VaultError?
            do {
                while let line = try reader.next() { got.append(line) }
            } catch let e as VaultError { failure = e }
            if let tooLong = expected.firstIndex(where: { $0.count > limit }) {
                #expect(got == Array(expected[..<tooLong]), "round \(round)")
                #expect(failure == .integrity("line \(tooLong + 1) is longer than \(limit) bytes"), "round \(round)")
            } else if !last.isEmpty {
                #expect(got == expected, "round \(round)")
                let message = last.count > limit ? "line \(expected.count + 1) is longer than \(limit) bytes"
                    : "line \(expected.count + 1): the file ends in the middle of a line (truncated?)"
                #expect(failure == .integrity(message), "round \(round)")
            } else {
                #expect(got == expected && failure == nil, "round \(round)")
                #expect(reader.stats.bytesRead == bytes.count && reader.stats.bytesScanned == bytes.count, "round \(round)")
            }
            #expect(reader.stats.bytesScanned <= reader.stats.bytesRead && reader.stats.bytesMoved <= reader.stats.bytesRead)
            #expect(reader.stats.capacity == limit + LineReader.chunkSize)
        }
    }

    @Test("a 20,000-entry export verifies, its reader having read and scanned each byte once and moved only a line per wrap")
    func largeExport() throws {
        let f = try AuditFixture()
        let chair = try f.chair("test")
        try f.appendSignedEntries(20_000, chair: chair)
        let bytes = try f.export()
        let path = try write(bytes, in: f.dir)
        var stats = LineReader.Stats()
        let summary = try AuditVerifier.verify(path: path, olderCheckpoint: nil, stats: &stats)
        #expect(summary.size == 20_002)  // vault.init, the 20,000 appended, the export
        #expect(stats.lines == 20_004)  // with the header and the checkpoint
        #expect(bytes.count > 4 * Self.mib, "\(bytes.count) bytes")
        #expect(stats.bytesRead == bytes.count && stats.bytesScanned == bytes.count)
        // Only the unfinished line moves when the buffer wraps, which is after at least 1 MiB read:
        // moving it at every 64 KiB read instead would move about 16 times as much.
        let longest = lines(bytes).map(\.count).max() ?? 0
        #expect(stats.bytesMoved > 0 && stats.bytesMoved <= (bytes.count / Self.mib + 1) * longest,
                "moved \(stats.bytesMoved) of \(bytes.count), longest line \(longest)")
        #expect(stats.capacity == Self.readBound)
    }

    @Test("files read whole by the verifiers are bounded: /dev/zero and an oversized file are refused with 65, without reading them")
    func boundedWholeFiles() throws {
        let limits = [("proof file", AuditProof.maxFileSize, "2 MiB"), ("checkpoint file", Checkpoint.maxNoteSize, "64 KiB"),
                      ("result statement", ResultStatement.maxFileSize, "16 MiB")]
        let dir = TemporaryFolder("evalvault-bounded")
        for (what, limit, text) in limits {
            let e = #expect(throws: VaultError.self) { try Files.read("/dev/zero", what: what, limit: limit) }
            #expect(e == .invalidData("\(what) /dev/zero is larger than \(text); refusing to read it"))
            #expect(e?.exitStatus == .dataError)
            let path = dir.path + "/f"
            #expect(FileManager.default.createFile(atPath: path, contents: nil))
            #expect(truncate(path, off_t(limit)) == 0)
            #expect(try Files.read(path, what: what, limit: limit).count == limit)
            #expect(truncate(path, off_t(limit + 1)) == 0)
            #expect(throws: VaultError.invalidData("\(what) \(path) is larger than \(text); refusing to read it")) {
                try Files.read(path, what: what, limit: limit)
            }
        }
        #expect(throws: VaultError.notFound("proof file \(dir.path)/none does not exist")) {
            try Files.read(dir.path + "/none", what: "proof file", limit: 10)
        }
        #expect(throws: VaultError.permission("cannot read proof file \(dir.path)")) { try Files.read(dir.path, what: "proof file", limit: 10) }
        #expect(throws: VaultError.permission("cannot read \(dir.path): Is a directory")) { try AuditVerifier.verify(path: dir.path) }
    }
}
