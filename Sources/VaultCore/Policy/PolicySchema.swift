/// What the policy language may talk about: the actions, roles and request attributes of
/// design: Policy language. The validator refuses anything else, so a typo such as `resource.min_grup` or
/// `Action::"reveall"` is a load error, not a silently false condition.
public enum PolicySchema {
    public static let actions: [String] = [
        "principal.add", "principal.import", "principal.disable", "principal.enable", "principal.conflicts", "round.create", "round.open",
        "round.close", "round.shred", "round.publish", "round.status", "seal", "import", "reveal", "identity.reveal", "policy.apply", "audit.export", "audit.checkpoint",
        "vault.backup", "vault.restore",
    ]
    public static let roles: [String] = Role.allCases.map(\.rawValue)
    public static let roundStates = ["draft", "open", "closed", "shredded"]
    public static let statistics = ["count", "mean", "median", "trimmed_mean", "stddev", "min", "max", "weighted_total", "rank"]
    public static let groupings = ["team", "criterion", "evaluator"]

    /// The static type of an expression, as far as the validator can know it.
    indirect enum ValueType: Equatable, Sendable {
        case bool, number, unknown
        /// A string, optionally from a closed set (`domain` names it in messages).
        case string(domain: String?, values: [String]?)
        case list(ValueType)
        case record([String: ValueType], name: String)

        var name: String {
            switch self {
            case .bool: "bool"
            case .number: "number"
            case .unknown: "unknown"
            case .string: "string"
            case .list: "list"
            case .record: "record"
            }
        }

        static let plainString = ValueType.string(domain: nil, values: nil)
    }

    static let principalType = ValueType.record([
        "id": .plainString,
        "role": .string(domain: "role", values: roles),
        "conflicts": .list(.plainString),
    ], name: "principal")

    static let actionType = ValueType.record(["id": .string(domain: "action", values: actions)], name: "action")

    static let resourceType = ValueType.record([
        "round": .record([
            "id": .plainString,
            "state": .string(domain: "round state", values: roundStates),
            "threshold": .number,
        ], name: "resource.round"),
        "team": .plainString,
        "criterion": .plainString,
        "stat": .string(domain: "statistic", values: statistics),
        "by": .list(.string(domain: "grouping", values: groupings)),
        "min_group": .number,
        "declared": .bool,
        "target": .plainString,
    ], name: "resource")

    static let contextType = ValueType.record(["holders": .number, "reason": .plainString], name: "context")

    static func type(of variable: PolicyVariable) -> ValueType {
        switch variable {
        case .principal: principalType
        case .action: actionType
        case .resource: resourceType
        case .context: contextType
        }
    }
}
