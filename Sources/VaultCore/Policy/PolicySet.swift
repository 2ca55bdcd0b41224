import VaultCrypto

/// A loaded, validated policy file: the statements and the SHA-256 of the exact source text.
public struct PolicySet: Sendable {
    public let policies: [Policy]
    public let source: String
    public let fileName: String
    /// SHA-256 of the source bytes: the "policy sha-256" carried by every decision and audit entry.
    public let sha256: [UInt8]

    public var sha256Hex: String { Hex.encode(sha256) }

    /// Parses and validates `source`. A policy file that does not load changes nothing: this
    /// either returns a complete set or throws every problem found, located.
    public init(source: String, fileName: String) throws(PolicyLoadError) {
        var lexer = PolicyLexer(source)
        let tokens: [Token]
        do { tokens = try lexer.tokenize() } catch {
            throw PolicyLoadError(diagnostics: [PolicyDiagnostic(file: fileName, location: error.location, message: error.message)])
        }
        var parser = PolicyParser(tokens: tokens)
        let raw: [PolicyParser.RawPolicy]
        do { raw = try parser.parseFile() } catch {
            throw PolicyLoadError(diagnostics: [PolicyDiagnostic(file: fileName, location: error.location, message: error.message)])
        }
        var validator = PolicyValidator(file: fileName)
        var policies: [Policy] = []
        var seen: [String: SourceLocation] = [:]
        for (index, r) in raw.enumerated() {
            var names = Set<String>()
            var id = "policy\(index)"
            for a in r.annotations {
                if !names.insert(a.name).inserted { validator.report(a.location, "duplicate annotation @\(a.name)") }
                if a.name == "id" {
                    if a.value.isEmpty { validator.report(a.location, "@id must not be empty") }
                    id = a.value
                }
            }
            if let first = seen[id] {
                validator.report(r.policy.6, "duplicate policy id \"\(id)\" (first used at line \(first.line))")
            } else {
                seen[id] = r.policy.6
            }
            let (effect, principal, pLoc, action, aLoc, conditions, loc) = r.policy
            let p = Policy(id: id, effect: effect, principal: principal, action: action, conditions: conditions,
                           location: loc, principalLocation: pLoc, actionLocations: aLoc)
            validator.validate(p)
            policies.append(p)
        }
        if !validator.diagnostics.isEmpty {
            throw PolicyLoadError(diagnostics: validator.diagnostics.sorted { $0.location < $1.location })
        }
        self.policies = policies
        self.source = source
        self.fileName = fileName
        self.sha256 = SHA256.hash(data: Array(source.utf8))
        var names = Set<String>()
        var whole = false
        for p in policies { for c in p.conditions { Self.collectResourceAttributes(c.body, into: &names, whole: &whole) } }
        readsResourceAttributes = whole ? nil : names
    }

    /// The top-level `resource` attributes any statement reads (`resource.x`, `resource has x`),
    /// or nil when some statement uses `resource` as a whole. Two requests that agree on these
    /// (and on principal, action and context) get the same decision, which lets a batch of many
    /// places be decided once per distinct combination.
    public let readsResourceAttributes: Set<String>?

    static func collectResourceAttributes(_ e: PolicyExpression, into names: inout Set<String>, whole: inout Bool) {
        switch e {
        case .attribute(.variable(.resource, _), let n, _), .has(.variable(.resource, _), let n, _):
            names.insert(n)
        case .variable(.resource, _):
            whole = true
        case .literal, .variable:
            break
        case .list(let items, _):
            items.forEach { collectResourceAttributes($0, into: &names, whole: &whole) }
        case .attribute(let b, _, _), .has(let b, _, _), .not(let b, _):
            collectResourceAttributes(b, into: &names, whole: &whole)
        case .binary(_, let l, let r, _):
            collectResourceAttributes(l, into: &names, whole: &whole)
            collectResourceAttributes(r, into: &names, whole: &whole)
        case .method(let b, _, let args, _):
            collectResourceAttributes(b, into: &names, whole: &whole)
            args.forEach { collectResourceAttributes($0, into: &names, whole: &whole) }
        }
    }

