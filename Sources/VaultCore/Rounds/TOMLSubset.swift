/// The subset of TOML a round file may use, checked before TOMLKit sees the file.
///
/// Why: the toml++ parser inside TOMLKit 0.6.0 meets some malformed inputs with failed
/// assertions that abort the whole process, in release builds too (found by fuzzing: `[(`,
/// `[[[`, values ending early, …). Round files need only plain TOML, so anything outside it is
/// refused here with `file:line:column` before it can reach those code paths:
///
///     # comments, blank lines
///     [table]   [[array-of-tables]]        (bare or "quoted" keys, dotted allowed)
///     key = value   # comment               (bare or "quoted" key, dotted allowed)
///     value: "basic string" | 'literal string' | integer | decimal | true | false
///            | [ value, value, … ]  (may span lines, may end with a comma, nest)
///
/// Not allowed: multi-line strings, inline tables, dates and times, hex/octal/binary integers,
/// inf and nan. None of them has a use in a round file.
enum TOMLSubset {
    struct Reject: Error { let line: Int; let column: Int; let message: String }

    static func check(_ text: String, file: String) throws {
        var s = Scanner(bytes: Array(text.utf8))
        do { try s.document() } catch let r as Reject {
            throw VaultError.invalidData("\(file):\(r.line):\(r.column): \(r.message)")
        }
    }

    struct Scanner {
        let bytes: [UInt8]
        var i = 0, line = 1, lineStart = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var c: UInt8? { i < bytes.count ? bytes[i] : nil }
        func fail(_ m: String) -> Reject { Reject(line: line, column: i - lineStart + 1, message: m) }

        mutating func advance() { if c == 0x0A { line += 1; lineStart = i + 1 }; i += 1 }
        mutating func spaces() { while c == 0x20 || c == 0x09 { i += 1 } }
        mutating func comment() throws {
            guard c == UInt8(ascii: "#") else { return }
            while let x = c, x != 0x0A {
                if x < 0x20 && x != 0x09 || x == 0x7F { throw fail("control character in a comment") }
                i += 1
            }
        }
        /// Spaces, an optional comment, then a newline or the end.
        mutating func endOfLine() throws {
            spaces()
            try comment()
            if c == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A { i += 1 }
            guard c == nil || c == 0x0A else { throw fail("unexpected text after the value (one key = value per line)") }
            if c != nil { advance() }
        }

        static func isBare(_ x: UInt8) -> Bool {
            (97...122).contains(x) || (65...90).contains(x) || (48...57).contains(x) || x == UInt8(ascii: "_") || x == UInt8(ascii: "-")
        }

        mutating func key() throws {
            repeat {
                spaces()
                if c == UInt8(ascii: "\"") { try basicString() }
                else if let x = c, Self.isBare(x) { while let y = c, Self.isBare(y) { i += 1 } }
                else { throw fail("expected a key (letters, digits, '-', '_', or a quoted key)") }
                spaces()
                guard c == UInt8(ascii: ".") else { return }
                i += 1
            } while true
        }

        mutating func basicString() throws {
            i += 1
            while true {
                guard let x = c, x != 0x0A else { throw fail("unterminated string") }
                if x == UInt8(ascii: "\"") { i += 1; return }
                if x < 0x20 && x != 0x09 || x == 0x7F { throw fail("control character in a string") }
                if x == UInt8(ascii: "\\") {
                    i += 1
                    guard let e = c else { throw fail("unterminated string") }
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                         UInt8(ascii: "r"), UInt8(ascii: "t"):
                        i += 1
                    case UInt8(ascii: "u"), UInt8(ascii: "U"):
                        let n = e == UInt8(ascii: "u") ? 4 : 8
                        i += 1
                        var v: UInt32 = 0
                        for _ in 0..<n {
                            guard let h = c, let d = Int(String(UnicodeScalar(h)), radix: 16) else { throw fail("bad \\u escape") }
                            v = v << 4 | UInt32(d)
                            i += 1
                        }
                        guard Unicode.Scalar(v) != nil else { throw fail("\\u escape is not a Unicode scalar") }
                    default:
                        throw fail("unknown escape in a string")
                    }
                    continue
                }
                i += 1
            }
        }

