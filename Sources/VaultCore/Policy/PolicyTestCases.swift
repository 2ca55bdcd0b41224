/// `policy test POLICY CASES.json` (design: Policy language): a JSON array of cases, each a request and the
/// expected decision, optionally the exact determining policy ids (as a set) and error count.
public struct PolicyTestCase: Sendable {
    public let name: String
    public let request: PolicyRequest
    public let expectAllow: Bool
    public let reasons: Set<String>?
    public let errors: Int?

    /// Parses a case file; a malformed case is reported with its index and name.
    public static func parse(_ bytes: [UInt8], file: String) throws -> [PolicyTestCase] {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch { throw VaultError.invalidData("\(file): not valid JSON (\(error))") }
        guard let items = root.arrayValue else { throw VaultError.invalidData("\(file): expected a JSON array of cases") }
        return try items.enumerated().map { index, item in
            let label = "\(file): case \(index + 1)\(item["name"]?.stringValue.map { " (\($0))" } ?? "")"
            func fail(_ why: String) -> VaultError { .invalidData("\(label): \(why)") }
            guard let obj = item.objectValue else { throw fail("not an object") }
            let known: Set<String> = ["name", "principal", "action", "resource", "context", "expect", "reasons", "errors"]
            if let extra = obj.keys.first(where: { !known.contains($0) }) { throw fail("unknown field \"\(extra)\"") }
            guard let name = obj["name"]?.stringValue else { throw fail("needs a \"name\"") }
            guard let p = obj["principal"], let id = p["id"]?.stringValue, let role = p["role"]?.stringValue else {
                throw fail("needs \"principal\": {\"id\", \"role\", \"conflicts\"}")
            }
            let conflicts = try (p["conflicts"]?.arrayValue ?? []).map { c -> String in
                guard let s = c.stringValue else { throw fail("conflicts must be strings") }
                return s
            }
            guard let action = obj["action"]?.stringValue else { throw fail("needs an \"action\"") }
            guard let expect = obj["expect"]?.stringValue, expect == "allow" || expect == "deny" else {
                throw fail("\"expect\" must be \"allow\" or \"deny\"")
            }
            func record(_ key: String) throws -> [String: PolicyValue] {
                guard let v = obj[key] else { return [:] }
                guard case .record(let r) = try Self.value(v, fail) else { throw fail("\"\(key)\" must be an object") }
                return r
            }
            let reasons = try obj["reasons"].map { r -> Set<String> in
                guard let a = r.arrayValue else { throw fail("\"reasons\" must be a list of policy ids") }
                return Set(try a.map { x -> String in
                    guard let s = x.stringValue else { throw fail("\"reasons\" must be a list of policy ids") }
                    return s
                })
            }
            let errors = try obj["errors"].map { e -> Int in
                guard let i = e.integerValue, i >= 0 else { throw fail("\"errors\" must be a count") }
                return Int(i)
            }
            return PolicyTestCase(
                name: name,
                request: PolicyRequest(principal: .init(id: id, role: role, conflicts: conflicts), action: action,
                                       resource: try record("resource"), context: try record("context")),
                expectAllow: expect == "allow", reasons: reasons, errors: errors)
        }
    }

    static func value(_ v: JSONValue, _ fail: (String) -> VaultError) throws -> PolicyValue {
        switch v {
        case .null: throw fail("null is not a policy value")
        case .bool(let b): return .bool(b)
        case .integer(let i): return .long(i)
        case .decimal(let text):
            var lexer = PolicyLexer(text)
            guard let tokens = try? lexer.tokenize(), tokens.count == 2, case .decimal(let d) = tokens[0].kind else {
                throw fail("\(text) is not a decimal with at most 4 fractional digits")
            }
            return .decimal(d)
        case .string(let s): return .string(s)
        case .array(let a): return .list(try a.map { try value($0, fail) })
        case .object(let o): return .record(try o.mapValues { try value($0, fail) })
        }
    }

    /// Runs the case; nil when it passes, else what differed.
    public func mismatch(in decision: PolicyDecision) -> String? {
        var problems: [String] = []
        if decision.allowed != expectAllow {
            problems.append("expected \(expectAllow ? "allow" : "deny"), got \(decision.allowed ? "allow" : "deny")")
        }
        if let reasons, reasons != Set(decision.determining) {
            problems.append("expected reasons [\(reasons.sorted().joined(separator: ", "))], got [\(decision.determining.joined(separator: ", "))]")
        }
        if let errors, errors != decision.errors.count {
            problems.append("expected \(errors) error(s), got \(decision.errors.count)")
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
}
