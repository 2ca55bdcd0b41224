import Foundation
import TOMLKit

/// Loads a round file (TOML, design: Command line) and validates every field, with errors located as
/// `file:line: key: message`. TOMLKit reports syntax errors with their position; for the
/// checks made after parsing, the line is found by scanning the file for the key.
public enum RoundFile {
    public static func load(path: String) throws -> RoundConfig {
        let bytes = try Files.read(path, what: "round file")
        guard let text = String(validating: bytes, as: UTF8.self) else { throw VaultError.invalidData("\(path) is not UTF-8 text") }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> RoundConfig {
        try TOMLSubset.check(text, file: file)
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw VaultError.invalidData("\(file):\(e.source.begin.line):\(e.source.begin.column): \(e.description)")
        } catch {
            throw VaultError.invalidData("\(file): not a TOML file")
        }
        var v = Validator(file: file, lines: text.components(separatedBy: "\n"))
        let config = v.validate(table)
        if !v.errors.isEmpty { throw VaultError.invalidData(v.errors.joined(separator: "\n")) }
        return config!
    }

    struct Validator {
        let file: String
        let lines: [String]
        var errors: [String] = []

        /// Reports at the line of `key` inside the table `section` (nil: top level; "criteria#2":
        /// the second [[criteria]]), or at the section header, or with the key path alone.
        mutating func report(_ path: String, section: String?, key: String?, _ message: String) {
            let line = locate(section: section, key: key)
            errors.append("\(file):\(line.map { "\($0):" } ?? "") \(path): \(message)")
        }

        func locate(section: String?, key: String?) -> Int? {
            var current: String? = nil
            var counts: [String: Int] = [:]
            var headerLine: Int?
            for (i, raw) in lines.enumerated() {
                let l = raw.trimmingCharacters(in: .whitespaces)
                if l.hasPrefix("[[") , let end = l.range(of: "]]") {
                    let name = String(l[l.index(l.startIndex, offsetBy: 2)..<end.lowerBound]).trimmingCharacters(in: .whitespaces)
                    counts[name, default: 0] += 1
                    current = "\(name)#\(counts[name]!)"
                } else if l.hasPrefix("["), let end = l.firstIndex(of: "]") {
                    current = String(l[l.index(after: l.startIndex)..<end]).trimmingCharacters(in: .whitespaces)
                } else if let key, current == section, l.hasPrefix(key), l.dropFirst(key.count).trimmingCharacters(in: .whitespaces).hasPrefix("=") {
                    return i + 1
                }
                if current == section, headerLine == nil, section != nil, l.hasPrefix("[") { headerLine = i + 1 }
            }
            return headerLine
        }

        mutating func string(_ t: TOMLTable, _ key: String, path: String, section: String?, required: Bool = true) -> String? {
            guard let value = t[key] else {
                if required { report(path, section: section, key: nil, "\(key) is missing") }
                return nil
            }
            guard let s = value.string else { report(path, section: section, key: key, "must be a string"); return nil }
            return s
        }

        mutating func decimal(_ t: TOMLTable, _ key: String, path: String, section: String?) -> Fixed? {
            guard let value = t[key] else { report(path, section: section, key: nil, "\(key) is missing"); return nil }
            if let i = value.int, let f = Fixed(exactly: i) { return f }
            if let d = value.double, let f = Fixed(double: d) { return f }
            report(path, section: section, key: key, "must be a number with at most \(Fixed.fractionDigits) decimal places")
            return nil
        }

