/// A position in a policy source, 1-based.
public struct SourceLocation: Sendable, Equatable, Comparable {
    public let line: Int
    public let column: Int
    public static func < (a: SourceLocation, b: SourceLocation) -> Bool { (a.line, a.column) < (b.line, b.column) }
}

/// One located problem in a policy file: `file:line:column: message`.
public struct PolicyDiagnostic: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let location: SourceLocation
    public let message: String
    public var description: String { "\(file):\(location.line):\(location.column): \(message)" }
}

/// A policy file that did not load: every diagnostic found, in source order.
public struct PolicyLoadError: Error, Sendable, Equatable {
    public let diagnostics: [PolicyDiagnostic]
}

/// A runtime value of the policy language.
public indirect enum PolicyValue: Sendable, Hashable {
    case bool(Bool)
    case long(Int64)
    /// A decimal with four fractional digits (as Cedar's), stored ×10 000 so arithmetic is exact.
    case decimal(Int64)
    case string(String)
    case list([PolicyValue])
    case record([String: PolicyValue])

    var typeName: String {
        switch self {
        case .bool: "bool"
        case .long: "long"
        case .decimal: "decimal"
        case .string: "string"
        case .list: "list"
        case .record: "record"
        }
    }

    /// Value equality as the language defines it: numbers compare by value across long/decimal,
    /// lists as sets (Cedar's rule), records field by field; different types are simply unequal.
    func isEqual(to other: PolicyValue) -> Bool {
        switch (self, other) {
        case let (.list(a), .list(b)):
            return a.allSatisfy { x in b.contains { $0.isEqual(to: x) } } && b.allSatisfy { y in a.contains { $0.isEqual(to: y) } }
        case let (.record(a), .record(b)):
            return a.count == b.count && a.allSatisfy { k, v in b[k].map { $0.isEqual(to: v) } ?? false }
        default:
            if let x = scaled, let y = other.scaled { return x == y }
            return self == other
        }
    }

    /// Numbers ×10 000, for comparisons; nil for non-numbers or a long too large to scale.
    var scaled: Int64? {
        switch self {
        case .long(let v): let (r, o) = v.multipliedReportingOverflow(by: 10_000); return o ? nil : r
        case .decimal(let v): return v
        default: return nil
        }
    }
}

public enum PolicyEffect: String, Sendable { case permit, forbid }

public enum PrincipalScope: Sendable, Equatable {
    case any
    case equals(String)
    case inRole(String)
}

public enum ActionScope: Sendable, Equatable {
    case any
    case equals(String)
    case `in`([String])
}

public enum ConditionKind: String, Sendable { case when, unless }

/// A `when { … }` or `unless { … }` clause.
public struct PolicyCondition: Sendable {
    public let kind: ConditionKind
    public let body: PolicyExpression
    public let location: SourceLocation
}

/// One `permit` or `forbid` statement.
public struct Policy: Sendable {
    public let id: String
    public let effect: PolicyEffect
    public let principal: PrincipalScope
    public let action: ActionScope
    public let conditions: [PolicyCondition]
    public let location: SourceLocation
    /// Where the principal scope (its role string, when there is one) and each action name
    /// sit, for the validator's messages.
    let principalLocation: SourceLocation
    let actionLocations: [SourceLocation]
}

public enum BinaryOperator: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
    case `in` = "in", and = "&&", or = "||"
}

public enum PolicyVariable: String, Sendable, CaseIterable { case principal, action, resource, context }

/// An expression node with its location.
public indirect enum PolicyExpression: Sendable {
    case literal(PolicyValue, SourceLocation)
    case variable(PolicyVariable, SourceLocation)
    case list([PolicyExpression], SourceLocation)
    case attribute(PolicyExpression, String, SourceLocation)
    case has(PolicyExpression, String, SourceLocation)
    case not(PolicyExpression, SourceLocation)
    case binary(BinaryOperator, PolicyExpression, PolicyExpression, SourceLocation)
    case method(PolicyExpression, String, [PolicyExpression], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .literal(_, let l), .variable(_, let l), .list(_, let l), .attribute(_, _, let l), .has(_, _, let l),
             .not(_, let l), .binary(_, _, _, let l), .method(_, _, _, let l): l
        }
    }
}
