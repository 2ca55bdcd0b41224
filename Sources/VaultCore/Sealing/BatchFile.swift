import Foundation
import VaultCrypto

/// A batch file opened for reading: its header and trailer parsed, and the chunk layout checked
/// against the file's size before any chunk is read — a truncated or padded file is refused
/// with the reason, never half read.
public final class BatchFile {
    public let path: String
    public let header: BatchFormat.Header
    let headerBytes: [UInt8]
    public let count: Int
    let signature: [UInt8]
    let chunks: Int
    private let payloadBytes: Int
    private let fd: Int32

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_NONBLOCK)  // a FIFO must not hang the open; it is refused below
        self.fd = fd
        guard fd >= 0 else {
            throw errno == ENOENT ? VaultError.notFound("\(path) does not exist") : VaultError.invalidData("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { close(fd); throw VaultError.invalidData("\(path) is not a regular file") }
        let size = Int(st.st_size)
        func readAt(_ offset: Int, _ n: Int) -> [UInt8] {
            // A local function of the descriptor only: `self` is not complete yet.
            var b = [UInt8](repeating: 0, count: n)
            let got = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, n, off_t(offset)) }
            return got == n ? b : []
        }
        do {
            let head = readAt(0, Swift.min(size, 10 + BatchFormat.maxHeaderBody))
            let parsed = try BatchFile.layout(head: head, tail: size >= BatchFormat.trailerSize ? readAt(size - BatchFormat.trailerSize, BatchFormat.trailerSize) : [],
                                              size: size, file: path)
            (header, headerBytes, count, signature, chunks, payloadBytes) = parsed
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// The structure of a batch file from its first bytes, last bytes and size (also the fuzz
    /// entry's): header, headers' length, count, signature, chunk count, payload length.
    static func layout(head: [UInt8], tail: [UInt8], size: Int, file: String) throws
        -> (BatchFormat.Header, [UInt8], Int, [UInt8], Int, Int) {
        let (header, length) = try BatchFormat.Header.parse(head, file: file)
        let damaged = "\(file) is cut short or damaged (its size does not fit the batch format); ask its sender for it again"
        guard let (count, signature) = BatchFormat.parseTrailer(tail) else { throw VaultError.invalidData(damaged) }
        let payload = size - length - BatchFormat.trailerSize
        guard let chunks = BatchFormat.chunkCount(ciphertextBytes: payload),
              payload - (chunks - 1) * BatchFormat.chunkCiphertextSize - AES.GCM.tagByteCount + (chunks - 1) * BatchFormat.chunkSize >= count * BatchFormat.recordSize else {
            throw VaultError.invalidData(damaged)
        }
        return (header, Array(head[0..<length]), count, signature, chunks, payload)
    }

    /// Calls `body` with each chunk's ciphertext, in order.
    func forEachChunk(_ body: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: BatchFormat.chunkCiphertextSize)
        var offset = headerBytes.count
        for i in 0..<chunks {
            let n = i == chunks - 1 ? payloadBytes - (chunks - 1) * BatchFormat.chunkCiphertextSize : BatchFormat.chunkCiphertextSize
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, n, off_t(offset)) }
            guard got == n else { throw VaultError.invalidData("\(path) changed or could not be read while importing") }
            try buffer.withUnsafeBytes { try body(i, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += n
        }
    }
}

/// What sealing to a file produced.
public struct OfflineSeal: Sendable {
    public let receipt: Receipt
    public let receiptPath: String
    public let descriptor: RoundDescriptor
    public let newlyPinned: Bool
}

