/// Tokens of the policy language.
enum TokenKind: Hashable, Sendable {
    case identifier(String)
    case string(String)
    case long(Int64)
    case decimal(Int64)
    case symbol(String)  // ( ) [ ] { } , ; . @ :: == != < <= > >= && || ! -
    case end
}

struct Token: Sendable {
    let kind: TokenKind
    let location: SourceLocation
    /// Just past the token's last character (for "expected X after …" at the end of a file).
    var end: SourceLocation = SourceLocation(line: 0, column: 0)
}

/// Turns policy source into tokens. Works on Unicode scalars; columns count scalars.
struct PolicyLexer {
    let scalars: [Unicode.Scalar]
    var index = 0
    var line = 1
    var column = 1

    init(_ source: String) { scalars = Array(source.unicodeScalars) }

    struct LexError: Error { let location: SourceLocation; let message: String }

    mutating func tokenize() throws(LexError) -> [Token] {
        var tokens: [Token] = []
        while true {
            if !tokens.isEmpty { tokens[tokens.count - 1].end = SourceLocation(line: line, column: column) }
            skipTrivia()
            let start = SourceLocation(line: line, column: column)
            guard let c = peek() else {
                tokens.append(Token(kind: .end, location: start))
                return tokens
            }
            if c.properties.isAlphabetic && c.isASCII || c == "_" {
                var s = ""
                while let d = peek(), d.isASCII && (d.properties.isAlphabetic || ("0"..."9").contains(d) || d == "_") {
                    s.unicodeScalars.append(d); advance()
                }
                tokens.append(Token(kind: .identifier(s), location: start))
            } else if ("0"..."9").contains(c) {
                tokens.append(Token(kind: try number(start), location: start))
            } else if c == "\"" {
                tokens.append(Token(kind: .string(try string(start)), location: start))
            } else {
                let two = index + 1 < scalars.count ? String(String.UnicodeScalarView([c, scalars[index + 1]])) : ""
                if ["::", "==", "!=", "<=", ">=", "&&", "||"].contains(two) {
                    advance(); advance()
                    tokens.append(Token(kind: .symbol(two), location: start))
                } else if "()[]{},;.@<>!-".unicodeScalars.contains(c) {
                    advance()
                    tokens.append(Token(kind: .symbol(String(c)), location: start))
                } else if c == "=" {
                    throw LexError(location: start, message: "unexpected '=' (did you mean '=='?)")
                } else if c == "&" || c == "|" {
                    throw LexError(location: start, message: "unexpected '\(c)' (did you mean '\(c)\(c)'?)")
                } else {
                    throw LexError(location: start, message: "unexpected character \(Self.show(c))")
                }
            }
        }
    }

    static func show(_ c: Unicode.Scalar) -> String {
        c.isASCII && c.value >= 0x20 && c.value < 0x7f ? "'\(c)'" : "U+\(String(c.value, radix: 16, uppercase: true))"
    }

    func peek(_ offset: Int = 0) -> Unicode.Scalar? { index + offset < scalars.count ? scalars[index + offset] : nil }

    mutating func advance() {
        if scalars[index] == "\n" { line += 1; column = 1 } else { column += 1 }
        index += 1
    }

    mutating func skipTrivia() {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                advance()
            } else if c == "/" && peek(1) == "/" {
                while let d = peek(), d != "\n" { _ = d; advance() }
            } else {
                return
            }
        }
    }

    mutating func number(_ start: SourceLocation) throws(LexError) -> TokenKind {
        var digits = ""
        while let d = peek(), ("0"..."9").contains(d) { digits.unicodeScalars.append(d); advance() }
        guard peek() == ".", let next = peek(1), ("0"..."9").contains(next) else {
            guard let v = Int64(digits) else { throw LexError(location: start, message: "integer literal \(digits.prefix(30)) is too large") }
            return .long(v)
        }
        advance()
        var fraction = ""
        while let d = peek(), ("0"..."9").contains(d) { fraction.unicodeScalars.append(d); advance() }
        guard fraction.count <= 4 else { throw LexError(location: start, message: "decimal literals have at most 4 digits after the point") }
        guard let whole = Int64(digits), let frac = Int64(fraction.padding(toLength: 4, withPad: "0", startingAt: 0)) else {
            throw LexError(location: start, message: "decimal literal is too large")
        }
        let (scaled, o1) = whole.multipliedReportingOverflow(by: 10_000)
        let (value, o2) = scaled.addingReportingOverflow(frac)
        guard !o1 && !o2 else { throw LexError(location: start, message: "decimal literal is too large") }
        return .decimal(value)
    }

    /// A string with escapes \" \\ \n \r \t \0 \' and \u{hex}.
    mutating func string(_ start: SourceLocation) throws(LexError) -> String {
        advance()
        var s = String.UnicodeScalarView()
        while true {
            guard let c = peek() else { throw LexError(location: start, message: "unterminated string") }
            if c == "\n" { throw LexError(location: start, message: "unterminated string (strings cannot span lines)") }
            advance()
            if c == "\"" { return String(s) }
            guard c == "\\" else { s.append(c); continue }
            let escLoc = SourceLocation(line: line, column: column - 1)
            guard let e = peek() else { throw LexError(location: start, message: "unterminated string") }
            advance()
            switch e {
            case "\"": s.append("\"")
            case "\\": s.append("\\")
            case "'": s.append("'")
            case "n": s.append("\n")
            case "r": s.append("\r")
            case "t": s.append("\t")
            case "0": s.append("\0")
            case "u":
                guard peek() == "{" else { throw LexError(location: escLoc, message: "\\u must be followed by {hex}") }
                advance()
                var hex = ""
                while let h = peek(), h != "}", hex.count <= 6 { hex.unicodeScalars.append(h); advance() }
                guard peek() == "}", (1...6).contains(hex.count), let v = UInt32(hex, radix: 16), let u = Unicode.Scalar(v) else {
                    throw LexError(location: escLoc, message: "invalid \\u{...} escape")
                }
                advance()
                s.append(u)
            default:
                throw LexError(location: escLoc, message: "unknown escape \\\(e)")
            }
        }
    }
}
