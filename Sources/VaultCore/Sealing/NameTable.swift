/// Interns names (teams, criteria) given as bytes, so a million CSV rows naming the same few
/// thousand teams cost a hash lookup each and no String. Open addressing, FNV-1a.
struct NameTable {
    private(set) var names: [[UInt8]] = []
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 64) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: -1, count: size)
        mask = size - 1
    }

    init(_ strings: [String]) {
        self.init(capacity: strings.count)
        for s in strings { var b = Array(s.utf8); _ = b.withUnsafeBytes { intern($0) }; b.removeAll() }
    }

    var count: Int { names.count }

    private static func hash(_ b: UnsafeRawBufferPointer) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in b { h = (h ^ UInt64(c)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// The index of `name`, or nil when it was never interned.
    func index(of name: UnsafeRawBufferPointer) -> Int? {
        var i = Self.hash(name) & mask
        while true {
            let s = slots[i]
            if s < 0 { return nil }
            if names[Int(s)].elementsEqual(name) { return Int(s) }
            i = (i + 1) & mask
        }
    }

    /// The index of `name`, adding it when new.
    mutating func intern(_ name: UnsafeRawBufferPointer) -> Int {
        var i = Self.hash(name) & mask
        while true {
            let s = slots[i]
            if s < 0 { break }
            if names[Int(s)].elementsEqual(name) { return Int(s) }
            i = (i + 1) & mask
        }
        slots[i] = Int32(names.count)
        names.append(Array(name))
        if names.count * 2 > slots.count { grow() }
        return names.count - 1
    }

    private mutating func grow() {
        slots = Array(repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for (n, name) in names.enumerated() {
            var i = name.withUnsafeBytes { Self.hash($0) } & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(n)
        }
    }
}
