import Foundation
#if canImport(Glibc)
import Glibc
#endif
import VaultCrypto

/// Verifies an exported audit log offline (design: Audit log), with no vault and no passphrase.
///
/// Checks, line by line (streaming, constant memory): every line is canonical JSON (RFC 8785)
/// so no byte can change without changing a hash; the header names the format, the vault and
/// the signers; entries run seq 0…n−1; every authenticated entry's Ed25519 signature over its
/// leaf hash and the log's root before it verifies with its actor's key, and unauthenticated
/// entries carry none; the header's
/// signer list is exactly the set of keys enrolled in the log (each before its first use); the
/// last line is a checkpoint for exactly these entries whose root is recomputed here and whose
/// signature is the vault chair's. With an older checkpoint, the log must extend it.
public enum AuditVerifier {
    public struct Summary: Sendable {
        public let vaultID: String
        public let size: Int
        public let root: [UInt8]
        public let chair: String
        public let chairFingerprint: Fingerprint
        /// The size of the older checkpoint that was shown to be a prefix, if one was given.
        public let extends: Int?
    }

    public static func verify(path: String, olderCheckpoint: String? = nil) throws -> Summary {
        var stats = LineReader.Stats()
        return try verify(path: path, olderCheckpoint: olderCheckpoint, stats: &stats)
    }

    /// The same, reporting what the line reader did (for the tests), even when verification fails.
    static func verify(path: String, olderCheckpoint: String?, stats: inout LineReader.Stats) throws -> Summary {
        // `-` is standard input; a pipe or `/dev/fd/N` path streams like a file.
        let fd = try Files.openForReading(path, what: "audit export")
        defer { close(fd) }
        let name = Files.displayName(path)
        var reader = LineReader { buffer in
            while true {
                let n = read(fd, buffer.baseAddress, buffer.count)
                if n >= 0 { return n }
                guard errno == EINTR else { throw VaultError.permission("cannot read \(name): \(String(cString: strerror(errno)))") }
            }
        }
        defer { stats = reader.stats }
        return try verify(lines: { try reader.next() }, olderCheckpoint: olderCheckpoint)
    }

    /// The core, over any source of lines (without their newline; nil at the end; a final
    /// line without newline is reported by the source as an error).
    static func verify(lines next: () throws -> [UInt8]?, olderCheckpoint: String?) throws -> Summary {
        var lineNo = 0
        func bad(_ why: String) -> VaultError { .integrity("line \(lineNo): \(why)") }
        func canonical(_ bytes: [UInt8]) throws -> JSONValue {
            let v: JSONValue
            switch Result(catching: { () throws(JSONParser.ParseError) in try JSONParser.parse(bytes, allowWhitespace: false, integersOnly: true) }) {
            case .success(let value): v = value
            case .failure(let error): throw bad("not valid JSON (\(error))")
            }
            guard CanonicalJSON.encode(v) == bytes else { throw bad("not in canonical (RFC 8785) form") }
            return v
        }

        let older: Checkpoint.Note? = try olderCheckpoint.map { text in
            do { return try Checkpoint.parse(note: text) } catch let e as VaultError { throw VaultError.integrity("the older checkpoint: \(e.message)") }
        }

        // Header.
        lineNo = 1
        guard let headerLine = try next() else { throw VaultError.integrity("the file is empty") }
        let header = try canonical(headerLine)
        guard header["format"]?.stringValue == AuditExport.formatName else { throw bad("not an \(AuditExport.formatName) export") }
        guard let vaultID = header["vault"]?.stringValue, vaultID.count == 32, Hex.decode(vaultID) != nil else { throw bad("no valid vault id") }
        guard let signerObject = header["signers"]?.objectValue, header.objectValue?.count == 3 else { throw bad("malformed header") }
        var signers: [String: Curve25519.Signing.PublicKey] = [:]
        for (name, value) in signerObject {
            guard let raw = value.stringValue.flatMap(Base64.decode), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw bad("the key of signer \(name) is malformed")
            }
            signers[name] = key
        }

