import Foundation
import VaultCrypto

/// Encrypts a batch as its records are added: one HPKE encapsulation to the round key, then
/// 64 KiB chunks handed to `sink` as each fills (a file being written, or vault.db's rows), so
/// a batch of any size is sealed in constant memory. The evaluator's signature comes last, over
/// the header, every chunk and the count (`BatchFormat`).
final class BatchWriter {
    let header: BatchFormat.Header
    let headerBytes: [UInt8]
    private let cipher: AES.GCM.KeyedCipher
    private let digest: BatchFormat.Digest
    private let sink: (Int, UnsafeRawBufferPointer) throws -> Void
    /// Plaintext not yet sealed: up to one chunk plus one record with the longest comment.
    private let plain: UnsafeMutableRawBufferPointer
    private var used = 0
    private let out: UnsafeMutableRawBufferPointer
    private var chunks = 0
    private(set) var count = 0

    /// `sender` is for known-answer tests only (BatchFormatVectorTests fixes its ephemeral key):
    /// it must be an `HPKE.Sender` to `roundKey` with `BatchFormat.info(vault:round:)`. Everything
    /// else passes nil, and a fresh ephemeral key is drawn.
    init(vault: String, round: String, roundKey: Curve25519.KeyAgreement.PublicKey, batchID: [UInt8], evaluator: String, time: Int64,
         sender given: HPKE.Sender? = nil, sink: @escaping (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        let sender = try given ?? HPKE.Sender(recipientKey: roundKey, info: BatchFormat.info(vault: vault, round: round))
        header = BatchFormat.Header(vault: vault, round: round, roundKey: roundKey.rawRepresentation, batchID: batchID, evaluator: evaluator,
                                    time: time, enc: sender.encapsulatedKey)
        headerBytes = header.bytes
        let key = try sender.exportSecret(context: BatchFormat.payloadKeyContext(header: headerBytes), outputByteCount: 32)
        cipher = try AES.GCM.KeyedCipher(key: SymmetricKey(key))
        digest = BatchFormat.Digest(header: headerBytes)
        self.sink = sink
        plain = .allocate(byteCount: BatchFormat.chunkSize + BatchFormat.recordSize + BatchFormat.maxCommentBytes + 16, alignment: 16)
        plain.initializeMemory(as: UInt8.self, repeating: 0)
        out = .allocate(byteCount: BatchFormat.chunkCiphertextSize, alignment: 16)
    }

    deinit {
        secureWipe(plain)
        plain.deallocate()
        out.deallocate()
    }

    /// Adds one score: indexes into the round's teams and criteria, its grid index, its comment.
    func add(team: Int, criterion: Int, units: Int64, comment: UnsafeRawBufferPointer?) throws {
        let c = comment?.count ?? 0
        // The sealer checks these first; a violation here would be a bug, not bad input.
        precondition(c <= BatchFormat.maxCommentBytes && team >= 0 && team <= Int(UInt32.max) && criterion >= 0 && criterion <= Int(UInt16.max))
        let p = plain.baseAddress!.assumingMemoryBound(to: UInt8.self) + used
        p[0] = UInt8(truncatingIfNeeded: team >> 24); p[1] = UInt8(truncatingIfNeeded: team >> 16)
        p[2] = UInt8(truncatingIfNeeded: team >> 8); p[3] = UInt8(truncatingIfNeeded: team)
        p[4] = UInt8(truncatingIfNeeded: criterion >> 8); p[5] = UInt8(truncatingIfNeeded: criterion)
        p[6] = UInt8(truncatingIfNeeded: c >> 8); p[7] = UInt8(truncatingIfNeeded: c)
        for i in 0..<8 { p[8 + i] = UInt8(truncatingIfNeeded: units >> (8 * (7 - i))) }
        used += BatchFormat.recordSize
        if let comment, c > 0 {
            let padded = BatchFormat.paddedCommentCount(c)
            UnsafeMutableRawBufferPointer(rebasing: plain[used..<(used + c)]).copyMemory(from: comment)
            UnsafeMutableRawBufferPointer(rebasing: plain[(used + c)..<(used + padded)]).initializeMemory(as: UInt8.self, repeating: 0)
            used += padded
        }
        count += 1
        if used > BatchFormat.chunkSize {
            try emit(BatchFormat.chunkSize, last: false)
            let rest = used - BatchFormat.chunkSize
            UnsafeMutableRawBufferPointer(rebasing: plain[0..<rest]).copyMemory(from: UnsafeRawBufferPointer(rebasing: plain[BatchFormat.chunkSize..<used]))
            used = rest
        }
    }

    private func emit(_ n: Int, last: Bool) throws {
        let ct = UnsafeMutableRawBufferPointer(rebasing: out[0..<(n + AES.GCM.tagByteCount)])
        try BatchFormat.nonce(chunks, last: last).withUnsafeBytes { nonce in
            try cipher.seal(UnsafeRawBufferPointer(rebasing: plain[0..<n]), nonce: nonce, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: ct)
        }
        digest.add(chunkHash: SHA256.hash(data: UnsafeRawBufferPointer(ct)))
        try sink(chunks, UnsafeRawBufferPointer(ct))
        chunks += 1
    }

    /// Seals the last chunk and signs the batch; returns the trailer and the signed digest.
    func finish(signer: Curve25519.Signing.PrivateKey) throws -> (trailer: [UInt8], digest: [UInt8], signature: [UInt8], chunks: Int) {
        precondition(count > 0 && used > 0)
        try emit(used, last: true)
        secureWipe(plain)
        used = 0
        let d = digest.finalize(count: count)
        let signature = try signer.signature(for: d)
        return (BatchFormat.trailer(count: count, signature: signature), d, signature, chunks)
    }
}

