/// Evaluates expressions against one request. Errors (a missing attribute, a type mismatch)
/// are thrown and turned into the fail-closed rule by the caller.
struct PolicyEvaluator {
    let request: PolicyRequest

    struct EvaluationError: Error { let location: SourceLocation; let message: String }

    mutating func evaluateBool(_ e: PolicyExpression) throws(EvaluationError) -> Bool {
        let v = try evaluate(e)
        guard case .bool(let b) = v else { throw EvaluationError(location: e.location, message: "expected a boolean, got \(v.typeName)") }
        return b
    }

    mutating func evaluate(_ e: PolicyExpression) throws(EvaluationError) -> PolicyValue {
        switch e {
        case .literal(let v, _):
            return v
        case .variable(let v, _):
            return request.value(of: v)
        case .list(let items, _):
            var out: [PolicyValue] = []
            for i in items { out.append(try evaluate(i)) }
            return .list(out)
        case .attribute(let base, let name, let loc):
            let b = try evaluate(base)
            guard case .record(let fields) = b else { throw EvaluationError(location: loc, message: "a \(b.typeName) has no attribute '\(name)'") }
            guard let v = fields[name] else { throw EvaluationError(location: loc, message: "attribute '\(name)' is not present in this request") }
            return v
        case .has(let base, let name, let loc):
            let b = try evaluate(base)
            guard case .record(let fields) = b else { throw EvaluationError(location: loc, message: "'has' needs a record, got \(b.typeName)") }
            return .bool(fields[name] != nil)
        case .not(let inner, _):
            return .bool(!(try evaluateBool(inner)))
        case .binary(.and, let lhs, let rhs, _):
            // Short-circuit: the right side is not evaluated (and cannot error) when the left decides.
            guard try evaluateBool(lhs) else { return .bool(false) }
            return .bool(try evaluateBool(rhs))
        case .binary(.or, let lhs, let rhs, _):
            if try evaluateBool(lhs) { return .bool(true) }
            return .bool(try evaluateBool(rhs))
        case .binary(let op, let lhs, let rhs, let loc):
            let l = try evaluate(lhs), r = try evaluate(rhs)
            switch op {
            case .equal: return .bool(l.isEqual(to: r))
            case .notEqual: return .bool(!l.isEqual(to: r))
            case .in:
                guard case .list(let items) = r else { throw EvaluationError(location: loc, message: "'in' needs a list, got \(r.typeName)") }
                return .bool(items.contains { $0.isEqual(to: l) })
            default:
                guard let a = l.scaled, let b = r.scaled else {
                    throw EvaluationError(location: loc, message: "'\(op.rawValue)' needs numbers, got \(l.typeName) and \(r.typeName)")
                }
                switch op {
                case .less: return .bool(a < b)
                case .lessEqual: return .bool(a <= b)
                case .greater: return .bool(a > b)
                default: return .bool(a >= b)
                }
            }
        case .method(let base, let name, let args, let loc):
            let b = try evaluate(base)
            guard case .list(let items) = b else { throw EvaluationError(location: loc, message: "'\(name)' needs a list, got \(b.typeName)") }
            guard args.count == 1 else { throw EvaluationError(location: loc, message: "'\(name)' takes one argument") }
            let arg = try evaluate(args[0])
            if name == "contains" { return .bool(items.contains { $0.isEqual(to: arg) }) }
            guard case .list(let other) = arg else { throw EvaluationError(location: loc, message: "'\(name)' needs a list argument, got \(arg.typeName)") }
            switch name {
            case "containsAll": return .bool(other.allSatisfy { o in items.contains { $0.isEqual(to: o) } })
            case "containsAny": return .bool(other.contains { o in items.contains { $0.isEqual(to: o) } })
            default: throw EvaluationError(location: loc, message: "unknown method '\(name)'")
            }
        }
    }
}