extension RoundDescriptor {
    /// `seal --round-file R.round --out B.batch`: seals on the evaluator's own machine, with no
    /// vault. The descriptor is checked against the chair key pinned in `client` (pinned now on
    /// first use); the key file must be the one enrolled for `evaluator` on the round's panel;
    /// every score is checked against the grid and the evaluator's declared conflicts, and the
    /// round's policy is asked for each place, as `seal --dir` does. The file is written under a
    /// temporary name and appears at `out` only when whole and signed; the receipt is kept in
    /// the state folder. The vault checks all of it again when the chair imports the file. An
    /// existing file at `out` is replaced only with `overwrite` (the CLI's `--force`).
    public func seal(_ sheet: ScoreSheet, evaluator: PrincipalID, keys: PrivateKeys, out: String, overwrite: Bool = false, client: ClientState,
                     progress: ((Int, Int) -> Void)? = nil) throws -> OfflineSeal {
        let pinned = try pin(in: client)
        guard let member = members[evaluator.rawValue] else {
            throw VaultError.permission("\(evaluator) is not on the panel of round \(round.id) (panel: \(round.panel.map(\.rawValue).joined(separator: ", ")))")
        }
        guard member.signing == keys.publicKeys.signing.rawRepresentation else {
            throw VaultError.authenticationFailed("this key file is not the key enrolled for \(evaluator) in vault \(vault)")
        }
        if !overwrite && Files.exists(out) { throw VaultError.usage("\(out) already exists; refusing to overwrite it") }
        let principal = Principal(id: evaluator, role: .evaluator, publicKeys: keys.publicKeys, identityCiphertext: nil,
                                  conflicts: member.conflicts, enabled: true, version: 1)
        let file = try Files.AtomicWriter(path: out, mode: 0o644)
        let batchID = SecureRandom.bytes(count: 16)
        let time = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let sealer = try BatchSealer(target: SealTarget(vaultID: vault, round: round, policy: policy), evaluator: principal, batchID: batchID,
                                     time: time) { _, ct in try file.write(Array(ct)) }
        // A sealed round's header goes first; the writer's chunks follow it.
        if let writer = sealer.sealedWriter { try file.write(writer.headerBytes) }
        try sealer.run(sheet, progress: progress)
        for r in sealer.policyRequests() {
            let d = policy.evaluate(r)
            guard d.allowed else { throw VaultError.denied(policyIDs: d.determining) }
        }
        try sealer.checkConflict()
        let name: String, digest: [UInt8], count: Int
        if let ceremony = try round.ceremonyRecord() {
            // A tally round: each score encrypted under the ceremony's joint key with its proof.
            let header = TallyBatch.Header(vault: vault, round: round.id, jointKey: ceremony.jointKey.encoded(compressed: false), batchID: batchID,
                                           evaluator: evaluator.rawValue, time: time)
            let bytes = try TallyBatch.make(header: header, config: round.config, key: Tally.PublicKey(ceremony.jointKey), scores: sealer.tallyScores,
                                            signer: keys.signing)
            let batch = try TallyBatch(bytes: bytes, config: round.config, file: out)
            try file.write(bytes)
            (name, digest, count) = (header.batchName, batch.digest, batch.records.count)
        } else {
            let sealed = try sealer.finish(signer: keys.signing)
            try file.write(sealed.trailer)
            (name, digest, count) = (sealed.name, sealed.digest, sealed.count)
        }
        try file.commit(overwrite: overwrite)
        let receipt = Receipt(vault: vault, round: round.id, batch: name, digest: Hex.encode(digest),
                              evaluator: evaluator.rawValue, scores: count, seq: nil, leafHash: nil)
        let path = try client.saveReceipt(receipt)
        return OfflineSeal(receipt: receipt, receiptPath: path, descriptor: self, newlyPinned: pinned)
    }
}

/// What `import` did with one file.
public struct ImportOutcome: Sendable {
    public let file: String
    public let batch: String
    public let round: String
    public let evaluator: String
    public let scores: Int
    /// The entry that recorded it; nil when it had been imported before.
    public let seq: Int?
}