        var frontier = MerkleFrontier()
        var enrolled: [String: (key: String, role: String, agreement: String)] = [:]
        var chair: String?
        var rootAtOlder: [UInt8]? = older?.checkpoint.size == 0 ? Merkle.emptyRoot : nil
        var checkpointNote: Checkpoint.Note?

        // Signatures are checked in runs of 4,096 on both cores (the bulk of the work); any
        // other failure first settles the signatures of earlier lines, so the error reported is
        // always the first in file order.
        struct PendingSignature { let line: Int, seq: Int, actor: String, key: Curve25519.Signing.PublicKey, sig: [UInt8], message: [UInt8] }
        var pending: [PendingSignature] = []
        func settleSignatures() throws {
            guard !pending.isEmpty else { return }
            let parts = 2, size = (pending.count + parts - 1) / parts
            var firstBad = [Int](repeating: Int.max, count: parts)
            // Each part reads its own slice of `pending` and writes only its own slot of firstBad.
            try firstBad.withUnsafeMutableBufferPointer { slots in
                try Parallel.forEach(parts) { part in
                    for i in (part * size)..<min(pending.count, (part + 1) * size) where !pending[i].key.isValidSignature(pending[i].sig, for: pending[i].message) {
                        slots[part] = i
                        return
                    }
                }
            }
            defer { pending.removeAll(keepingCapacity: true) }
            if let i = firstBad.min(), i != Int.max {
                let p = pending[i]
                throw VaultError.integrity("line \(p.line): the signature of entry \(p.seq) by \(p.actor) does not verify")
            }
        }

        do {
            while let line = try next() {
                lineNo += 1
                guard checkpointNote == nil else { throw bad("unexpected data after the checkpoint") }
                let v = try canonical(line)
                guard case .object(let wrapper) = v else { throw bad("not a JSON object") }
                if let cp = wrapper["checkpoint"] {
                    guard wrapper.count == 1, let text = cp.stringValue else { throw bad("malformed checkpoint line") }
                    do { checkpointNote = try Checkpoint.parse(note: text) } catch let e as VaultError { throw bad(e.message) }
                    continue
                }
                guard wrapper.count == 2, case .object(let entry)? = wrapper["entry"], let sigValue = wrapper["sig"] else {
                    throw bad("expected {\"entry\":…,\"sig\":…}")
                }
                let seq = frontier.size
                guard entry["seq"]?.integerValue == Int64(seq) else { throw bad("expected entry seq \(seq) (entries missing, repeated or out of order)") }
                guard let actor = entry["actor"]?.stringValue, case .bool(let authenticated)? = entry["authenticated"],
                      let action = entry["action"]?.stringValue, entry["time"]?.stringValue != nil, entry["target"]?.stringValue != nil,
                      entry["decision"]?.stringValue != nil, entry["policies"]?.arrayValue != nil, entry["policy_sha256"]?.stringValue != nil,
                      entry["outcome"]?.stringValue != nil, case .object(let details)? = entry["details"], entry.count == 11 else {
                    throw bad("entry \(seq) lacks a field of the audit entry format or has an extra one")
                }
                let leaf = Merkle.leafHash(CanonicalJSON.encode(.object(entry)))

                if let e = details["enrolled"] {
                    guard let id = e["id"]?.stringValue, let key = e["ed25519"]?.stringValue, let role = e["role"]?.stringValue,
                          let agreement = e["x25519"]?.stringValue, e.objectValue?.count == 4, enrolled[id] == nil else {
                        throw bad("entry \(seq) has a malformed or repeated enrolment")
                    }
                    enrolled[id] = (key, role, agreement)
                    if action == "vault.init" {
                        guard seq == 0, role == "chair", chair == nil else { throw bad("vault.init must be entry 0 and enrol the chair") }
                        chair = id
                    }
                } else if seq == 0 {
                    throw bad("entry 0 must be the vault's creation (vault.init)")
                }

                if authenticated {
                    guard let sigText = sigValue.stringValue, let sig = Base64.decode(sigText), sig.count == 64 else {
                        throw bad("entry \(seq) is marked authenticated but carries no signature")
                    }
                    guard enrolled[actor] != nil else { throw bad("entry \(seq) is signed by \(actor), who is not enrolled before it") }
                    guard let key = signers[actor], Base64.encode(key.rawRepresentation) == enrolled[actor]!.key else {
                        throw bad("the header's key for \(actor) is not the key enrolled in the log")
                    }
                    pending.append(PendingSignature(line: lineNo, seq: seq, actor: actor, key: key, sig: sig,
                                                    message: AuditSignature.message(leaf: leaf, rootBefore: frontier.root)))
                    if pending.count == 4096 { try settleSignatures() }
                } else {
                    guard sigValue == .null else { throw bad("entry \(seq) is unauthenticated but carries a signature") }
                }
                frontier.append(leaf)
                if let o = older, frontier.size == o.checkpoint.size { rootAtOlder = frontier.root }
            }
            try settleSignatures()
        } catch {
            try settleSignatures()
            throw error
        }
        lineNo += 1
        guard let note = checkpointNote else {
            throw VaultError.integrity("line \(lineNo): the export ends without a checkpoint (truncated?)")
        }
        lineNo -= 1
        guard let chairID = chair, let chairKey = signers[chairID] else { throw bad("the log names no chair") }
        // The header's signers must be exactly the keys enrolled in the log.
        guard Set(signers.keys) == Set(enrolled.keys),
              signers.allSatisfy({ Base64.encode($0.value.rawRepresentation) == enrolled[$0.key]!.key }) else {
            throw VaultError.integrity("line 1: the header's signers differ from the keys enrolled in the log")
        }
        let cp = note.checkpoint
        guard cp.origin == "evalvault/\(vaultID)" else { throw bad("the checkpoint is for another log (\(cp.origin))") }
        guard cp.size == frontier.size else { throw bad("the checkpoint covers \(cp.size) entries but the file holds \(frontier.size)") }
        guard cp.root == frontier.root else { throw bad("the checkpoint's root does not match the entries") }
        guard note.isSigned(by: chairID, key: chairKey) else { throw bad("the checkpoint is not signed by the chair \(chairID)") }

