/// An exact decimal with six fractional digits, stored as an integer count of millionths.
/// Weights, bounds, steps and scores are decimals ("0.5", "81.25"); binary floating point
/// would make "is 81.3 on the 0.1 grid?" a rounding question, so they never pass through it.
public struct Fixed: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let scale: Int64 = 1_000_000
    public static let fractionDigits = 6

    /// The value × 10^6.
    public let micros: Int64

    public init(micros: Int64) { self.micros = micros }

    /// For small constants; values read from files go through `init?(_ text:)`.
    public init(_ integer: Int) { micros = Int64(integer) * Self.scale }

    /// Parses `-12`, `81.5`, `0.000001`. Refuses exponents, more than six fractional digits,
    /// and more than 12 integer digits (so that ×10^6, and a difference of two, fit in Int64).
    public init?(_ text: some StringProtocol) {
        var s = String(text)
        guard let v = s.withUTF8({ Fixed(ascii: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = v
    }

    /// The same syntax read straight from bytes (a CSV field), without making a String.
    public init?(ascii p: UnsafeRawBufferPointer) {
        var i = 0
        let n = p.count
        var negative = false
        if i < n && (p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+")) { negative = p[i] == UInt8(ascii: "-"); i += 1 }
        var whole: Int64 = 0, digits = 0
        while i < n, p[i] &- 0x30 < 10 { whole = whole * 10 + Int64(p[i] &- 0x30); digits += 1; i += 1; if digits > 12 { return nil } }
        guard digits >= 1 else { return nil }
        var frac: Int64 = 0, fracDigits = 0
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, p[i] &- 0x30 < 10 { frac = frac * 10 + Int64(p[i] &- 0x30); fracDigits += 1; i += 1; if fracDigits > Self.fractionDigits { return nil } }
            guard fracDigits >= 1 else { return nil }
        }
        guard i == n else { return nil }
        for _ in fracDigits..<Self.fractionDigits { frac *= 10 }
        micros = (negative ? -1 : 1) * (whole * Self.scale + frac)
    }

    /// Shortest exact text: `81.5`, `100`, `-0.25`.
    public var description: String {
        let sign = micros < 0 ? "-" : ""
        let m = micros.magnitude
        let whole = m / UInt64(Self.scale), frac = m % UInt64(Self.scale)
        guard frac != 0 else { return sign + String(whole) }
        var f = String(frac)
        f = String(repeating: "0", count: Self.fractionDigits - f.count) + f
        while f.hasSuffix("0") { f.removeLast() }
        return "\(sign)\(whole).\(f)"
    }

    public static func < (a: Fixed, b: Fixed) -> Bool { a.micros < b.micros }
}