        mutating func validate(_ t: TOMLTable) -> RoundConfig? {
            for key in t.keys where !["id", "title", "teams", "reveal", "criteria"].contains(key) {
                report(key, section: nil, key: key, "unknown key (expected id, title, teams, [reveal], [[criteria]])")
            }
            let id = string(t, "id", path: "id", section: nil)
            if let id, !Identifier.isValid(id) { report("id", section: nil, key: "id", "\"\(id)\" is not a valid round id (letters, digits, '-', '_', '.')") }
            let title = string(t, "title", path: "title", section: nil, required: false) ?? id ?? ""

            var teams: [String] = []
            if let arr = t["teams"]?.array {
                for (i, v) in arr.enumerated() {
                    guard let s = v.string, Identifier.isValid(s) else { report("teams[\(i + 1)]", section: nil, key: "teams", "must be a team id (letters, digits, '-', '_', '.')"); continue }
                    if teams.contains(s) { report("teams", section: nil, key: "teams", "team \"\(s)\" is listed twice") }
                    teams.append(s)
                }
                if arr.count == 0 { report("teams", section: nil, key: "teams", "needs at least one team") }
            } else {
                report("teams", section: nil, key: t["teams"] == nil ? nil : "teams", t["teams"] == nil ? "teams is missing" : "must be a list of team ids")
            }

            var holders: [PrincipalID] = []
            var threshold = 0
            if let r = t["reveal"]?.table {
                for key in r.keys where !["holders", "threshold"].contains(key) { report("reveal.\(key)", section: "reveal", key: key, "unknown key") }
                if let arr = r["holders"]?.array {
                    for (i, v) in arr.enumerated() {
                        guard let s = v.string, let pid = try? PrincipalID(s) else { report("reveal.holders[\(i + 1)]", section: "reveal", key: "holders", "must be a principal id"); continue }
                        if holders.contains(pid) { report("reveal.holders", section: "reveal", key: "holders", "holder \(pid) is listed twice") }
                        holders.append(pid)
                    }
                    if arr.count == 0 { report("reveal.holders", section: "reveal", key: "holders", "needs at least one holder") }
                } else {
                    report("reveal.holders", section: "reveal", key: nil, "holders is missing or not a list")
                }
                if let k = r["threshold"]?.int {
                    threshold = k
                    if k < 1 { report("reveal.threshold", section: "reveal", key: "threshold", "must be at least 1") }
                    else if !holders.isEmpty && k > holders.count { report("reveal.threshold", section: "reveal", key: "threshold", "is \(k) but there are only \(holders.count) holders") }
                } else {
                    report("reveal.threshold", section: "reveal", key: r["threshold"] == nil ? nil : "threshold", "threshold is missing or not a whole number")
                }
            } else {
                report("reveal", section: nil, key: nil, "the [reveal] table (holders, threshold) is missing")
            }

            var criteria: [Criterion] = []
            if let arr = t["criteria"]?.array, arr.count > 0 {
                for (i, v) in arr.enumerated() {
                    let section = "criteria#\(i + 1)"
                    let path = "criteria[\(i + 1)]"
                    guard let c = v.table else { report(path, section: section, key: nil, "must be a table"); continue }
                    for key in c.keys where !["id", "title", "weight", "min", "max", "step"].contains(key) {
                        report("\(path).\(key)", section: section, key: key, "unknown key")
                    }
                    let cid = string(c, "id", path: "\(path).id", section: section)
                    if let cid, !Identifier.isValid(cid) { report("\(path).id", section: section, key: "id", "\"\(cid)\" is not a valid criterion id") }
                    if let cid, criteria.contains(where: { $0.id == cid }) { report("\(path).id", section: section, key: "id", "criterion \"\(cid)\" is defined twice") }
                    let ctitle = string(c, "title", path: "\(path).title", section: section, required: false) ?? cid ?? ""
                    let weight = decimal(c, "weight", path: "\(path).weight", section: section)
                    let min = decimal(c, "min", path: "\(path).min", section: section)
                    let max = decimal(c, "max", path: "\(path).max", section: section)
                    let step = decimal(c, "step", path: "\(path).step", section: section)
                    if let weight, weight.micros <= 0 { report("\(path).weight", section: section, key: "weight", "must be greater than 0 (is \(weight))") }
                    if let min, let max, min >= max { report("\(path).min", section: section, key: "min", "must be less than max (\(min) ≥ \(max))") }
                    if let step, step.micros <= 0 { report("\(path).step", section: section, key: "step", "must be greater than 0 (is \(step))") }
                    if let min, let max, let step, min < max, step.micros > 0, (max.micros - min.micros) % step.micros != 0 {
                        report("\(path).step", section: section, key: "step", "\(step) does not divide the range \(min) to \(max)")
                    }
                    if let cid, let weight, let min, let max, let step {
                        criteria.append(Criterion(id: cid, title: ctitle, weight: weight, min: min, max: max, step: step))
                    }
                }
            } else {
                report("criteria", section: nil, key: nil, "at least one [[criteria]] table is needed")
            }
            guard errors.isEmpty, let id else { return nil }
            return RoundConfig(id: id, title: title, teams: teams, criteria: criteria, reveal: RevealRule(holders: holders, threshold: threshold))
        }
    }
}