        if let o = older {
            guard o.checkpoint.origin == cp.origin else { throw VaultError.integrity("the older checkpoint is for another log (\(o.checkpoint.origin))") }
            guard o.isSigned(by: chairID, key: chairKey) else { throw VaultError.integrity("the older checkpoint is not signed by the chair \(chairID)") }
            guard o.checkpoint.size <= cp.size else {
                throw VaultError.integrity("the log shrank: the older checkpoint has \(o.checkpoint.size) entries, this export \(cp.size)")
            }
            guard rootAtOlder == o.checkpoint.root else {
                throw VaultError.integrity("the log was rewritten: its first \(o.checkpoint.size) entries do not match the older checkpoint")
            }
        }
        guard let agreement = Base64.decode(enrolled[chairID]!.agreement),
              let chairKeys = try? PublicKeys(agreementRaw: agreement, signingRaw: chairKey.rawRepresentation) else {
            throw VaultError.integrity("line 2: the chair's enrolled X25519 key is malformed")
        }
        let fingerprint = chairKeys.fingerprint
        return Summary(vaultID: vaultID, size: cp.size, root: cp.root, chair: chairID, chairFingerprint: fingerprint,
                       extends: older?.checkpoint.size)
    }
}

/// Reads lines in bounded memory and linear time, for `audit verify` given any file at all.
///
/// One buffer of `maxLineLength + chunkSize` bytes, allocated once. The search for a newline
/// resumes where the last one stopped, so each byte is scanned once; the unfinished line is moved
/// to the front only when the buffer's end is reached, which happens at most once per line (a line
/// that would need a second move is already too long), so each byte is moved at most once. A line
/// longer than `maxLineLength` is refused as soon as that many bytes without a newline are
/// buffered, naming the line, without reading the rest of it. A last line without its newline is
/// an error: exports always end with one, so its absence means truncation.
struct LineReader {
    /// The longest line accepted, newline excluded. Export lines are a few hundred bytes; the
    /// header grows by about 70 bytes per principal, so 1 MiB leaves room for over 10,000.
    static let maxLineLength = 1 << 20
    static let chunkSize = 1 << 16

