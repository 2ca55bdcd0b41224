import Foundation
import VaultCrypto

/// The export formats of `audit export` (design: Audit log).
public enum AuditExportFormat: String, Sendable, CaseIterable {
    /// JSON Lines: header, one line per entry, the checkpoint. Verifiable offline.
    case jsonl
    /// Flat rows for a spreadsheet, with a header row. Not verifiable.
    case csv
}

public enum AuditExport {
    public static let formatName = "evalvault-audit/1"
}

extension Vault {
    /// Writes entries 0..<checkpoint.size and the checkpoint to `sink`, streaming: memory does not
    /// grow with the log. Every signer's key comes from a chair-verified principal record.
    public func writeAuditExport(format: AuditExportFormat, checkpoint: Checkpoint.Note,
                                 chairKey: Curve25519.Signing.PublicKey, to sink: ([UInt8]) throws -> Void) throws {
        let size = checkpoint.checkpoint.size
        switch format {
        case .jsonl:
            var signers: [String: JSONValue] = [:]
            for p in try allPrincipals(verifiedWith: chairKey) {
                signers[p.id.rawValue] = .string(Base64.encode(p.publicKeys.signing.rawRepresentation))
            }
            let header = JSONValue.object(["format": .string(AuditExport.formatName), "vault": .string(id), "signers": .object(signers)])
            try sink(CanonicalJSON.encode(header) + [0x0A])
            var line: [UInt8] = []
            try forEachAuditEntry(upTo: size) { entry, sig in
                // {"entry":<JCS entry>,"sig":...} is itself canonical: "entry" sorts before "sig".
                line.removeAll(keepingCapacity: true)
                line += Array(#"{"entry":"#.utf8)
                line += entry
                line += Array(#","sig":"#.utf8)
                line += sig.map { Array("\"\(Base64.encode($0))\"".utf8) } ?? Array("null".utf8)
                line += Array("}\n".utf8)
                try sink(line)
            }
            try sink(CanonicalJSON.encode(.object(["checkpoint": .string(checkpoint.text)])) + [0x0A])
        case .csv:
            let columns = ["seq", "time", "actor", "authenticated", "action", "target", "decision", "policies",
                           "policy_sha256", "outcome", "details", "sig"]
            try sink(Array((columns.joined(separator: ",") + "\r\n").utf8))
            try forEachAuditEntry(upTo: size) { entry, sig in
                guard case .object(let e) = try JSONParser.parse(entry, allowWhitespace: false) else {
                    throw VaultError.integrity("an audit entry in vault.db is not a JSON object")
                }
                func text(_ k: String) -> String {
                    switch e[k] {
                    case .string(let s): s
                    case .integer(let i): String(i)
                    case .bool(let b): b ? "true" : "false"
                    case .array(let a): a.compactMap(\.stringValue).joined(separator: ";")
                    case .some(let v): CanonicalJSON.string(v)
                    case nil: ""
                    }
                }
                // Every cell through CSV.field, the signature too: base64 may start with `+`.
                let row = columns.dropLast().map { CSV.field(text($0)) } + [CSV.field(sig.map { Base64.encode($0) } ?? "")]
                try sink(Array((row.joined(separator: ",") + "\r\n").utf8))
            }
        }
    }
}

/// CSV fields for spreadsheets: RFC 4180 quoting, and no formula injection.
///
/// Why: a spreadsheet program runs a cell that starts with `=`, `+`, `-` or `@` as a formula
/// (and after a tab or CR some do too), so text that anyone can put into the audit log — an
/// unauthenticated `policy explain --action '=HYPERLINK(…)'` lands in its `target` — would run in
/// the auditor's spreadsheet. Such a cell is written with a single quote before it, as OWASP's
/// "CSV Injection" advises: the spreadsheet shows the text and runs nothing. A plain decimal
/// number (`-12`, `-0.5`, `+3`) cannot be a formula and is left as it is, so numeric columns keep
/// their values. The JSON Lines export is never changed: it is exact, and the one to verify.
public enum CSV {
    public static func field(_ s: String) -> String {
        let text = needsNeutralising(s) ? "'" + s : s
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || text.hasPrefix(" ") || text.hasSuffix(" ") else {
            return text
        }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// True for a cell a spreadsheet could run: one that starts with `=`, `+`, `-`, `@`, a tab or
    /// a CR, unless it is a plain decimal number.
    static func needsNeutralising(_ s: String) -> Bool {
        guard let first = s.utf8.first, [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D].contains(first) else {
            return false
        }
        return !isPlainNumber(s)
    }

    /// `[+-]digits[.digits]`, nothing else.
    static func isPlainNumber(_ s: String) -> Bool {
        var u = Substring(s).utf8[...]
        if let f = u.first, f == UInt8(ascii: "+") || f == UInt8(ascii: "-") { u = u.dropFirst() }
        let parts = u.split(separator: UInt8(ascii: "."), maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy({ (48...57).contains($0) }) else { return false }
        if parts.count == 2 { return !parts[1].isEmpty && parts[1].allSatisfy { (48...57).contains($0) } }
        return true
    }
}
