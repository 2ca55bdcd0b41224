/// Load-time checks (design: Policy language): unknown actions, roles and attributes, and the type errors that
/// can be seen without a request — comparing a string with a number, `&&` on a string,
/// `.contains` on a non-list, a string literal outside a closed set such as the roles.
struct PolicyValidator {
    typealias T = PolicySchema.ValueType
    let file: String
    var diagnostics: [PolicyDiagnostic] = []

    init(file: String) { self.file = file }

    mutating func report(_ location: SourceLocation, _ message: String) {
        diagnostics.append(PolicyDiagnostic(file: file, location: location, message: message))
    }

    mutating func validate(_ policy: Policy) {
        switch policy.principal {
        case .inRole(let r) where !PolicySchema.roles.contains(r):
            report(policy.principalLocation, "unknown role \"\(r)\" (roles: \(PolicySchema.roles.joined(separator: ", ")))")
        default: break
        }
        let actions: [String]
        switch policy.action {
        case .any: actions = []
        case .equals(let a): actions = [a]
        case .in(let list): actions = list
        }
        for (i, a) in actions.enumerated() where !PolicySchema.actions.contains(a) {
            report(policy.actionLocations[min(i, policy.actionLocations.count - 1)], "unknown action \"\(a)\"")
        }
        for c in policy.conditions {
            let t = check(c.body)
            if t != .bool && t != .unknown {
                report(c.body.location, "a '\(c.kind.rawValue)' clause must be a boolean expression, not \(t.name)")
            }
        }
    }

    /// Infers a type, reporting what is wrong on the way.
    mutating func check(_ e: PolicyExpression) -> T {
        switch e {
        case .literal(let v, _):
            switch v {
            case .bool: return .bool
            case .long, .decimal: return .number
            case .string: return .plainString
            case .list: return .list(.unknown)
            case .record: return .unknown
            }
        case .variable(let v, _):
            return PolicySchema.type(of: v)
        case .list(let items, _):
            let types = items.map { check($0) }
            guard let first = types.first else { return .list(.unknown) }
            return .list(types.allSatisfy { sameKind($0, first) } ? first : .unknown)
        case .attribute(let base, let name, let loc):
            let bt = check(base)
            switch bt {
            case .record(let fields, let recordName):
                guard let t = fields[name] else {
                    report(loc, "unknown attribute \(recordName).\(name) (known: \(fields.keys.sorted().joined(separator: ", ")))")
                    return .unknown
                }
                return t
            case .unknown: return .unknown
            default:
                report(loc, "a \(bt.name) has no attribute '\(name)'")
                return .unknown
            }
        case .has(let base, let name, let loc):
            let bt = check(base)
            switch bt {
            case .record(let fields, let recordName):
                if fields[name] == nil { report(loc, "unknown attribute \(recordName).\(name) (known: \(fields.keys.sorted().joined(separator: ", ")))") }
            case .unknown: break
            default: report(loc, "'has' needs a record on its left, not \(bt.name)")
            }
            return .bool
        case .not(let inner, let loc):
            let t = check(inner)
            if t != .bool && t != .unknown { report(loc, "'!' needs a boolean, not \(t.name)") }
            return .bool
        case .binary(let op, let lhs, let rhs, let loc):
            let l = check(lhs), r = check(rhs)
            switch op {
            case .and, .or:
                for (t, side) in [(l, lhs), (r, rhs)] where t != .bool && t != .unknown {
                    report(side.location, "'\(op.rawValue)' needs booleans, not \(t.name)")
                }
            case .equal, .notEqual:
                if !compatible(l, r) { report(loc, "cannot compare \(l.name) with \(r.name)") }
                checkDomain(l, against: rhs)
                checkDomain(r, against: lhs)
            case .less, .lessEqual, .greater, .greaterEqual:
                for t in [l, r] where t != .number && t != .unknown { report(loc, "'\(op.rawValue)' needs numbers, not \(t.name)") }
            case .in:
                switch r {
                case .list(let element):
                    if !compatible(l, element) { report(loc, "cannot look for a \(l.name) in a list of \(element.name)") }
                    if case .list(let items, _) = rhs { items.forEach { checkDomain(l, against: $0) } }
                case .unknown: break
                default: report(loc, "'in' needs a list on its right, not \(r.name)")
                }
            }
            return .bool
        case .method(let base, let name, let args, let loc):
            let bt = check(base)
            let argTypes = args.map { check($0) }
            guard ["contains", "containsAll", "containsAny"].contains(name) else {
                report(loc, "unknown method '\(name)' (methods: contains, containsAll, containsAny)")
                return .unknown
            }
            guard args.count == 1 else {
                report(loc, "'\(name)' takes exactly one argument")
                return .bool
            }
            guard case .list(let element) = bt else {
                if bt != .unknown { report(loc, "'\(name)' needs a list, not \(bt.name)") }
                return .bool
            }
            if name == "contains" {
                if !compatible(element, argTypes[0]) { report(args[0].location, "cannot look for a \(argTypes[0].name) in a list of \(element.name)") }
                checkDomain(element, against: args[0])
                if case .list(let items, _) = base { items.forEach { checkDomain(argTypes[0], against: $0) } }
            } else {
                switch argTypes[0] {
                case .list(let other):
                    if !compatible(element, other) { report(args[0].location, "cannot compare a list of \(element.name) with a list of \(other.name)") }
                    if case .list(let items, _) = args[0] { items.forEach { checkDomain(element, against: $0) } }
                case .unknown: break
                default: report(args[0].location, "'\(name)' needs a list argument, not \(argTypes[0].name)")
                }
            }
            return .bool
        }
    }

    func sameKind(_ a: T, _ b: T) -> Bool {
        switch (a, b) {
        case (.string, .string), (.bool, .bool), (.number, .number): true
        case let (.list(x), .list(y)): sameKind(x, y)
        default: a == b
        }
    }

    /// Whether two types could ever be equal; unknown is compatible with everything.
    func compatible(_ a: T, _ b: T) -> Bool {
        if a == .unknown || b == .unknown { return true }
        return sameKind(a, b) || {
            if case .list(.unknown) = a, case .list = b { return true }
            if case .list = a, case .list(.unknown) = b { return true }
            return false
        }()
    }

    /// A string literal compared with a closed-set string must be one of the set.
    mutating func checkDomain(_ t: T, against e: PolicyExpression) {
        guard case .string(let domain?, let values?) = t, case .literal(.string(let s), let loc) = e, !values.contains(s) else { return }
        report(loc, "unknown \(domain) \"\(s)\" (expected one of: \(values.joined(separator: ", ")))")
    }
}