    /// Fills a prefix of the buffer it is given (never empty) and returns how many bytes it wrote; 0 at the end.
    typealias Source = (UnsafeMutableRawBufferPointer) throws -> Int

    /// What the reader did so far: what the tests check bounds and linearity against.
    struct Stats: Sendable, Equatable {
        /// Lines handed out.
        var lines = 0
        /// Bytes taken from the source.
        var bytesRead = 0
        /// Bytes examined in search of a newline.
        var bytesScanned = 0
        /// Bytes of unfinished lines moved to the front of the buffer.
        var bytesMoved = 0
        /// The buffer's size, fixed for the reader's life.
        var capacity = 0
    }

    let maxLineLength: Int
    private let source: Source
    private var buffer: [UInt8]
    /// buffer[start..<end] is read and not yet handed out; buffer[start..<scanned] holds no newline.
    private var start = 0, scanned = 0, end = 0
    private var eof = false
    private(set) var stats = Stats()

    /// `inputSize`: when the source is known to hold at most that many bytes, a smaller buffer
    /// that holds them all (the whole input then never needs moving or refusing by size alone).
    init(maxLineLength: Int = LineReader.maxLineLength, inputSize: Int? = nil, source: @escaping Source) {
        precondition(maxLineLength > 0)
        self.maxLineLength = maxLineLength
        self.source = source
        buffer = [UInt8](repeating: 0, count: min(maxLineLength + Self.chunkSize, inputSize.map { $0 + 1 } ?? .max))
        stats.capacity = buffer.count
    }

    /// A reader over bytes in memory (the fuzz target's), handed to it in chunks as a file would
    /// be, with a buffer no larger than they need.
    init(bytes: [UInt8], maxLineLength: Int = LineReader.maxLineLength) {
        var offset = 0
        self.init(maxLineLength: maxLineLength, inputSize: bytes.count) { out in
            let n = min(out.count, bytes.count - offset)
            guard n > 0 else { return 0 }
            bytes.withUnsafeBytes { b in out.baseAddress!.copyMemory(from: b.baseAddress! + offset, byteCount: n) }
            offset += n
            return n
        }
    }

    /// The next line without its newline, nil at the end of the input.
    mutating func next() throws -> [UInt8]? {
        while true {
            let found = buffer.withUnsafeBytes { b -> Int? in
                guard scanned < end, let p = memchr(b.baseAddress! + scanned, 0x0A, end - scanned) else { return nil }
                return UnsafeRawPointer(p) - b.baseAddress!
            }
            stats.bytesScanned += (found.map { $0 + 1 } ?? end) - scanned
            if let newline = found {
                guard newline - start <= maxLineLength else { throw tooLong() }
                let line = Array(buffer[start..<newline])
                start = newline + 1
                scanned = start
                stats.lines += 1
                return line
            }
            scanned = end
            guard end - start <= maxLineLength else { throw tooLong() }
            if eof {
                guard start == end else {
                    throw VaultError.integrity("line \(stats.lines + 1): the file ends in the middle of a line (truncated?)")
                }
                return nil
            }
            if end == buffer.count {
                // start > 0 here: a line filling a buffer of the full size was refused above, and
                // a smaller buffer holds the whole input.
                let pending = end - start
                buffer.withUnsafeMutableBytes { b in
                    _ = memmove(b.baseAddress!, b.baseAddress! + start, pending)
                }
                stats.bytesMoved += pending
                start = 0
                scanned = pending
                end = pending
            }
            let room = min(Self.chunkSize, buffer.count - end)
            let n = try buffer.withUnsafeMutableBytes { b in
                try source(UnsafeMutableRawBufferPointer(rebasing: b[end..<(end + room)]))
            }
            precondition(n >= 0 && n <= room, "a line source returned \(n) for room \(room)")
            if n == 0 { eof = true } else { end += n; stats.bytesRead += n }
        }
    }

    private func tooLong() -> VaultError {
        VaultError.integrity("line \(stats.lines + 1) is longer than \(Files.sizeText(maxLineLength))")
    }
}