        mutating func literalString() throws {
            i += 1
            while true {
                guard let x = c, x != 0x0A else { throw fail("unterminated string") }
                if x == UInt8(ascii: "'") { i += 1; return }
                if x < 0x20 && x != 0x09 || x == 0x7F { throw fail("control character in a string") }
                i += 1
            }
        }

        mutating func digits() throws {
            guard let x = c, (48...57).contains(x) else { throw fail("expected a digit") }
            while let y = c, (48...57).contains(y) || y == UInt8(ascii: "_") {
                if y == UInt8(ascii: "_") {
                    guard i + 1 < bytes.count, (48...57).contains(bytes[i + 1]), i > 0, (48...57).contains(bytes[i - 1]) else {
                        throw fail("'_' must stand between digits")
                    }
                }
                i += 1
            }
        }

        mutating func number() throws {
            if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { i += 1 }
            let start = i
            try digits()
            if bytes[start] == UInt8(ascii: "0"), i - start > 1 { throw fail("leading zeros are not allowed") }
            if c == UInt8(ascii: ".") { i += 1; try digits() }
            if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                i += 1
                if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { i += 1 }
                try digits()
            }
            if let x = c, Self.isBare(x) || x == UInt8(ascii: ":") { throw fail("not a number a round file can use (no dates, hex or special values)") }
        }

        mutating func value(depth: Int) throws {
            guard depth < 32 else { throw fail("arrays nested too deeply") }
            guard let x = c else { throw fail("expected a value") }
            switch x {
            case UInt8(ascii: "\""):
                if i + 2 < bytes.count && bytes[i + 1] == x && bytes[i + 2] == x { throw fail("multi-line strings are not used in round files") }
                try basicString()
            case UInt8(ascii: "'"):
                if i + 2 < bytes.count && bytes[i + 1] == x && bytes[i + 2] == x { throw fail("multi-line strings are not used in round files") }
                try literalString()
            case UInt8(ascii: "t"), UInt8(ascii: "f"):
                let word = x == UInt8(ascii: "t") ? "true" : "false"
                guard bytes.count - i >= word.utf8.count, Array(bytes[i..<(i + word.utf8.count)]) == Array(word.utf8) else { throw fail("expected a value") }
                i += word.utf8.count
            case UInt8(ascii: "["):
                i += 1
                while true {
                    try gap()
                    if c == UInt8(ascii: "]") { i += 1; return }
                    try value(depth: depth + 1)
                    try gap()
                    if c == UInt8(ascii: ",") { i += 1; continue }
                    guard c == UInt8(ascii: "]") else { throw fail("expected ',' or ']' in an array") }
                    i += 1
                    return
                }
            case UInt8(ascii: "{"):
                throw fail("inline tables are not used in round files")
            case UInt8(ascii: "+"), UInt8(ascii: "-"), 48...57:
                try number()
            default:
                throw fail("expected a value (a string, a number, true, false or an array)")
            }
        }

        /// Inside an array: spaces, comments and line breaks.
        mutating func gap() throws {
            while true {
                spaces()
                try comment()
                if c == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A { i += 1 }
                guard c == 0x0A else { return }
                advance()
            }
        }

        mutating func document() throws {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3; lineStart = 3 }
            while c != nil {
                spaces()
                guard let x = c else { return }
                if x == 0x0A || x == 0x0D || x == UInt8(ascii: "#") { try endOfLine(); continue }
                if x == UInt8(ascii: "[") {
                    i += 1
                    let array = c == UInt8(ascii: "[")
                    if array { i += 1 }
                    try key()
                    guard c == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
                    i += 1
                    if array {
                        guard c == UInt8(ascii: "]") else { throw fail("expected ']]' to close the table header") }
                        i += 1
                    }
                    try endOfLine()
                    continue
                }
                try key()
                guard c == UInt8(ascii: "=") else { throw fail("expected '=' after the key") }
                i += 1
                spaces()
                try value(depth: 0)
                try endOfLine()
            }
        }
    }
}
