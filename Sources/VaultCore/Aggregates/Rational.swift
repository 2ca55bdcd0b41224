/// An exact rational number, always reduced, denominator positive. Aggregates are computed
/// with these and rounded only when printed (design: Aggregates), so a reveal gives the same bytes every
/// time. Int128 leaves ample room (a million scores of a few hundred steps); an overflow is an
/// error, never a wrong answer.
public struct Rational: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let numerator: Int128
    public let denominator: Int128

    public struct Overflow: Error {}

    public init(_ n: Int128, _ d: Int128 = 1) throws(Overflow) {
        precondition(d != 0, "zero denominator")
        let g = Self.gcd(n.magnitude, d.magnitude)
        var n = n / Int128(g), d = d / Int128(g)
        if d < 0 { n = -n; d = -d }
        numerator = n
        denominator = d
    }

    public init(integer: Int64) { numerator = Int128(integer); denominator = 1 }

    public static let zero = Rational(integer: 0)

    static func gcd(_ a: UInt128, _ b: UInt128) -> UInt128 {
        var a = a, b = b
        while b != 0 { (a, b) = (b, a % b) }
        return a == 0 ? 1 : a
    }

    static func mul(_ a: Int128, _ b: Int128) throws(Overflow) -> Int128 {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        if o { throw Overflow() }
        return r
    }

    static func add(_ a: Int128, _ b: Int128) throws(Overflow) -> Int128 {
        let (r, o) = a.addingReportingOverflow(b)
        if o { throw Overflow() }
        return r
    }

    public func adding(_ o: Rational) throws(Overflow) -> Rational {
        let g = Int128(Self.gcd(denominator.magnitude, o.denominator.magnitude))
        let l = denominator / g
        return try Rational(try Self.add(try Self.mul(numerator, o.denominator / g), try Self.mul(o.numerator, l)),
                            try Self.mul(l, o.denominator))
    }

    public func subtracting(_ o: Rational) throws(Overflow) -> Rational {
        try adding(try Rational(-o.numerator, o.denominator))
    }

    public func multiplied(by o: Rational) throws(Overflow) -> Rational {
        let g1 = Int128(Self.gcd(numerator.magnitude, o.denominator.magnitude))
        let g2 = Int128(Self.gcd(o.numerator.magnitude, denominator.magnitude))
        return try Rational(try Self.mul(numerator / g1, o.numerator / g2), try Self.mul(denominator / g2, o.denominator / g1))
    }

    public func divided(by o: Rational) throws(Overflow) -> Rational {
        precondition(o.numerator != 0, "division by zero")
        return try multiplied(by: try Rational(o.denominator, o.numerator))
    }

    public static func < (a: Rational, b: Rational) -> Bool {
        less(a.numerator, a.denominator, b.numerator, b.denominator)
    }

    /// an/ad < bn/bd for positive denominators, without any multiplication (so no overflow):
    /// compare floor quotients, then the fractional parts through their reciprocals.
    static func less(_ an: Int128, _ ad: Int128, _ bn: Int128, _ bd: Int128) -> Bool {
        func floorDivMod(_ n: Int128, _ d: Int128) -> (Int128, Int128) {
            var q = n / d, r = n % d
            if r < 0 { q -= 1; r += d }
            return (q, r)
        }
        let (aq, ar) = floorDivMod(an, ad), (bq, br) = floorDivMod(bn, bd)
        if aq != bq { return aq < bq }
        if ar == 0 || br == 0 { return ar == 0 && br != 0 }
        return less(bd, br, ad, ar)  // ar/ad < br/bd  ⟺  bd/br < ad/ar
    }

    /// Rounded half-to-even at `places` decimals: "81.25", "7", "-0.50".
    public func decimal(places: Int) throws(Overflow) -> String {
        let n = try Self.scaled(numerator.magnitude, places: places), d = denominator.magnitude
        var q = n / d
        let r = n % d
        // Half-even: up past the half; at exactly the half, only to an even last digit.
        if r * 2 > d || (r * 2 == d && q % 2 == 1) { q += 1 }
        return (numerator < 0 && q != 0 ? "-" : "") + Self.format(q, places: places)
    }

    /// √self to `places` decimals, rounded half-even, with integers only: s = ⌊√(x·10^2p)⌋,
    /// rounded up when x·10^2p > (s + ½)², i.e. 4·x·10^2p > (2s + 1)².
    public func squareRoot(places: Int) throws(Overflow) -> String {
        precondition(numerator >= 0)
        let n = try Self.scaled(try Self.scaled(numerator.magnitude, places: places), places: places), d = denominator.magnitude
        var s = Self.isqrt(n / d)
        let (lhs, o1) = n.multipliedReportingOverflow(by: 4)
        let (sq, o2) = (2 * s + 1).multipliedReportingOverflow(by: 2 * s + 1)
        let (rhs, o3) = sq.multipliedReportingOverflow(by: d)
        if o1 || o2 || o3 { throw Overflow() }
        if lhs > rhs || (lhs == rhs && s % 2 == 1) { s += 1 }
        return Self.format(s, places: places)
    }

    static func scaled(_ v: UInt128, places: Int) throws(Overflow) -> UInt128 {
        precondition((0...9).contains(places))
        var r = v
        for _ in 0..<places {
            let (m, o) = r.multipliedReportingOverflow(by: 10)
            if o { throw Overflow() }
            r = m
        }
        return r
    }

    /// `q` (an integer count of 10^-places) as a decimal string.
    static func format(_ q: UInt128, places: Int) -> String {
        let digits = String(q)
        guard places > 0 else { return digits }
        let padded = String(repeating: "0", count: max(0, places + 1 - digits.count)) + digits
        return String(padded.dropLast(places)) + "." + String(padded.suffix(places))
    }

    static func isqrt(_ n: UInt128) -> UInt128 {
        if n < 2 { return n }
        var x = UInt128(1) << ((128 - n.leadingZeroBitCount) / 2 + 1)
        while true {
            let y = (x + n / x) / 2
            if y >= x { return x }
            x = y
        }
    }

    public var description: String { "\(numerator)/\(denominator)" }
}
