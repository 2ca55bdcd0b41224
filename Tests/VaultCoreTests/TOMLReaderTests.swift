import Foundation
import TestSupport
import Testing
@testable import VaultCore

/// The round files' own TOML reader: what it accepts, keeps and refuses, and that the round
/// files read exactly as they did under the general TOML library it replaced.
@Suite("TOML reader")
struct TOMLReaderTests {
    static func read(_ text: String) throws -> TOMLTable { try TOMLReader.parse(text, file: "f.toml") }

    /// One round file with the given criterion, otherwise minimal.
    static func round(weight: String = "1", min: String = "0", max: String = "10", step: String = "1") -> String {
        """
        id = "R"
        teams = ["a"]
        [reveal]
        holders = ["chair"]
        threshold = 1
        [[criteria]]
        id = "c"
        weight = \(weight)
        min = \(min)
        max = \(max)
        step = \(step)
        """
    }

    @Test("a 12-integer-digit and a 6-fraction-digit value round-trip exactly, through the reader and a round file")
    func exactDecimals() throws {
        let t = try Self.read("max = 999999999999\nstep = 0.000001\nweight = 12.345678\nmin = -999999999999.999999\nlow = 0.1\n")
        for (key, micros) in [("max", Int64(999_999_999_999_000_000)), ("step", 1), ("weight", 12_345_678),
                              ("min", -999_999_999_999_999_999), ("low", 100_000)] {
            let value = try #require(t[key])
            let fixed = try #require(value.fixed, "\(key)")
            #expect(fixed.micros == micros, "\(key)")
            #expect(fixed.description == value.text, "\(key): \(fixed) printed back, \(value.text) written")
        }
        #expect(t["max"]?.integer == 999_999_999_999 && t["step"]?.integer == nil)

        let config = try RoundFile.parse(Self.round(weight: "12.345678", min: "0", max: "999999999999", step: "0.000001"), file: "r.toml")
        let c = try #require(config.criteria.first)
        #expect(c.weight.description == "12.345678" && c.max.description == "999999999999" && c.step.description == "0.000001")
        #expect(c.weight.micros == 12_345_678 && c.max.micros == 999_999_999_999_000_000 && c.step.micros == 1)
        #expect(c.stepCount == 999_999_999_999_000_000)
        #expect(try c.units(of: Fixed("0.000001")!) == 1 && (try c.units(of: Fixed("999999999999")!)) == 999_999_999_999_000_000)
        #expect(c.criterionJSON == ["weight": "12.345678", "min": "0", "max": "999999999999", "step": "0.000001"])
    }

    @Test("the exact values survive a round stored in a vault, signed and read back")
    func exactDecimalsStored() throws {
        let f = try RoundFixture()
        let config = try RoundFile.parse(Self.round(weight: "12.345678", min: "-999999999999", max: "999999999999", step: "0.000001")
            .replacingOccurrences(of: "teams = [\"a\"]", with: "teams = [\"upstage\"]"), file: "r.toml")
        try f.vault.createRound(config, actor: try f.actor("chair"))
        let stored = try f.vault.round("R", verifiedWith: try f.actor("chair").chairKey)
        #expect(stored.config == config)
        #expect(stored.config.criteria.first?.step.description == "0.000001" && stored.config.criteria.first?.min.description == "-999999999999")
    }

