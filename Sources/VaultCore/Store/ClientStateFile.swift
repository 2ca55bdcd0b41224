import Foundation
import VaultCrypto

/// The client's per-vault state file (`vaults/<vault id>.state`): one line per fact, fields
/// separated by tabs, with `%XX` escapes for `%`, tab, newline, carriage return and comma, and
/// the log's size on the last line.
///
/// Why not JSON: the file holds the latest record of every object (a round of a thousand
/// evaluators has two thousand), and every command reads it and writes it whole. Parsing it into
/// a generic JSON tree and writing it back canonically took a fifth of a reveal; a fixed line per
/// record is read and written in a few milliseconds. It is the client's own file (mode 0600 in a
/// 0700 folder) and never leaves the machine, so no other program needs to read it; it is still
/// plain text a person can inspect. The size is last so that a save can compare sizes by reading
/// the file's final bytes (what a client has seen only ever grows).
///
/// ```
/// evalvault-client-state/2
/// vault	<id>
/// root	<hex>
/// policy_version	<n>
/// checkpoint_size	<n>
/// chair	=<id>                 (optional fields are empty when absent, else "=" and the value)
/// chair_key	=<base64>
/// checkpoint	=<escaped note>
/// identity_key_commitment	=<hex>
/// checked	<principal>	<hex>      (one per verified principal signature)
/// head	<kind>	<id>	<sha256>	<version>	<role>	<ed25519>	<enabled>	<state>	<round>	<digest>	<count>	<evaluator>	<signature>	<holders>	<threshold>	<panel>
/// size	<n>
/// ```
enum ClientStateFile {
    static let magic = "evalvault-client-state/2"

    // MARK: Writing