    /// Decides a request (design: Policy language): any satisfied forbid denies; else any satisfied permit
    /// allows; else deny. An error inside a forbid counts as satisfied (fail closed), inside a
    /// permit as unsatisfied. The result does not depend on statement order: each statement is
    /// judged alone and the ids are reported sorted.
    public func evaluate(_ request: PolicyRequest) -> PolicyDecision {
        var traces: [PolicyTrace] = []
        var errors: [PolicyEvaluationError] = []
        for p in policies where scopeMatches(p, request) {
            let t = trace(p, request)
            traces.append(t)
            errors += t.errors.map { PolicyEvaluationError(policyID: p.id, message: $0) }
        }
        let forbids = traces.filter { $0.effect == .forbid && $0.satisfied }.map(\.id)
        let permits = traces.filter { $0.effect == .permit && $0.satisfied }.map(\.id)
        let allowed = forbids.isEmpty && !permits.isEmpty
        return PolicyDecision(allowed: allowed, determining: (allowed ? permits : forbids).sorted(),
                              errors: errors.sorted { ($0.policyID, $0.message) < ($1.policyID, $1.message) },
                              policySHA256: sha256Hex, traces: traces.sorted { $0.id < $1.id })
    }

    func scopeMatches(_ p: Policy, _ r: PolicyRequest) -> Bool {
        switch p.principal {
        case .any: break
        case .equals(let id): if r.principal.id != id { return false }
        case .inRole(let role): if r.principal.role != role { return false }
        }
        switch p.action {
        case .any: return true
        case .equals(let a): return r.action == a
        case .in(let list): return list.contains(r.action)
        }
    }

    func trace(_ p: Policy, _ r: PolicyRequest) -> PolicyTrace {
        var evaluator = PolicyEvaluator(request: r)
        var clauses: [PolicyTrace.Clause] = []
        var errors: [String] = []
        var satisfied = true
        for c in p.conditions {
            let outcome: PolicyTrace.Outcome
            do {
                let v = try evaluator.evaluateBool(c.body)
                outcome = v ? .true : .false
                if (c.kind == .when) != v { satisfied = false }
            } catch {
                outcome = .error(error.message)
                errors.append("line \(error.location.line):\(error.location.column): \(error.message)")
            }
            clauses.append(PolicyTrace.Clause(kind: c.kind, line: c.location.line, outcome: outcome))
        }
        if !errors.isEmpty { satisfied = p.effect == .forbid }
        return PolicyTrace(id: p.id, effect: p.effect, clauses: clauses, satisfied: satisfied, errors: errors)
    }
}

/// The request a decision is made on (design: Policy language's attributes).
public struct PolicyRequest: Sendable {
    public struct PrincipalAttributes: Sendable, Equatable {
        public let id: String
        public let role: String
        public let conflicts: [String]
        public init(id: String, role: String, conflicts: [String]) {
            self.id = id; self.role = role; self.conflicts = conflicts
        }
    }

    public let principal: PrincipalAttributes
    public let action: String
    /// A record; attributes that do not apply are absent (and `has` tells).
    public let resource: [String: PolicyValue]
    public let context: [String: PolicyValue]

    public init(principal: PrincipalAttributes, action: String, resource: [String: PolicyValue] = [:],
                context: [String: PolicyValue] = [:]) {
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = context
    }

    func value(of variable: PolicyVariable) -> PolicyValue {
        switch variable {
        case .principal:
            .record(["id": .string(principal.id), "role": .string(principal.role),
                     "conflicts": .list(principal.conflicts.map { .string($0) })])
        case .action: .record(["id": .string(action)])
        case .resource: .record(resource)
        case .context: .record(context)
        }
    }
}

/// The outcome of a decision, with what determined it.
public struct PolicyDecision: Sendable {
    public let allowed: Bool
    /// The satisfied permits (when allowed) or forbids (when denied); empty for a default deny.
    public let determining: [String]
    public let errors: [PolicyEvaluationError]
    public let policySHA256: String
    /// One trace per statement whose scope matched, sorted by id.
    public let traces: [PolicyTrace]
}

public struct PolicyEvaluationError: Sendable, Equatable {
    public let policyID: String
    public let message: String
}

/// How one statement fared: each clause's result and whether the statement is satisfied.
public struct PolicyTrace: Sendable {
    public enum Outcome: Sendable, Equatable { case `true`, `false`, error(String) }
    public struct Clause: Sendable {
        public let kind: ConditionKind
        public let line: Int
        public let outcome: Outcome
    }
    public let id: String
    public let effect: PolicyEffect
    public let clauses: [Clause]
    public let satisfied: Bool
    public let errors: [String]
}
