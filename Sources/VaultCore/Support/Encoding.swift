import Foundation

/// Text encodings used in files EvalVault writes (key files, exports).
public enum Base64 {
    public static func encode(_ bytes: some ContiguousBytes) -> String {
        bytes.withUnsafeBytes { Data($0).base64EncodedString() }
    }

    /// Strict standard base64 (with padding); nil on anything else.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        guard let data = Data(base64Encoded: String(text)), encode(data) == text else { return nil }
        return [UInt8](data)
    }
}

public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lower-case hex only; nil on anything else.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        func nib(_ c: UInt8) -> UInt8? {
            switch c { case 48...57: c - 48; case 97...102: c - 87; default: nil }
        }
        var i = 0
        while i < u.count {
            guard let a = nib(u[i]), let b = nib(u[i + 1]) else { return nil }
            out.append(a << 4 | b)
            i += 2
        }
        return out
    }
}

/// An unambiguous byte encoding of a record for signing and for AAD: a domain label, then each
/// field as a 4-byte big-endian length and its bytes. Why: signatures over ad-hoc concatenations
/// can be confused across fields ("ab"+"c" vs "a"+"bc"); length prefixes and a label per record
/// kind rule that out.
public struct CanonicalEncoder {
    public private(set) var bytes: [UInt8]

    public init(domain: String) {
        bytes = []
        append(domain)
    }

    public mutating func append(_ field: some ContiguousBytes) { Self.appendField(field, to: &bytes) }

    public mutating func append(_ field: String) { append(Array(field.utf8)) }

    public mutating func append(_ value: Int64) { Self.appendField(value, to: &bytes) }

    /// One field, length-prefixed, onto `out`: for hot loops that reuse a buffer (a bulk seal
    /// builds a million AADs) instead of starting a new record each time.
    public static func appendField(_ field: some ContiguousBytes, to out: inout [UInt8]) {
        field.withUnsafeBytes { b in
            let n = UInt32(b.count)
            out += [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
            out += b
        }
    }

    /// An Int64 field: length 8, then the value big-endian.
    public static func appendField(_ value: Int64, to out: inout [UInt8]) {
        out += [0, 0, 0, 8]
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: value >> (8 * (7 - i)))) }
    }

    /// A string as one field.
    public static func field(_ string: String) -> [UInt8] {
        var out: [UInt8] = []
        appendField(Array(string.utf8), to: &out)
        return out
    }
}