    @Test("what round files use, and the keys that are coming, read with their text and position")
    func accepted() throws {
        let text = """
            \u{FEFF}# a comment, then a blank line

            programme = "AI Champions"   # trailing comment
            mode = 'tally'
            "quoted key" = "a\\tb \\u00e9 \\U0001F600 \\"q\\" \\\\ \\b\\f\\n\\r"
            'literal key' = 'C:\\no\\escapes'
            enabled = true
            off = false
            count = 1_000
            signed = +5
            negative = -0.25
            empty = []
            [teams]
            upstage = "Upstage"
            lg-ai-research = "LG AI Research"
            "3" = "Three"
            [[publish]]
            stat = "mean"
            by = ["team"]
            precision = 2
            [[ "spaced" ]]
            [[publish]]
            stat = "trimmed_mean"
            by = [
              "team",   # a comment inside a list
              # a line of comment
              "criterion",
            ]
            trim = 0.1
            advance = 4
            """
        for variant in [text, text.replacingOccurrences(of: "\n", with: "\r\n")] {
            let t = try Self.read(variant)
            #expect(t.keys == ["programme", "mode", "quoted key", "literal key", "enabled", "off", "count", "signed", "negative", "empty",
                               "teams", "publish", "spaced"])
            #expect(t["programme"]?.string == "AI Champions" && t["programme"]?.text == "\"AI Champions\"")
            #expect(t["programme"]?.position == TOMLPosition(line: 3, column: 13))
            #expect(t["mode"]?.string == "tally")
            #expect(t["quoted key"]?.string == "a\tb é 😀 \"q\" \\ \u{08}\u{0C}\n\r")
            #expect(t["literal key"]?.string == "C:\\no\\escapes")
            #expect(t["enabled"]?.boolean == true && t["off"]?.boolean == false && t["mode"]?.boolean == nil)
            #expect(t["count"]?.integer == 1000 && t["count"]?.text == "1_000" && t["count"]?.fixed == Fixed(1000))
            #expect(t["signed"]?.integer == 5 && t["negative"]?.fixed == Fixed("-0.25") && t["negative"]?.integer == nil)
            #expect(t["empty"]?.array?.isEmpty == true)

            let teams = try #require(t["teams"]?.table)
            #expect(teams.keys == ["upstage", "lg-ai-research", "3"] && teams["lg-ai-research"]?.string == "LG AI Research")
            #expect(teams.position == TOMLPosition(line: 13, column: 1) && teams["3"]?.position == TOMLPosition(line: 16, column: 7))

