/// A recursive-descent parser for the policy language of design: Policy language (modelled on Cedar).
///
///     policy    := annotation* ('permit' | 'forbid') '(' principal ',' action ',' 'resource' ')' clause* ';'
///     principal := 'principal' [ '==' 'Principal' '::' STRING | 'in' 'Role' '::' STRING ]
///     action    := 'action' [ '==' 'Action' '::' STRING | 'in' '[' 'Action' '::' STRING (',' …)* ']' ]
///     clause    := ('when' | 'unless') '{' expr '}'
///     expr      := and ('||' and)*
///     and       := relation ('&&' relation)*
///     relation  := unary [ ('==' | '!=' | '<' | '<=' | '>' | '>=' | 'in') unary | 'has' (IDENT | STRING) ]
///     unary     := '!' unary | '-' NUMBER | member
///     member    := primary ('.' IDENT [ '(' [expr (',' expr)*] ')' ])*
///     primary   := literal | 'principal' | 'action' | 'resource' | 'context' | '(' expr ')' | '[' [expr (',' expr)*] ']'
///
/// Relations do not chain (`a == b == c` is an error, as in Cedar). Nesting is limited so that
/// hostile input cannot exhaust the stack.
struct PolicyParser {
    let tokens: [Token]
    var position = 0
    var depth = 0
    static let maxDepth = 128

    struct ParseError: Error { let location: SourceLocation; let message: String }

    init(tokens: [Token]) { self.tokens = tokens }

    var current: Token { tokens[position] }

    mutating func next() -> Token {
        let t = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return t
    }

    func describe(_ k: TokenKind) -> String {
        switch k {
        case .identifier(let s): "'\(s)'"
        case .string: "a string"
        case .long, .decimal: "a number"
        case .symbol(let s): "'\(s)'"
        case .end: "the end of the file"
        }
    }

    /// An error at `t` (default: the current token). At the end of the file it is placed just
    /// after the last real token, where the missing text belongs.
    func error(_ message: String, at t: Token? = nil) -> ParseError {
        let token = t ?? current
        if token.kind == .end && position > 0 { return ParseError(location: tokens[position - 1].end, message: message) }
        return ParseError(location: token.location, message: message)
    }

    mutating func expect(symbol s: String, context: String) throws(ParseError) {
        guard current.kind == .symbol(s) else { throw error("expected '\(s)' \(context), found \(describe(current.kind))") }
        _ = next()
    }

    mutating func expect(keyword k: String, context: String) throws(ParseError) {
        guard current.kind == .identifier(k) else { throw error("expected '\(k)' \(context), found \(describe(current.kind))") }
        _ = next()
    }

    mutating func expectString(context: String) throws(ParseError) -> String {
        guard case .string(let s) = current.kind else { throw error("expected a string \(context), found \(describe(current.kind))") }
        _ = next()
        return s
    }

    /// A parsed statement before ids are assigned.
    struct RawPolicy {
        var annotations: [(name: String, value: String, location: SourceLocation)]
        let policy: (PolicyEffect, PrincipalScope, SourceLocation, ActionScope, [SourceLocation], [PolicyCondition], SourceLocation)
    }

    mutating func parseFile() throws(ParseError) -> [RawPolicy] {
        var out: [RawPolicy] = []
        while current.kind != .end { out.append(try parsePolicy()) }
        return out
    }

    mutating func parsePolicy() throws(ParseError) -> RawPolicy {
        var annotations: [(String, String, SourceLocation)] = []
        while current.kind == .symbol("@") {
            let at = next()
            guard case .identifier(let name) = current.kind else { throw error("expected an annotation name after '@'") }
            _ = next()
            try expect(symbol: "(", context: "after @\(name)")
            let value = try expectString(context: "as the value of @\(name)")
            try expect(symbol: ")", context: "after the value of @\(name)")
            annotations.append((name, value, at.location))
        }
        let start = current
        let effect: PolicyEffect
        switch start.kind {
        case .identifier("permit"): effect = .permit
        case .identifier("forbid"): effect = .forbid
        default: throw error("expected 'permit' or 'forbid', found \(describe(start.kind))")
        }
        _ = next()
        try expect(symbol: "(", context: "after '\(effect.rawValue)'")

        var principalLoc = current.location
        try expect(keyword: "principal", context: "as the first scope element")
        var principal = PrincipalScope.any
        if current.kind == .symbol("==") {
            _ = next()
            try expect(keyword: "Principal", context: "after 'principal =='")
            try expect(symbol: "::", context: "after 'Principal'")
            principal = .equals(try expectString(context: "after 'Principal::'"))
        } else if current.kind == .identifier("in") {
            _ = next()
            try expect(keyword: "Role", context: "after 'principal in'")
            try expect(symbol: "::", context: "after 'Role'")
            principalLoc = current.location
            principal = .inRole(try expectString(context: "after 'Role::'"))
        }
        try expect(symbol: ",", context: "after the principal scope")

        var actionLocs = [current.location]
        try expect(keyword: "action", context: "as the second scope element")
        var action = ActionScope.any
        if current.kind == .symbol("==") {
            _ = next()
            let (name, loc) = try parseActionRef()
            action = .equals(name)
            actionLocs = [loc]
        } else if current.kind == .identifier("in") {
            _ = next()
            try expect(symbol: "[", context: "after 'action in'")
            var list: [String] = []
            actionLocs = []
            func one() throws(ParseError) {
                let (name, loc) = try parseActionRef()
                list.append(name)
                actionLocs.append(loc)
            }
            if current.kind != .symbol("]") {
                try one()
                while current.kind == .symbol(",") { _ = next(); try one() }
            }
            try expect(symbol: "]", context: "to close the action list")
            action = .in(list)
        }
        try expect(symbol: ",", context: "after the action scope")
        try expect(keyword: "resource", context: "as the third scope element")
        try expect(symbol: ")", context: "to close the scope")

        var conditions: [PolicyCondition] = []
        while case .identifier(let word) = current.kind, word == "when" || word == "unless" {
            let t = next()
            try expect(symbol: "{", context: "after '\(word)'")
            let body = try parseExpression()
            try expect(symbol: "}", context: "to close the '\(word)' clause")
            conditions.append(PolicyCondition(kind: word == "when" ? .when : .unless, body: body, location: t.location))
        }
        try expect(symbol: ";", context: "at the end of the policy")
        return RawPolicy(annotations: annotations, policy: (effect, principal, principalLoc, action, actionLocs, conditions, start.location))
    }

