import Foundation
import Testing

/// Loads the public test vectors kept unchanged in `Tests/Vectors/` (origins in its README).
enum Vectors {
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Vectors")

    static func json(_ relativePath: String) throws -> Any {
        let url = directory.appendingPathComponent(relativePath)
        let data = try Data(contentsOf: url)
        return try JSONSerialization.jsonObject(with: data)
    }

    /// Wycheproof: every test of every group that `groupFilter` keeps, with its group.
    static func wycheproof(_ name: String, groupFilter: ([String: Any]) -> Bool = { _ in true })
        throws -> [(group: [String: Any], test: [String: Any])] {
        let root = try #require(json("wycheproof/\(name)") as? [String: Any])
        let groups = try #require(root["testGroups"] as? [[String: Any]])
        return groups.filter(groupFilter).flatMap { g in (g["tests"] as? [[String: Any]] ?? []).map { (g, $0) } }
    }
}

extension Array where Element == UInt8 {
    init(hex: String) {
        precondition(hex.count % 2 == 0, "odd hex length")
        var out: [UInt8] = []
        out.reserveCapacity(hex.count / 2)
        var it = hex.utf8.makeIterator()
        func nib(_ c: UInt8) -> UInt8 {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: preconditionFailure("bad hex digit")
            }
        }
        while let a = it.next(), let b = it.next() { out.append(nib(a) << 4 | nib(b)) }
        self = out
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

extension Dictionary where Key == String, Value == Any {
    func hex(_ key: String) -> [UInt8] { [UInt8](hex: self[key] as? String ?? "") }
    var tcID: Int { self["tcId"] as? Int ?? -1 }
    var result: String { self["result"] as? String ?? "" }
}
