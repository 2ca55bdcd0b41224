import COpenSSL

// Many messages of one HPKE context, sealed or opened on several threads (design: Performance: a bulk
// seal or a reveal handles a million messages). The nonce of message `seq` is
// base_nonce XOR seq (RFC 9180 §5.2) whichever thread computes it, so the ciphertexts are
// exactly those of sequential `seal` calls.

extension HPKE {
    /// Sequence numbers taken from a sender for messages to be sealed out of order or in parallel.
    ///
    /// Why a reservation: a nonce must never repeat under one key. The sender's counter moves
    /// past the whole range when it is reserved, so no later `seal` or reservation can use these
    /// numbers again, and each sealer only accepts indexes inside the range.
    public struct SealingRange: Sendable {
        let schedule: KeySchedule
        /// The sequence numbers reserved, in order.
        public let sequenceNumbers: Range<UInt64>

        /// A sealer for one thread.
        public func makeSealer() throws -> MessageSealer { try MessageSealer(self) }
    }

    /// Seals messages of a reserved range; one per thread (it holds an OpenSSL context).
    public final class MessageSealer {
        private let cipher: AES.GCM.KeyedCipher
        private let baseNonce: SecureBytes
        private let range: Range<UInt64>

        init(_ r: SealingRange) throws {
            cipher = try AES.GCM.KeyedCipher(key: r.schedule.key)
            baseNonce = r.schedule.baseNonce
            range = r.sequenceNumbers
        }

        /// Seals message `index` of the range (sequence number lowerBound + index) into `out`,
        /// which must hold plaintext.count + 16 bytes.
        public func seal(index: Int, _ plaintext: UnsafeRawBufferPointer, authenticating aad: UnsafeRawBufferPointer,
                         into out: UnsafeMutableRawBufferPointer) throws {
            guard index >= 0, index < range.count else { throw CryptoError.invalidParameter("message index outside the reserved range") }
            try withNonce(baseNonce, seq: range.lowerBound + UInt64(index)) { nonce in
                try cipher.seal(plaintext, nonce: nonce, authenticating: aad, into: out)
            }
        }
    }

    /// Opens messages of one context by sequence number; one per thread.
    public final class MessageOpener {
        private let cipher: AES.GCM.KeyedCipher
        private let baseNonce: SecureBytes

        init(_ schedule: KeySchedule) throws {
            cipher = try AES.GCM.KeyedCipher(key: schedule.key)
            baseNonce = schedule.baseNonce
        }

        /// Opens ciphertext ‖ tag sealed with sequence number `seq` into `out` (16 bytes shorter).
        /// False, with `out` wiped, when it does not authenticate.
        public func open(_ ciphertext: UnsafeRawBufferPointer, sequenceNumber seq: UInt64, authenticating aad: UnsafeRawBufferPointer,
                         into out: UnsafeMutableRawBufferPointer) -> Bool {
            withNonce(baseNonce, seq: seq) { nonce in cipher.open(ciphertext, nonce: nonce, authenticating: aad, into: out) }
        }
    }

    /// base_nonce XOR I2OSP(seq, 12), on the stack, wiped after use.
    static func withNonce<R>(_ base: SecureBytes, seq: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var n: (UInt64, UInt32) = (0, 0)
        return try withUnsafeMutableBytes(of: &n) { buf in
            defer { OPENSSL_cleanse(buf.baseAddress, buf.count) }
            base.withUnsafeBytes { buf.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<AES.GCM.nonceByteCount])) }
            for i in 0..<8 { buf[11 - i] ^= UInt8(truncatingIfNeeded: seq >> (8 * UInt64(i))) }
            return try body(UnsafeRawBufferPointer(rebasing: buf[0..<AES.GCM.nonceByteCount]))
        }
    }
}

extension HPKE.Sender {
    /// Takes the next `count` sequence numbers for a `SealingRange` (see there for why).
    public mutating func reserve(_ count: Int) throws -> HPKE.SealingRange {
        let start = context.sequenceNumber
        guard count >= 0, UInt64(count) < UInt64.max - start else { throw CryptoError.messageLimitReached }
        try context.advance(by: UInt64(count))
        return HPKE.SealingRange(schedule: context.schedule, sequenceNumbers: start..<(start + UInt64(count)))
    }
}

extension HPKE.Recipient {
    /// An opener for one thread; it opens any sequence number (opening cannot reuse a nonce).
    public func makeOpener() throws -> HPKE.MessageOpener { try HPKE.MessageOpener(context.schedule) }
}