    /// `Action::"name"`: the name and where its string starts.
    mutating func parseActionRef() throws(ParseError) -> (String, SourceLocation) {
        try expect(keyword: "Action", context: "in an action reference")
        try expect(symbol: "::", context: "after 'Action'")
        let loc = current.location
        return (try expectString(context: "after 'Action::'"), loc)
    }

    mutating func nest() throws(ParseError) {
        depth += 1
        if depth > Self.maxDepth { throw error("expression nested too deeply (more than \(Self.maxDepth) levels)") }
    }

    mutating func parseExpression() throws(ParseError) -> PolicyExpression {
        try nest()
        defer { depth -= 1 }
        var lhs = try parseAnd()
        while current.kind == .symbol("||") {
            let op = next()
            lhs = .binary(.or, lhs, try parseAnd(), op.location)
        }
        return lhs
    }

    mutating func parseAnd() throws(ParseError) -> PolicyExpression {
        var lhs = try parseRelation()
        while current.kind == .symbol("&&") {
            let op = next()
            lhs = .binary(.and, lhs, try parseRelation(), op.location)
        }
        return lhs
    }

    static let relations: [TokenKind: BinaryOperator] = [
        .symbol("=="): .equal, .symbol("!="): .notEqual, .symbol("<"): .less, .symbol("<="): .lessEqual,
        .symbol(">"): .greater, .symbol(">="): .greaterEqual, .identifier("in"): .in,
    ]

    mutating func parseRelation() throws(ParseError) -> PolicyExpression {
        let lhs = try parseUnary()
        if let op = Self.relations[current.kind] {
            let t = next()
            let rhs = try parseUnary()
            if Self.relations[current.kind] != nil || current.kind == .identifier("has") {
                throw error("comparisons do not chain; add parentheses")
            }
            return .binary(op, lhs, rhs, t.location)
        }
        if current.kind == .identifier("has") {
            let t = next()
            let name: String
            switch current.kind {
            case .identifier(let s), .string(let s): name = s
            default: throw error("expected an attribute name after 'has'")
            }
            _ = next()
            return .has(lhs, name, t.location)
        }
        return lhs
    }

    mutating func parseUnary() throws(ParseError) -> PolicyExpression {
        if current.kind == .symbol("!") {
            let t = next()
            try nest()
            defer { depth -= 1 }
            return .not(try parseUnary(), t.location)
        }
        if current.kind == .symbol("-") {
            let t = next()
            switch current.kind {
            case .long(let v): _ = next(); return .literal(.long(-v), t.location)
            case .decimal(let v): _ = next(); return .literal(.decimal(-v), t.location)
            default: throw error("'-' may only precede a number literal", at: t)
            }
        }
        return try parseMember()
    }

    mutating func parseMember() throws(ParseError) -> PolicyExpression {
        var e = try parsePrimary()
        while current.kind == .symbol(".") {
            _ = next()
            let t = current
            guard case .identifier(let name) = t.kind else { throw error("expected an attribute or method name after '.'") }
            _ = next()
            if current.kind == .symbol("(") {
                _ = next()
                var args: [PolicyExpression] = []
                if current.kind != .symbol(")") {
                    args.append(try parseExpression())
                    while current.kind == .symbol(",") { _ = next(); args.append(try parseExpression()) }
                }
                try expect(symbol: ")", context: "to close the call of \(name)")
                e = .method(e, name, args, t.location)
            } else {
                e = .attribute(e, name, t.location)
            }
        }
        return e
    }

    mutating func parsePrimary() throws(ParseError) -> PolicyExpression {
        let t = current
        switch t.kind {
        case .string(let s): _ = next(); return .literal(.string(s), t.location)
        case .long(let v): _ = next(); return .literal(.long(v), t.location)
        case .decimal(let v): _ = next(); return .literal(.decimal(v), t.location)
        case .identifier("true"): _ = next(); return .literal(.bool(true), t.location)
        case .identifier("false"): _ = next(); return .literal(.bool(false), t.location)
        case .identifier(let name):
            if let v = PolicyVariable(rawValue: name) { _ = next(); return .variable(v, t.location) }
            throw error("unknown name '\(name)' (expected principal, action, resource, context or a literal)")
        case .symbol("("):
            _ = next()
            let e = try parseExpression()
            try expect(symbol: ")", context: "to close '('")
            return e
        case .symbol("["):
            _ = next()
            try nest()
            defer { depth -= 1 }
            var items: [PolicyExpression] = []
            if current.kind != .symbol("]") {
                items.append(try parseExpression())
                while current.kind == .symbol(",") { _ = next(); items.append(try parseExpression()) }
            }
            try expect(symbol: "]", context: "to close the list")
            return .list(items, t.location)
        default:
            throw error("expected an expression, found \(describe(t.kind))")
        }
    }
}