            let publish = try #require(t["publish"]?.tables)
            #expect(publish.count == 2)
            #expect(publish[0]["stat"]?.string == "mean" && publish[0]["by"]?.array?.compactMap(\.string) == ["team"])
            #expect(publish[0]["precision"]?.integer == 2 && publish[0].position == TOMLPosition(line: 17, column: 1))
            #expect(publish[1]["by"]?.array?.compactMap(\.string) == ["team", "criterion"])
            #expect(publish[1]["by"]?.array?.map(\.position.line) == [25, 27])
            #expect(publish[1]["trim"]?.fixed == Fixed("0.1") && publish[1]["trim"]?.text == "0.1" && publish[1]["advance"]?.integer == 4)
            #expect(t["spaced"]?.tables?.count == 1 && t["spaced"]?.tables?.first?.entries.isEmpty == true)
        }
    }

    @Test("each construct outside the subset is refused with file:line:column", arguments: [
        ("a.b = 1\n", "f.toml:1:2: dotted keys are not used in round files"),
        ("[a.b]\n", "f.toml:1:3: dotted keys are not used in round files"),
        ("x = 1\nx = 2\n", "f.toml:2:1: x is defined twice (first at line 1)"),
        ("x = 1\n\"x\" = 2\n", "f.toml:2:1: x is defined twice (first at line 1)"),
        ("[t]\nx = 1\n  x = 2\n", "f.toml:3:3: x is defined twice in this table (first at line 2)"),
        ("[[t]]\nx = 1\n[[t]]\nx = 2\nx = 3\n", "f.toml:5:1: x is defined twice in this table (first at line 4)"),
        ("[t]\n[t]\n", "f.toml:2:1: table [t] is defined twice (first at line 1)"),
        ("t = 1\n[t]\n", "f.toml:2:1: [t] clashes with the key t at line 1"),
        ("[t]\n[[t]]\n", "f.toml:2:1: [[t]] clashes with [t] at line 1"),
        ("[[t]]\n[t]\n", "f.toml:2:1: [t] clashes with [[t]] at line 1"),
        ("x = [\"a\", 1]\n", "f.toml:1:11: a list holds one kind of value (this is a number, the first is a string)"),
        ("x = [1, 2.5, true]\n", "f.toml:1:14: a list holds one kind of value (this is true or false, the first is a number)"),
        ("x = [[1]]\n", "f.toml:1:6: lists of lists are not used in round files"),
        ("x = {a = 1}\n", "f.toml:1:5: inline tables are not used in round files"),
        ("x = 1e3\n", "f.toml:1:5: exponents are not used in round files"),
        ("x = 1.5E-3\n", "f.toml:1:5: exponents are not used in round files"),
        ("x = inf\n", "f.toml:1:5: inf and nan are not numbers a round file can use"),
        ("x = -nan\n", "f.toml:1:5: inf and nan are not numbers a round file can use"),
        ("x = +inf\n", "f.toml:1:5: inf and nan are not numbers a round file can use"),
        ("d = 1979-05-27\n", "f.toml:1:5: dates and times are not used in round files"),
        ("d = 1979-05-27T07:32:00Z\n", "f.toml:1:5: dates and times are not used in round files"),
        ("t = 07:32:00\n", "f.toml:1:5: dates and times are not used in round files"),
        ("x = 0x1f\n", "f.toml:1:5: hex, octal and binary numbers are not used in round files"),
        ("x = 0b1\n", "f.toml:1:5: hex, octal and binary numbers are not used in round files"),
        ("x = 01\n", "f.toml:1:5: leading zeros are not allowed"),
        ("x = -00.5\n", "f.toml:1:5: leading zeros are not allowed"),
        ("x = 1_\n", "f.toml:1:6: '_' must stand between digits"),
        ("x = 1__0\n", "f.toml:1:6: '_' must stand between digits"),
        ("x = 1.\n", "f.toml:1:7: a decimal needs digits after the point"),
        ("x = 1.2.3\n", "f.toml:1:8: unexpected character in a number"),
        ("x = 12abc\n", "f.toml:1:7: unexpected character in a number"),
        ("x = .5\n", "f.toml:1:5: expected a value"),
        ("x = -\n", "f.toml:1:6: expected a digit"),
        ("x = 1234567890123\n", "f.toml:1:5: a number may have at most 12 digits before the point"),
        ("x = 9223372036854775807\n", "f.toml:1:5: a number may have at most 12 digits before the point"),
        ("x = 0.1234567\n", "f.toml:1:5: a number may have at most 6 digits after the point"),
        ("x = \"\"\"a\"\"\"\n", "f.toml:1:5: multi-line strings are not used in round files"),
        ("x = '''a'''\n", "f.toml:1:5: multi-line strings are not used in round files"),
        ("x = \"abc\n", "f.toml:1:9: unterminated string"),
        ("x = 'abc", "f.toml:1:9: unterminated string"),
        ("x = \"a\\qb\"\n", "f.toml:1:7: unknown escape in a string"),
        ("x = \"\\u12\"\n", "f.toml:1:6: \\u needs 4 hex digits"),
        ("x = \"\\U0000004\"\n", "f.toml:1:6: \\U needs 8 hex digits"),
        ("x = \"\\uD800\"\n", "f.toml:1:6: the escape is not a Unicode scalar value"),
        ("x = \"\\UFFFFFFFF\"\n", "f.toml:1:6: the escape is not a Unicode scalar value"),
        ("x = \"a\u{01}b\"\n", "f.toml:1:7: control character in a string"),
        ("x = 'a\u{7F}b'\n", "f.toml:1:7: control character in a string"),
        ("# bell \u{07}\n", "f.toml:1:8: control character in a comment"),
        ("x = 1 2\n", "f.toml:1:7: unexpected text after the value (one key = value per line)"),
        ("x = \"é\" y\n", "f.toml:1:9: unexpected text after the value"),
        ("x = [1 2]\n", "f.toml:1:8: expected ',' or ']' in a list"),
        ("x = [1, 2", "f.toml:1:10: expected ',' or ']' in a list"),
        ("x = [1,\n", "f.toml:2:1: expected a value"),
        ("x = [,]\n", "f.toml:1:6: expected a value"),
        ("x = \n", "f.toml:1:5: expected a value"),
        ("x =", "f.toml:1:4: expected a value"),
        ("x = upstage\n", "f.toml:1:5: expected a value (text needs quotes: \"like this\")"),
        ("x = True\n", "f.toml:1:5: expected a value (text needs quotes"),
        ("x\n", "f.toml:1:2: expected '=' after the key"),
        ("= 1\n", "f.toml:1:1: expected a key"),
        ("é = 1\n", "f.toml:1:1: expected a key"),
        ("\"\"\"k\"\"\" = 1\n", "f.toml:1:1: expected a key"),
        ("[a\n", "f.toml:1:3: expected ']' to close the table header"),
        ("[[a]\n", "f.toml:1:5: expected ']]' to close the table header"),
        ("[[a] ]\n", "f.toml:1:5: expected ']]' to close the table header"),
        ("[a] x\n", "f.toml:1:5: unexpected text after the table header"),
        ("x = 1\r\ny = 2\r", "f.toml:2:6: a carriage return must be followed by a line feed"),
        ("x = 1\ry = 2\n", "f.toml:1:6: a carriage return must be followed by a line feed"),
    ])
    func refused(text: String, expected: String) {
        let e = #expect(throws: VaultError.self) { try Self.read(text) }
        #expect(e?.exitStatus == .dataError)
        #expect(e?.message.hasPrefix(expected) == true, "\(text.debugDescription): \(e?.message ?? "")")
    }

    @Test("files over 1 MiB are refused, whether given as text or read from a path (even an endless one)")
    func size() throws {
        let big = "# " + String(repeating: "x", count: TOMLReader.maxBytes) + "\n"
        let e = #expect(throws: VaultError.self) { try RoundFile.parse(big, file: "big.toml") }
        #expect(e?.message.hasPrefix("big.toml: a round file may be at most 1 MiB") == true, "\(e?.message ?? "")")
        let dir = TemporaryFolder()
        try Data(big.utf8).write(to: URL(fileURLWithPath: dir.path + "/big.toml"))
        let f = #expect(throws: VaultError.self) { try RoundFile.load(path: dir.path + "/big.toml") }
        #expect(f?.exitStatus == .dataError && f?.message == "round file \(dir.path)/big.toml is larger than 1 MiB; refusing to read it", "\(f?.message ?? "")")
        if FileManager.default.fileExists(atPath: "/dev/zero") {
            let z = #expect(throws: VaultError.self) { try RoundFile.load(path: "/dev/zero") }
            #expect(z?.message == "round file /dev/zero is larger than 1 MiB; refusing to read it")
        }
        let m = #expect(throws: VaultError.self) { try RoundFile.load(path: dir.path + "/missing.toml") }
        #expect(m?.exitStatus == .noInput)
        // Just under the limit is read, and quickly: one long line of list items.
        let items = (0..<60_000).map { "\"t\($0)\"" }.joined(separator: ",")
        let t = try Self.read("x = [\(items)]\n")
        let lastColumn = 6 + (0..<59_999).reduce(0) { $0 + "\"t\($1)\",".utf8.count }
        #expect(t["x"]?.array?.count == 60_000 && t["x"]?.array?.last?.position == TOMLPosition(line: 1, column: lastColumn))
    }

    @Test("Examples/round-1.toml and round-2.toml (the demo's rounds) read to the same definitions as before, plus their declared reveals, programme and team names")
    func exampleRounds() throws {
        func c(_ id: String, _ title: String, _ weight: Int, _ min: Int, _ max: Int, _ step: String) -> Criterion {
            Criterion(id: id, title: title, weight: Fixed(weight), min: Fixed(min), max: Fixed(max), step: Fixed(step)!)
        }
        let holders = try ["chair", "cm-1", "cm-2"].map { try PrincipalID($0) }
        let names = ["naver-cloud": "Naver Cloud", "upstage": "Upstage", "sk-telecom": "SK Telecom", "nc-ai": "NC AI", "lg-ai-research": "LG AI Research"]
        let round1 = RoundConfig(id: "2025-R1", title: "First evaluation",
                                 teams: ["naver-cloud", "upstage", "sk-telecom", "nc-ai", "lg-ai-research"],
                                 criteria: [c("performance", "Benchmark performance", 40, 0, 100, "0.5"),
                                            c("efficiency", "Compute efficiency", 25, 0, 100, "1"),
                                            c("safety", "Safety evaluation", 20, 0, 10, "0.5"),
                                            c("openness", "Open-weight and documentation", 15, 1, 5, "1")],
                                 reveal: RevealRule(holders: holders, threshold: 2),
                                 publish: [DeclaredReveal(stat: .rank, by: ["team"], advance: 4), DeclaredReveal(stat: .mean, by: ["team", "criterion"])],
                                 programme: "National AI Foundation Model Programme", teamNames: names)
        let round2 = RoundConfig(id: "2025-R2", title: "Second evaluation: the moving target",
                                 teams: ["upstage", "lg-ai-research", "naver-cloud", "sk-telecom"],
                                 criteria: [c("performance", "Benchmark performance", 30, 0, 100, "0.5"),
                                            c("safety", "Safety evaluation", 35, 0, 10, "0.5"),
                                            c("agentic", "Agentic tasks", 25, 0, 100, "1"),
                                            c("efficiency", "Compute efficiency", 10, 0, 100, "1")],
                                 reveal: RevealRule(holders: holders, threshold: 2),
                                 publish: [DeclaredReveal(stat: .rank, by: ["team"], advance: 2)],
                                 programme: "National AI Foundation Model Programme", teamNames: names.filter { $0.key != "nc-ai" }, mode: .tally)
        let repo = DemoTests.repo.path
        #expect(try RoundFile.load(path: repo + "/Examples/round-1.toml") == round1)
        #expect(try RoundFile.load(path: repo + "/Examples/round-2.toml") == round2)
        #expect(try RoundFile.parse(DemoData.round1TOML, file: "r1") == round1)
        #expect(try RoundFile.parse(DemoData.round2TOML, file: "r2") == round2)
        // The same definitions as canonical JSON, the form that is stored and signed.
        #expect(CanonicalJSON.string(round1.canonicalJSON) == #"{"criteria":[{"id":"performance","max":"100","min":"0","step":"0.5","title":"Benchmark performance","weight":"40"},{"id":"efficiency","max":"100","min":"0","step":"1","title":"Compute efficiency","weight":"25"},{"id":"safety","max":"10","min":"0","step":"0.5","title":"Safety evaluation","weight":"20"},{"id":"openness","max":"5","min":"1","step":"1","title":"Open-weight and documentation","weight":"15"}],"id":"2025-R1","programme":"National AI Foundation Model Programme","publish":[{"advance":4,"by":["team"],"precision":2,"stat":"rank"},{"by":["team","criterion"],"precision":2,"stat":"mean"}],"reveal":{"holders":["chair","cm-1","cm-2"],"threshold":2},"team_names":{"lg-ai-research":"LG AI Research","naver-cloud":"Naver Cloud","nc-ai":"NC AI","sk-telecom":"SK Telecom","upstage":"Upstage"},"teams":["naver-cloud","upstage","sk-telecom","nc-ai","lg-ai-research"],"title":"First evaluation"}"#)
        // Without a programme and team names, the definition encodes exactly as before they existed
        // (so the chair signatures on rounds stored then still verify).
        let before = RoundConfig(id: round1.id, title: round1.title, teams: round1.teams, criteria: round1.criteria, reveal: round1.reveal,
                                 publish: round1.publish)
        #expect(CanonicalJSON.string(before.canonicalJSON) == #"{"criteria":[{"id":"performance","max":"100","min":"0","step":"0.5","title":"Benchmark performance","weight":"40"},{"id":"efficiency","max":"100","min":"0","step":"1","title":"Compute efficiency","weight":"25"},{"id":"safety","max":"10","min":"0","step":"0.5","title":"Safety evaluation","weight":"20"},{"id":"openness","max":"5","min":"1","step":"1","title":"Open-weight and documentation","weight":"15"}],"id":"2025-R1","publish":[{"advance":4,"by":["team"],"precision":2,"stat":"rank"},{"by":["team","criterion"],"precision":2,"stat":"mean"}],"reveal":{"holders":["chair","cm-1","cm-2"],"threshold":2},"teams":["naver-cloud","upstage","sk-telecom","nc-ai","lg-ai-research"],"title":"First evaluation"}"#)
    }

    @Test("round-file field errors point at the value, or at the table whose key is missing", arguments: [
        ("weight = 1", "weight = \"1\"", "r.toml:8: criteria[1].weight: must be a number (found a string)"),
        ("weight = 1\n", "", "r.toml:6: criteria[1].weight: weight is missing"),
        ("threshold = 1", "threshold = 1.5", "r.toml:5: reveal.threshold: must be a whole number (found a decimal)"),
        ("threshold = 1\n", "", "r.toml:3: reveal.threshold: threshold is missing"),
        ("holders = [\"chair\"]", "holders = \"chair\"", "r.toml:4: reveal.holders: must be a list of principal ids"),
        ("teams = [\"a\"]", "teams = [\n  \"a\",\n  \"a\",\n]", "r.toml:4: teams: team \"a\" is listed twice"),
        ("teams = [\"a\"]", "teams = [\"a\", 3]", "r.toml:2:15: a list holds one kind of value"),
        ("teams = [\"a\"]", "teams = []", "r.toml:2: teams: needs at least one team"),
        ("id = \"R\"\n", "", "r.toml: id: id is missing"),
        ("[reveal]", "[reveal]\n\"odd key\" = 1", "r.toml:4: reveal.\"odd key\": unknown key"),
        ("[[criteria]]", "[criteria]", "r.toml:6: criteria: must be [[criteria]] tables, one per criterion (found a table)"),
        ("[reveal]\nholders = [\"chair\"]\nthreshold = 1\n", "reveal = 1\n", "r.toml:3: reveal: must be the table [reveal] (holders, threshold), not a whole number"),
    ])
    func fieldErrors(find: String, replace: String, expected: String) {
        let text = Self.round().replacingOccurrences(of: find, with: replace)
        let e = #expect(throws: VaultError.self) { try RoundFile.parse(text, file: "r.toml") }
        #expect(e?.message.components(separatedBy: "\n").contains { $0.hasPrefix(expected) } == true, "\(e?.message ?? "")")
    }

    @Test("mutated round files (seeded): each reads or is refused with a VaultError, never a trap or another error")
    func mutations() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let base = Array(DemoData.round1TOML.utf8)
        let alphabet = Array("[]{}\"'=.,#\n\r\t \\-+_0123456789eE:xuU".utf8)
        var accepted = 0
        for _ in 0..<3_000 {
            var bytes = base
            for _ in 0..<(1 + Int(next() % 4)) {
                let at = Int(next() % UInt64(bytes.count + 1))
                switch next() % 3 {
                case 0: if at < bytes.count { bytes.remove(at: at) }
                case 1: bytes.insert(alphabet[Int(next() % UInt64(alphabet.count))], at: at)
                default: if at < bytes.count { bytes[at] = alphabet[Int(next() % UInt64(alphabet.count))] }
                }
            }
            do {
                _ = try RoundFile.parse(String(decoding: bytes, as: UTF8.self), file: "m.toml")
                accepted += 1
            } catch let e as VaultError {
                #expect(e.exitStatus == .dataError && e.message.hasPrefix("m.toml:"), "\(e.message)")
            } catch {
                Issue.record("not a VaultError: \(error)")
            }
        }
        #expect(accepted > 0)
    }
}

extension Criterion {
    /// The decimals as they are stored (canonical JSON strings).
    var criterionJSON: [String: String] {
        ["weight": weight.description, "min": min.description, "max": max.description, "step": step.description]
    }
}
