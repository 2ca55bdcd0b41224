/// An exact decimal with six fractional digits, stored as an integer count of millionths.
/// Weights, bounds, steps and scores are decimals ("0.5", "81.25"); binary floating point
/// would make "is 81.3 on the 0.1 grid?" a rounding question, so they never pass through it.
public struct Fixed: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let scale: Int64 = 1_000_000
    public static let fractionDigits = 6

    /// The value × 10^6.
    public let micros: Int64

    public init(micros: Int64) { self.micros = micros }

    /// For small constants; values read from files go through `init?(exactly:)`.
    public init(_ integer: Int) { micros = Int64(integer) * Self.scale }

    /// An integer from a file, or nil when it is beyond ±10^12 (found by fuzzing: a huge
    /// weight used to overflow here).
    public init?(exactly integer: Int) {
        guard integer.magnitude < 1_000_000_000_000 else { return nil }
        micros = Int64(integer) * Self.scale
    }

    /// Parses `-12`, `81.5`, `0.000001`. Refuses exponents, more than six fractional digits,
    /// and more than 12 integer digits (so that ×10^6, and a difference of two, fit in Int64).
    public init?(_ text: some StringProtocol) {
        var s = Substring(text)
        var negative = false
        if s.first == "-" { negative = true; s = s.dropFirst() } else if s.first == "+" { s = s.dropFirst() }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.count <= 12, whole.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        var frac = parts.count == 2 ? parts[1] : ""
        guard parts.count == 1 || !frac.isEmpty, frac.count <= Self.fractionDigits, frac.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        while frac.count < Self.fractionDigits { frac += "0" }
        guard let w = Int64(whole), let f = Int64(frac) else { return nil }
        micros = (negative ? -1 : 1) * (w * Self.scale + f)
    }

    /// From a TOML float: its shortest round-trip text ("0.1", not 0.1000000000000000055…),
    /// parsed exactly.
    public init?(double: Double) {
        guard double.isFinite else { return nil }
        var text = "\(double)"
        if text.contains("e") {
            // Swift writes very small or large doubles in exponent form; those are off any sane grid.
            guard abs(double) < 1e12, abs(double) >= 1e-6 || double == 0 else { return nil }
            text = String(format: "%.6f", double)
            guard Fixed(text).map({ Double($0.micros) / 1e6 == double }) == true else { return nil }
        }
        self.init(text)
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
