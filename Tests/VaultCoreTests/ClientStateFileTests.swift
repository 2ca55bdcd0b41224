import Foundation
import Testing
import VaultCrypto
@testable import VaultCore

/// The client's state file: what is written is read back exactly (every field, escapes, absent
/// and empty kept apart), and a damaged file is refused, never half-read.
@Suite("Client state file")
struct ClientStateFileTests {
    static let bad = VaultError.invalidData("bad")

    static func sample() -> LogState {
        var s = LogState(vaultID: "0123456789abcdef0123456789abcdef")
        s.size = 2041
        s.root = (0..<32).map { UInt8($0) }
        s.policyVersion = 3
        s.checkpointSize = 2000
        s.chairID = "chair"
        s.chairKey = Curve25519.Signing.PrivateKey().publicKey
        s.checkpointNote = "evalvault/v1 0123\n2000\nq83=\n\n— chair Zm9v\n"
        s.identityKeyCommitment = String(repeating: "ab", count: 32)
        s.checkedSignatures = ["ev-1": String(repeating: "cd", count: 32), "ev%2": "x"]
        var p = ObjectRecord(kind: .principal, id: "ev-1", sha256: [UInt8](repeating: 7, count: 32))
        p.version = 2; p.role = "evaluator"; p.ed25519 = "AAAA+/=="; p.enabled = false
        var r = ObjectRecord(kind: .round, id: "2025-R1", sha256: [UInt8](repeating: 8, count: 32))
        r.state = "open"; r.holders = ["cm-1", "odd,id", "per%cent"]; r.threshold = 2; r.panel = []
        var b = ObjectRecord(kind: .batch, id: "ff00", sha256: [UInt8](repeating: 9, count: 32))
        b.round = "2025-R1"; b.digest = String(repeating: "01", count: 32); b.count = 1_000_000; b.evaluator = "ev\t1"; b.signature = ""
        let gone = ObjectRecord(kind: .wrap, id: "2025-R1/cm-1", sha256: nil)
        for o in [p, r, b, gone] { s.heads[o.key] = o }
        return s
    }

    @Test("every field survives a round trip, absent and empty kept apart")
    func roundTrip() throws {
        let s = Self.sample()
        let bytes = ClientStateFile.encode(s)
        let t = try ClientStateFile.decode(bytes, bad: Self.bad)
        #expect(t.vaultID == s.vaultID && t.size == s.size && t.root == s.root && t.policyVersion == 3 && t.checkpointSize == 2000)
        #expect(t.chairID == "chair" && t.chairKey?.rawRepresentation == s.chairKey?.rawRepresentation)
        #expect(t.checkpointNote == s.checkpointNote && t.identityKeyCommitment == s.identityKeyCommitment)
        #expect(t.checkedSignatures == s.checkedSignatures)
        #expect(t.heads == s.heads)
        #expect(t.heads["round/2025-R1"]?.panel == [] && t.heads["round/2025-R1"]?.role == nil)
        #expect(t.heads["batch/ff00"]?.signature == "" && t.heads["wrap/2025-R1/cm-1"]?.deleted == true)
        #expect(ClientStateFile.encode(t) == bytes)
        #expect(ClientStateFile.trailingSize(Array(bytes.suffix(64))) == 2041)
        // One line per record: the note's newlines and the id's tab are escaped.
        #expect(bytes.split(separator: 0x0A).count == 1 + 8 + 2 + 4 + 1)
    }

    @Test("a fresh state (no chair yet, no heads) round-trips")
    func empty() throws {
        let s = LogState(vaultID: "v")
        let t = try ClientStateFile.decode(ClientStateFile.encode(s), bad: Self.bad)
        #expect(t.vaultID == "v" && t.size == 0 && t.chairID == nil && t.chairKey == nil && t.heads.isEmpty && t.checkpointNote == nil)
    }

    @Test("damaged files are refused whole")
    func damaged() throws {
        let good = ClientStateFile.encode(Self.sample())
        let text = String(decoding: good, as: UTF8.self)
        var cases: [String: [UInt8]] = [
            "truncated": Array(good.dropLast(10)),
            "no final newline": Array(good.dropLast()),
            "other format": Array(text.replacingOccurrences(of: "client-state/2", with: "client-state/1").utf8),
            "bad escape": Array(text.replacingOccurrences(of: "%0A", with: "%0G").utf8),
            "bad hex root": Array(text.replacingOccurrences(of: "root\t00", with: "root\tzz").utf8),
            "short sha": Array(text.replacingOccurrences(of: String(repeating: "07", count: 32), with: "07").utf8),
            "bad bool": Array(text.replacingOccurrences(of: "\t=0\t", with: "\t=maybe\t").utf8),
            "negative size": Array(text.replacingOccurrences(of: "size\t2041", with: "size\t-1").utf8),
            "unknown line": Array((text + "").replacingOccurrences(of: "\nsize\t", with: "\nextra\t1\nsize\t").utf8),
            "missing field": Array(text.replacingOccurrences(of: "\t=2\t=evaluator", with: "\t=evaluator").utf8),
            "optional without =": Array(text.replacingOccurrences(of: "chair\t=chair", with: "chair\tchair").utf8),
            "invalid UTF-8": Array(text.replacingOccurrences(of: "vault\t", with: "vault\t\u{FFFD}").utf8).map { $0 == 0xEF ? 0xFF : $0 },
        ]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let head = lines.first { $0.hasPrefix("head\tprincipal") }!
        cases["duplicate head"] = Array(text.replacingOccurrences(of: head + "\n", with: head + "\n" + head + "\n").utf8)
        for (name, bytes) in cases {
            #expect(bytes != good, "\(name): the change did not apply")
            #expect(throws: VaultError.self, "\(name)") { try ClientStateFile.decode(bytes, bad: Self.bad) }
        }
    }

    @Test("a state file from a development build is named, not silently replaced")
    func developmentFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("state-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/vaults", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        chmod(dir, 0o700)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/vaults/v1.json"))
        let state = ClientState(directory: dir)
        do {
            _ = try state.load(vaultID: "v1")
            Issue.record("an old state file was ignored")
        } catch let e as VaultError {
            #expect(e.message.contains("development build"))
        }
        #expect(try state.load(vaultID: "v2") == nil)
        try state.save(Self.sample())
        #expect(try state.load(vaultID: Self.sample().vaultID)?.size == 2041)
    }
}