extension Vault {
    /// `import FILE.batch`: verifies a batch file and stores it as it is, with one signed entry.
    /// Before anything is written: it is for this vault, for a round that exists and is open and
    /// for that round's key; its evaluator is an enrolled, enabled evaluator on the round's panel;
    /// the policy lets `actor` import. Then, in one transaction: every chunk is stored while the
    /// digest is computed, and the evaluator's signature over it must verify. The vault cannot
    /// decrypt it, so the grid is checked when the round is revealed (any bad batch stops the
    /// reveal, naming it and its evaluator). A batch imported before is reported, not stored again.
    /// The first 8 bytes of a regular file (empty if it cannot be read: the reader says why).
    static func firstBytes(of path: String) -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { return [] }
        defer { Glibc.close(fd) }
        var st = stat(), b = [UInt8](repeating: 0, count: 8)
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Glibc.read(fd, &b, 8) == 8 else { return [] }
        return b
    }

    public func importBatch(path: String, actor: Actor) throws -> ImportOutcome {
        var target = "batch"
        do {
            if TallyBatch.isTallyBatch(Self.firstBytes(of: path)) {
                return try importTallyBatch(path: path, actor: actor, target: &target)
            }
            let file = try BatchFile(path: path)
            let h = file.header
            target = "round/\(h.round)"
            let name = h.batchName
            guard h.vault == id else {
                throw VaultError.invalidData("\(path) is a batch for vault \(h.vault); this vault is \(id)")
            }
            let round: Round
            do { round = try self.round(h.round, verifiedWith: actor.chairKey) } catch VaultError.notFound {
                throw VaultError.notFound("\(path) is for round \(h.round), which this vault does not have")
            }
            if let known = log.head(.batch, name) {
                guard known.round == h.round, known.evaluator == h.evaluator, known.count == file.count else {
                    throw VaultError.integrity("\(path) reuses the id of batch \(name.prefix(16)), already imported with other contents")
                }
                return ImportOutcome(file: path, batch: name, round: h.round, evaluator: h.evaluator, scores: file.count, seq: nil)
            }
            guard round.state == .open else {
                throw VaultError.usage("round \(h.round) is \(round.state.rawValue); batches can be imported only while it is open")
            }
            // The seal time decides which of an evaluator's batches is the latest: one from the
            // future could never be superseded (a day of clock skew is allowed).
            let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
            guard h.time > 0 && h.time <= now + 86_400_000_000 else {
                throw VaultError.invalidData("\(path) says it was sealed at a time more than a day from now (the evaluator's clock is wrong); ask for it again")
            }
            guard h.roundKey == round.publicKey?.rawRepresentation else {
                throw VaultError.invalidData("\(path) is sealed to another key than round \(h.round)'s (a descriptor of another vault or opening?)")
            }
            let pid = try PrincipalID(h.evaluator)
            let evaluator: Principal
            do { evaluator = try principal(pid, verifiedWith: actor.chairKey) } catch VaultError.notFound {
                throw VaultError.permission("\(path) was sealed by \(h.evaluator), who is not enrolled in this vault")
            }
            guard evaluator.role == .evaluator, evaluator.enabled else {
                throw VaultError.permission("\(path) was sealed by \(h.evaluator), who is not an enabled evaluator")
            }
            guard round.panel.contains(pid) else {
                throw VaultError.permission("\(path) was sealed by \(h.evaluator), who is not on the panel of round \(h.round)")
            }
            let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: "import",
                                                       resource: ["round": round.policyAttributes]),
                                         actor: actor, target: target, details: ["batch": .string(name), "evaluator": .string(h.evaluator)])
            let receipt = try write {
                let now = try self.round(h.round, verifiedWith: actor.chairKey)
                guard now.state == .open, now.publicKey == round.publicKey else {
                    throw VaultError.usage("round \(h.round) is \(now.state.rawValue); batches can be imported only while it is open")
                }
                let store = try batchChunkInserter(batch: h.batchID)
                let digest = BatchFormat.Digest(header: file.headerBytes)
                try file.forEachChunk { i, ct in
                    digest.add(chunkHash: SHA256.hash(data: ct))
                    try store.add(index: i, ciphertext: ct)
                }
                store.finish()
                let sealed = SealedBatch(batchID: h.batchID, round: h.round, evaluator: h.evaluator, headerBytes: file.headerBytes, count: file.count, chunks: file.chunks,
                                         trailer: BatchFormat.trailer(count: file.count, signature: file.signature),
                                         digest: digest.finalize(count: file.count), signature: file.signature)
                return try acceptBatch(sealed, importer: actor, decision: decision, action: "import")
            }
            return ImportOutcome(file: path, batch: name, round: h.round, evaluator: h.evaluator, scores: file.count, seq: receipt.seq)
        } catch let error as VaultError {
            if case .denied = error { throw error }
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "import", target: target, outcome: .failed,
                                          details: ["exit_status": .integer(Int64(error.exitStatus.rawValue))]), signer: actor.keys.signing)
            throw error
        }
    }
}