    static func encode(_ s: LogState) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + s.heads.count * 320)
        func line(_ fields: [String]) {
            for (i, f) in fields.enumerated() {
                if i > 0 { out.append(0x09) }
                escape(f, into: &out)
            }
            out.append(0x0A)
        }
        out += Array(magic.utf8); out.append(0x0A)
        line(["vault", s.vaultID])
        line(["root", Hex.encode(s.root)])
        line(["policy_version", String(s.policyVersion)])
        line(["checkpoint_size", String(s.checkpointSize)])
        // Optional values are written with a leading "=" (escaped as a whole), so "absent" and
        // "present but empty" stay apart.
        lineOptional("chair", s.chairID, into: &out)
        lineOptional("chair_key", s.chairKey.map { Base64.encode($0.rawRepresentation) }, into: &out)
        lineOptional("checkpoint", s.checkpointNote, into: &out)
        lineOptional("identity_key_commitment", s.identityKeyCommitment, into: &out)
        for pid in s.checkedSignatures.keys.sorted() { line(["checked", pid, s.checkedSignatures[pid]!]) }
        for key in s.heads.keys.sorted() {
            let h = s.heads[key]!
            out += Array("head\t".utf8)
            escape(h.kind.rawValue, into: &out); out.append(0x09)
            escape(h.id, into: &out); out.append(0x09)
            escape(h.sha256, into: &out)
            for f in [h.version.map(String.init), h.role, h.ed25519, h.enabled.map { $0 ? "1" : "0" }, h.state, h.round, h.digest,
                      h.count.map(String.init), h.evaluator, h.signature, h.holders.map(list), h.threshold.map(String.init),
                      h.panel.map(list)] {
                out.append(0x09)
                if let f { out.append(UInt8(ascii: "=")); escape(f, into: &out) }
            }
            out.append(0x0A)
        }
        line(["size", String(s.size)])
        return out
    }

    private static func lineOptional(_ name: String, _ value: String?, into out: inout [UInt8]) {
        out += Array(name.utf8); out.append(0x09)
        if let value { out.append(UInt8(ascii: "=")); escape(value, into: &out) }
        out.append(0x0A)
    }

    /// A list's elements joined by commas, each element's own commas escaped.
    private static func list(_ items: [String]) -> String {
        items.map { $0.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: ",", with: "%2C") }.joined(separator: ",")
    }

    private static func escape(_ s: String, into out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case 0x25: out += [0x25, 0x32, 0x35]  // %25
            case 0x09: out += [0x25, 0x30, 0x39]  // %09
            case 0x0A: out += [0x25, 0x30, 0x41]  // %0A
            case 0x0D: out += [0x25, 0x30, 0x44]  // %0D
            default: out.append(b)
            }
        }
    }

    // MARK: Reading

    /// Parses a state file; any deviation from the format is `bad` (the caller names the file).
    static func decode(_ bytes: [UInt8], bad: VaultError) throws -> LogState {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        guard lines.last?.isEmpty == true else { throw bad }  // ends with a newline
        lines.removeLast()
        guard lines.count >= 10, String(decoding: lines[0], as: UTF8.self) == magic else { throw bad }

        func fields(_ line: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] { line.split(separator: 0x09, omittingEmptySubsequences: false) }
        func text(_ f: ArraySlice<UInt8>) throws -> String {
            guard f.contains(0x25) else {
                guard let s = String(validating: f, as: UTF8.self) else { throw bad }
                return s
            }
            var out: [UInt8] = []
            out.reserveCapacity(f.count)
            var i = f.startIndex
            while i < f.endIndex {
                if f[i] == 0x25 {
                    guard i + 2 < f.endIndex, let hi = hexValue(f[i + 1]), let lo = hexValue(f[i + 2]) else { throw bad }
                    out.append(hi << 4 | lo); i += 3
                } else { out.append(f[i]); i += 1 }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw bad }
            return s
        }
        func optional(_ f: ArraySlice<UInt8>) throws -> String? {
            guard let first = f.first else { return nil }
            guard first == UInt8(ascii: "=") else { throw bad }
            return try text(f.dropFirst())
        }
        func integer(_ s: String?) throws -> Int? {
            guard let s else { return nil }
            guard let n = Int(s), n >= 0 else { throw bad }
            return n
        }
        func named(_ index: Int, _ name: String) throws -> ArraySlice<UInt8> {
            let f = fields(lines[index])
            guard f.count == 2, String(decoding: f[0], as: UTF8.self) == name else { throw bad }
            return f[1]
        }

        var s = LogState(vaultID: try text(try named(1, "vault")))
        guard let root = Hex.decode(try text(try named(2, "root"))), root.count == 32 else { throw bad }
        s.root = root
        guard let pv = try integer(try text(try named(3, "policy_version"))),
              let cps = try integer(try text(try named(4, "checkpoint_size"))) else { throw bad }
        s.policyVersion = pv
        s.checkpointSize = cps
        s.chairID = try optional(try named(5, "chair"))
        if let key = try optional(try named(6, "chair_key")) {
            guard let raw = Base64.decode(key), let k = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { throw bad }
            s.chairKey = k
        }
        s.checkpointNote = try optional(try named(7, "checkpoint"))
        s.identityKeyCommitment = try optional(try named(8, "identity_key_commitment"))
        guard let size = try integer(try text(try named(lines.count - 1, "size"))) else { throw bad }
        s.size = size

        for index in 9..<(lines.count - 1) {
            let f = fields(lines[index])
            switch String(decoding: f[0], as: UTF8.self) {
            case "checked":
                guard f.count == 3 else { throw bad }
                s.checkedSignatures[try text(f[1])] = try text(f[2])
            case "head":
                guard f.count == 17, let kind = ObjectRecord.Kind(rawValue: try text(f[1])) else { throw bad }
                let sha = try text(f[3])
                guard sha.isEmpty || (sha.utf8.count == 64 && Hex.decode(sha) != nil) else { throw bad }
                var o = ObjectRecord(kind: kind, id: try text(f[2]), sha256: nil)
                o.sha256 = sha
                o.version = try integer(try optional(f[4]))
                o.role = try optional(f[5])
                o.ed25519 = try optional(f[6])
                switch try optional(f[7]) {
                case nil: o.enabled = nil
                case "1": o.enabled = true
                case "0": o.enabled = false
                default: throw bad
                }
                o.state = try optional(f[8])
                o.round = try optional(f[9])
                o.digest = try optional(f[10])
                o.count = try integer(try optional(f[11]))
                o.evaluator = try optional(f[12])
                o.signature = try optional(f[13])
                o.holders = try optional(f[14]).map(unlist)
                o.threshold = try integer(try optional(f[15]))
                o.panel = try optional(f[16]).map(unlist)
                guard s.heads.updateValue(o, forKey: o.key) == nil else { throw bad }
            default:
                throw bad
            }
        }
        return s
    }

    private static func unlist(_ s: String) -> [String] {
        guard !s.isEmpty else { return [] }
        return s.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "%2C", with: ",").replacingOccurrences(of: "%25", with: "%")
        }
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x37
        case 0x61...0x66: b - 0x57
        default: nil
        }
    }

    /// The size on the file's last line, from its final bytes, or nil if they do not read that way.
    static func trailingSize(_ tail: [UInt8]) -> Int? {
        guard tail.last == 0x0A else { return nil }
        let body = tail.dropLast()
        guard let start = body.lastIndex(of: 0x0A) else { return nil }
        let line = String(decoding: body[(start + 1)...], as: UTF8.self)
        guard line.hasPrefix("size\t"), let n = Int(line.dropFirst(5)), n >= 0 else { return nil }
        return n
    }
}
