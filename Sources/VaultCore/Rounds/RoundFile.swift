/// Loads a round file (TOML, design: Command line) and validates every field. The file is read
/// by `TOMLReader`, so syntax errors come as `file:line:column: message`; every value keeps its
/// position, so field errors come as `file:line: key: message` at the value (or at the table's
/// header when a key is missing). Decimals go from their source text straight into `Fixed`.
public enum RoundFile {
    public static func load(path: String) throws -> RoundConfig {
        let bytes = try Files.read(path, what: "round file", limit: TOMLReader.maxBytes)
        let name = Files.displayName(path)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw VaultError.invalidData("\(name) is not UTF-8 text") }
        return try parse(text, file: name)
    }

    public static func parse(_ text: String, file: String) throws -> RoundConfig {
        let table = try TOMLReader.parse(text, file: file)
        var v = Validator(file: file)
        let config = v.validate(table)
        guard v.errors.isEmpty, let config else {
            throw VaultError.invalidData(v.errors.isEmpty ? "\(file): not a valid round file" : v.errors.joined(separator: "\n"))
        }
        return config
    }

    struct Validator {
        let file: String
        var errors: [String] = []

        /// Reports at `position` (a value, or a table's header), or with the key path alone when
        /// there is nothing to point at (a key missing from the top level).
        mutating func report(_ path: String, at position: TOMLPosition?, _ message: String) {
            errors.append("\(file):\(position.map { "\($0.line):" } ?? "") \(path): \(message)")
        }

        mutating func unknownKeys(_ t: TOMLTable, allowed: Set<String>, path: (String) -> String, hint: String) {
            for entry in t.entries where !allowed.contains(entry.key) {
                report(path(TOMLReader.display(entry.key)), at: entry.position, hint)
            }
        }

        mutating func string(_ t: TOMLTable, _ key: String, path: String, required: Bool = true) -> String? {
            guard let value = t[key] else {
                if required { report(path, at: t.position, "\(key) is missing") }
                return nil
            }
            guard let s = value.string else { report(path, at: value.position, "must be a string"); return nil }
            return s
        }

        mutating func decimal(_ t: TOMLTable, _ key: String, path: String) -> Fixed? {
            guard let value = t[key] else { report(path, at: t.position, "\(key) is missing"); return nil }
            guard let f = value.fixed else { report(path, at: value.position, "must be a number (found \(value.kindName))"); return nil }
            return f
        }

        /// A list of distinct ids under `key`, each made by `make` (nil: not a valid id). Nil when
        /// the key is absent; then, when `missingAt` is given, "key is missing" is reported there.
        mutating func idList<T: Hashable & CustomStringConvertible>(
            _ t: TOMLTable, _ key: String, path: String, missingAt: TOMLPosition??, item: String, list: String, empty: String,
            twice: (T) -> String, make: (String) -> T?
        ) -> [T]? {
            guard let value = t[key] else {
                if let at = missingAt { report(path, at: at, "\(key) is missing") }
                return nil
            }
            guard let items = value.array else {
                report(path, at: value.position, list)
                return nil
            }
            var seen = Set<T>(), out: [T] = []
            for (i, v) in items.enumerated() {
                guard let s = v.string, let id = make(s) else {
                    report("\(path)[\(i + 1)]", at: v.position, item)
                    continue
                }
                if !seen.insert(id).inserted { report(path, at: v.position, twice(id)) }
                out.append(id)
            }
            if items.isEmpty { report(path, at: value.position, empty) }
            return out
        }

        /// A name people read (a programme, a team): 1–200 characters, no control characters,
        /// no spaces at either end. Nil (reported) when it is not.
        mutating func displayName(_ value: TOMLValue, path: String, what: String) -> String? {
            guard let s = value.string else { report(path, at: value.position, "must be \(what) (a string)"); return nil }
            guard !s.isEmpty, s.count <= 200, s.trimmingCharacters(in: .whitespaces) == s,
                  !s.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) else {
                report(path, at: value.position, "must be 1-200 characters, without control characters or spaces at either end")
                return nil
            }
            return s
        }

        /// `teams`: a list of ids, or a `[teams]` table of id = "display name", in file order.
        mutating func teamList(_ t: TOMLTable) -> (ids: [String], names: [String: String]) {
            guard let value = t["teams"], let table = value.table else {
                let ids = idList(t, "teams", path: "teams", missingAt: .some(nil), item: "must be a team id (lower-case letters, digits, '-', '_', '.')",
                                 list: "must be a list of team ids, or a [teams] table of id = \"display name\"", empty: "needs at least one team",
                                 twice: { "team \"\($0)\" is listed twice" }) { Identifier.isValidName($0) ? $0 : nil } ?? []
                return (ids, [:])
            }
            var ids: [String] = [], names: [String: String] = [:], byName: [String: String] = [:]
            for entry in table.entries {
                let key = TOMLReader.display(entry.key)
                guard Identifier.isValidName(entry.key) else {
                    report("teams.\(key)", at: entry.position, Identifier.nameProblem(entry.key, kind: "team"))
                    continue
                }
                ids.append(entry.key)
                guard let name = displayName(entry.value, path: "teams.\(key)", what: "the team's display name") else { continue }
                if let other = byName[name] {
                    report("teams.\(key)", at: entry.value.position, "\"\(name)\" is also the name of team \(other)")
                }
                byName[name] = entry.key
                names[entry.key] = name
            }
            if table.entries.isEmpty { report("teams", at: value.position, "needs at least one team") }
            return (ids, names)
        }

        mutating func validate(_ t: TOMLTable) -> RoundConfig? {
            unknownKeys(t, allowed: ["id", "title", "programme", "mode", "teams", "panel", "reveal", "criteria", "publish"], path: { $0 },
                        hint: "unknown key (expected id, title, programme, mode, teams or [teams], panel, [reveal], [[criteria]], [[publish]])")
            let id = string(t, "id", path: "id")
            if let id, !Identifier.isValid(id) { report("id", at: t["id"]?.position, "\"\(id)\" is not a valid round id (letters, digits, '-', '_', '.')") }
            let title = string(t, "title", path: "title", required: false) ?? id ?? ""
            let programme = t["programme"].flatMap { displayName($0, path: "programme", what: "the programme's name") }

            var mode = RoundMode.sealed
            if let value = t["mode"] {
                if let name = value.string, let m = RoundMode(rawValue: name) { mode = m }
                else { report("mode", at: value.position, "must be \"sealed\" (the default) or \"tally\"") }
            }

            let (teams, teamNames) = teamList(t)

            // The panel: optional; when absent, the enrolled evaluators at open.
            let panel = idList(t, "panel", path: "panel", missingAt: nil, item: "must be an evaluator's principal id",
                               list: "must be a list of evaluator ids",
                               empty: "needs at least one evaluator (or leave panel out: the enrolled evaluators at open)",
                               twice: { "\($0) is listed twice" }) { try? PrincipalID($0) }

            var holders: [PrincipalID] = []
            var threshold = 0
            if let value = t["reveal"], let r = value.table {
                unknownKeys(r, allowed: ["holders", "threshold"], path: { "reveal.\($0)" }, hint: "unknown key")
                holders = idList(r, "holders", path: "reveal.holders", missingAt: .some(r.position), item: "must be a principal id",
                                 list: "must be a list of principal ids", empty: "needs at least one holder",
                                 twice: { "holder \($0) is listed twice" }) { try? PrincipalID($0) } ?? []
                if let tv = r["threshold"] {
                    if let k = tv.integer {
                        threshold = k
                        if k < 1 { report("reveal.threshold", at: tv.position, "must be at least 1") }
                        else if !holders.isEmpty && k > holders.count { report("reveal.threshold", at: tv.position, "is \(k) but there are only \(holders.count) holders") }
                    } else {
                        report("reveal.threshold", at: tv.position, "must be a whole number (found \(tv.kindName))")
                    }
                } else {
                    report("reveal.threshold", at: r.position, "threshold is missing")
                }
            } else if let value = t["reveal"] {
                report("reveal", at: value.position, "must be the table [reveal] (holders, threshold), not \(value.kindName)")
            } else {
                report("reveal", at: nil, "the [reveal] table (holders, threshold) is missing")
            }

            var criteria: [Criterion] = []
            var seenCriteria: Set<String> = []
            if let value = t["criteria"], let list = value.tables {
                for (i, c) in list.enumerated() {
                    let path = "criteria[\(i + 1)]"
                    unknownKeys(c, allowed: ["id", "title", "weight", "min", "max", "step"], path: { "\(path).\($0)" }, hint: "unknown key")
                    let cid = string(c, "id", path: "\(path).id")
                    if let cid, !Identifier.isValidName(cid) { report("\(path).id", at: c["id"]?.position, Identifier.nameProblem(cid, kind: "criterion")) }
                    if let cid, !seenCriteria.insert(cid).inserted { report("\(path).id", at: c["id"]?.position, "criterion \"\(cid)\" is defined twice") }
                    let ctitle = string(c, "title", path: "\(path).title", required: false) ?? cid ?? ""
                    let weight = decimal(c, "weight", path: "\(path).weight")
                    let min = decimal(c, "min", path: "\(path).min")
                    let max = decimal(c, "max", path: "\(path).max")
                    let step = decimal(c, "step", path: "\(path).step")
                    if let weight, weight.micros <= 0 { report("\(path).weight", at: c["weight"]?.position, "must be greater than 0 (is \(weight))") }
                    if let min, let max, min >= max { report("\(path).min", at: c["min"]?.position, "must be less than max (\(min) ≥ \(max))") }
                    if let step, step.micros <= 0 { report("\(path).step", at: c["step"]?.position, "must be greater than 0 (is \(step))") }
                    // The reader bounds numbers to 12 whole digits, so these differences fit in Int64.
                    if let min, let max, let step, min < max, step.micros > 0, (max.micros - min.micros) % step.micros != 0 {
                        report("\(path).step", at: c["step"]?.position, "\(step) does not divide the range \(min) to \(max)")
                    }
                    // A tally round proves every score is on its grid bit by bit: 2^16 grid values
                    // at most (0–100 in steps of 0.01 is 10,001).
                    if mode == .tally, let min, let max, let step, min < max, step.micros > 0, (max.micros - min.micros) / step.micros > 65_535 {
                        report("\(path).step", at: c["step"]?.position, "gives more than 65,536 scores from \(min) to \(max); a tally round allows at most that many")
                    }
                    if let cid, let weight, let min, let max, let step {
                        criteria.append(Criterion(id: cid, title: ctitle, weight: weight, min: min, max: max, step: step))
                    }
                }
            } else if let value = t["criteria"] {
                report("criteria", at: value.position, "must be [[criteria]] tables, one per criterion (found \(value.kindName))")
            } else {
                report("criteria", at: nil, "at least one [[criteria]] table is needed")
            }
            let publish = declaredReveals(t, mode: mode)
            guard errors.isEmpty, let id else { return nil }
            return RoundConfig(id: id, title: title, teams: teams, criteria: criteria, reveal: RevealRule(holders: holders, threshold: threshold),
                               panel: panel, publish: publish, programme: programme, teamNames: teamNames, mode: mode)
        }

        /// The `[[publish]]` entries (design: Aggregates, "Declared reveals"): what the round will
        /// publish, fixed before anyone seals. Optional: a round that declares nothing can publish
        /// nothing under the default policy.
        mutating func declaredReveals(_ t: TOMLTable, mode: RoundMode) -> [DeclaredReveal] {
            guard let value = t["publish"] else { return [] }
            guard let list = value.tables else {
                report("publish", at: value.position, "must be [[publish]] tables, one per declared reveal (found \(value.kindName))")
                return []
            }
            var out: [DeclaredReveal] = []
            var firstLine: [String: Int] = [:]
            for (i, p) in list.enumerated() {
                let path = "publish[\(i + 1)]"
                let before = errors.count
                unknownKeys(p, allowed: ["stat", "by", "precision", "advance", "trim"], path: { "\(path).\($0)" },
                            hint: "unknown key (expected stat, by, precision, advance, trim)")
                var stat: Statistic?
                if let name = string(p, "stat", path: "\(path).stat") {
                    stat = Statistic(rawValue: name)
                    if stat == nil {
                        report("\(path).stat", at: p["stat"]?.position,
                               "unknown statistic \"\(name)\" (use one of \(Statistic.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                }
                var by: [String]?
                if let v = p["by"] {
                    let names = v.array?.compactMap(\.string)
                    if let names, names == ["team"] || names == ["team", "criterion"], names.count == v.array?.count {
                        by = names
                    } else {
                        report("\(path).by", at: v.position, "must be [\"team\"] or [\"team\", \"criterion\"] (never by evaluator)")
                    }
                } else {
                    report("\(path).by", at: p.position, "by is missing")
                }
                if let stat, mode == .tally, !RoundMode.tallyStatistics.contains(stat) {
                    report("\(path).stat", at: p["stat"]?.position,
                           "\(stat.rawValue) needs individual scores, which a tally round never decrypts (use count, mean, weighted_total or rank, or mode = \"sealed\")")
                }
                if let stat, stat == .weightedTotal || stat == .rank, let b = by, b != ["team"] {
                    report("\(path).by", at: p["by"]?.position, "\(stat.rawValue) is per team: by = [\"team\"]")
                }
                var precision = DeclaredReveal.defaultPrecision
                if let v = p["precision"] {
                    if let k = v.integer, (0...6).contains(k) { precision = k }
                    else { report("\(path).precision", at: v.position, "must be a whole number from 0 to 6") }
                }
                var advance: Int?
                if let v = p["advance"] {
                    if stat != nil && stat != .rank {
                        report("\(path).advance", at: v.position, "goes only with stat = \"rank\"")
                    } else if let k = v.integer, k >= 1 {
                        advance = k
                    } else {
                        report("\(path).advance", at: v.position, "must be a whole number, at least 1")
                    }
                }
                var trim: Fixed?
                if let v = p["trim"] {
                    if stat != nil && stat != .trimmedMean {
                        report("\(path).trim", at: v.position, "goes only with stat = \"trimmed_mean\"")
                    } else if let f = v.fixed, f.micros >= 0, f.micros < Fixed.scale / 2 {
                        trim = f
                    } else {
                        report("\(path).trim", at: v.position, "must be a fraction from 0 to below 0.5")
                    }
                }
                guard errors.count == before, let stat, let by else { continue }
                let d = DeclaredReveal(stat: stat, by: by, precision: precision, advance: advance, trim: trim)
                if let first = firstLine[d.description] {
                    report(path, at: p.position, "\(d.description) is declared twice (first at line \(first))")
                    continue
                }
                firstLine[d.description] = p.position?.line ?? 0
                out.append(d)
            }
            return out
        }
    }
}
