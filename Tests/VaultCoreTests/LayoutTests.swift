import Foundation
import Testing

/// One place owns storage: all SQL, and the rule "a change and its signed entry in one
/// transaction", live in `Sources/VaultCore/Store`. Feature code asks the store for typed,
/// verified objects. This test reads the sources, so a query written elsewhere fails CI.
@Suite("Code layout")
struct LayoutTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    @Test("no SQL, no SQLite and no raw transaction outside Sources/VaultCore/Store")
    func storeOwnsSQL() throws {
        let forbidden = ["prepare(", ".execute(", "database.transaction", "import CSQLite", "sqlite3_", "SELECT ", "INSERT ", "UPDATE ", "DELETE FROM"]
        var checked = 0
        var offences: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: Self.sources.path)
        while let relative = enumerator?.nextObject() as? String {
            // The benchmark runner writes SQL for its peer, SQLCipher; it never touches a vault's tables.
            guard relative.hasSuffix(".swift"), !relative.hasPrefix("VaultCore/Store/"), !relative.hasPrefix("evalvault-bench/") else { continue }
            let text = try String(contentsOf: Self.sources.appendingPathComponent(relative), encoding: .utf8)
            checked += 1
            for (n, line) in text.components(separatedBy: "\n").enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                guard !code.hasPrefix("//") else { continue }
                for f in forbidden where code.contains(f) { offences.append("\(relative):\(n + 1): \(f)") }
            }
        }
        #expect(checked > 50, "the sources were not found (\(checked) files)")
        #expect(offences.isEmpty, "\(offences.joined(separator: "\n"))")
    }
}
