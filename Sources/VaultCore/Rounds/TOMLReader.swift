/// A strict reader for exactly the TOML that round files use (design: Command line), in place of
/// a general TOML library.
///
/// Why our own: the general parser used before (toml++ through TOMLKit) aborted the process on
/// some malformed input and handed decimals over as `Double`. A round file needs little of TOML,
/// so this reader accepts that little, refuses everything else with `file:line:column`, keeps
/// every value's source text and position, and never converts a number to binary floating point:
///
///     # comments, blank lines
///     key = value              bare key (letters, digits, '-', '_') or "quoted" / 'quoted'
///     [table]                  a table of key = value lines
///     [[table]]                one more entry of an array of tables
///     value: "basic string" (TOML escapes) | 'literal string' | integer | decimal | true | false
///            | [ value, value, … ]   one kind of value per list; may span lines, may end with ','
///
/// Numbers have at most 12 digits before the point and 6 after, so every one of them is exactly
/// a `Fixed`. Refused, each with its own message: dotted keys, a key or table defined twice,
/// multi-line strings, inline tables, lists of lists, lists mixing kinds, exponents, inf and nan,
/// hex/octal/binary numbers, dates and times, and files over 1 MiB. Nothing is recursive, and
/// every read is bounds-checked, so no input can trap.
enum TOMLReader {
    /// The largest round file read (a large round is a few kilobytes).
    static let maxBytes = 1 << 20
    static let maxWholeDigits = 12

    /// The top-level table of `text`, or a `VaultError.invalidData` located as `file:line:column`.
    static func parse(_ text: String, file: String) throws -> TOMLTable {
        let count = text.utf8.count
        guard count <= maxBytes else { throw VaultError.invalidData("\(file): a round file may be at most 1 MiB (this one is \(count) bytes)") }
        var reader = Reader(bytes: Array(text.utf8), file: file)
        return try reader.document()
    }

    /// A key as it can be shown in a message: bare keys as they are, others quoted and escaped.
    static func display(_ key: String) -> String {
        !key.isEmpty && key.utf8.allSatisfy(isBare) ? key : key.debugDescription
    }

    static func isBare(_ x: UInt8) -> Bool {
        (97...122).contains(x) || (65...90).contains(x) || isDigit(x) || x == UInt8(ascii: "_") || x == UInt8(ascii: "-")
    }
    static func isDigit(_ x: UInt8) -> Bool { (48...57).contains(x) }
}

/// Where a key, value or table header starts: line and column (in characters), from 1.
struct TOMLPosition: Sendable, Equatable, CustomStringConvertible {
    let line: Int
    let column: Int
    var description: String { "\(line):\(column)" }
}

/// One value as read, with its source text and position.
struct TOMLValue: Sendable {
    enum Kind: Sendable {
        case string(String)
        /// The number is `text`; `fixed` and `integer` read it exactly.
        case integer, decimal
        case boolean(Bool)
        case array([TOMLValue])
        /// `[name]`.
        case table(TOMLTable)
        /// `[[name]]`, in file order.
        case tables([TOMLTable])
    }

    let kind: Kind
    /// The value exactly as written: quotes and escapes of a string, underscores of a number, a
    /// list from `[` to `]`; for a table, its header.
    let text: String
    let position: TOMLPosition

    var string: String? { if case .string(let s) = kind { s } else { nil } }
    var boolean: Bool? { if case .boolean(let b) = kind { b } else { nil } }
    var array: [TOMLValue]? { if case .array(let a) = kind { a } else { nil } }
    var table: TOMLTable? { if case .table(let t) = kind { t } else { nil } }
    var tables: [TOMLTable]? { if case .tables(let t) = kind { t } else { nil } }

    /// An integer or decimal, straight from its text (never through `Double`).
    var fixed: Fixed? {
        switch kind {
        case .integer, .decimal: Fixed(text.filter { $0 != "_" })
        default: nil
        }
    }

    /// An integer (not a decimal, even `2.0`).
    var integer: Int? {
        guard case .integer = kind else { return nil }
        return Int(text.filter { $0 != "_" })
    }

    /// For messages: "a string", "a number", …
    var kindName: String {
        switch kind {
        case .string: "a string"
        case .integer: "a whole number"
        case .decimal: "a decimal"
        case .boolean: "true or false"
        case .array: "a list"
        case .table: "a table"
        case .tables: "an array of tables"
        }
    }

    /// Values of one category may share a list: integers and decimals are both numbers.
    var category: String {
        switch kind {
        case .integer, .decimal: "a number"
        default: kindName
        }
    }
}

/// A table: the top level, a `[name]` or one `[[name]]`, its keys in file order.
struct TOMLTable: Sendable {
    struct Entry: Sendable {
        let key: String
        /// Where the key is written (for a table: its first header).
        let position: TOMLPosition
        let value: TOMLValue
    }

    /// The header's position; nil for the top level.
    let position: TOMLPosition?
    let entries: [Entry]
    private let index: [String: Int]

    init(position: TOMLPosition?, entries: [Entry]) {
        self.position = position
        self.entries = entries
        index = Dictionary(entries.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
    }

    var keys: [String] { entries.map(\.key) }
    subscript(key: String) -> TOMLValue? { index[key].map { entries[$0].value } }
}

extension TOMLReader {
    struct Reader {
        let bytes: [UInt8]
        let file: String
        var i = 0, line = 1, lineStart = 0
        /// The column at byte `columnIndex` of the current line, so that positions on a long line
        /// are found in one pass rather than by recounting from the line's start each time.
        var columnIndex = 0, column = 1

        // What has been read: the top level's values, then each table section in file order.
        struct Section { let name: String; let position: TOMLPosition; let isArray: Bool; var entries: [TOMLTable.Entry] = [] }
        enum Defined { case value, table, tables }
        var root: [TOMLTable.Entry] = []
        var rootKeys: [String: (position: TOMLPosition, defined: Defined)] = [:]
        var sections: [Section] = []
        var sectionKeys: [String: TOMLPosition] = [:]
        var sectionOrder: [String] = []

        init(bytes: [UInt8], file: String) {
            self.bytes = bytes
            self.file = file
        }

        var c: UInt8? { i < bytes.count ? bytes[i] : nil }
        func peek(_ k: Int) -> UInt8? { i + k < bytes.count ? bytes[i + k] : nil }

        mutating func here() -> TOMLPosition {
            if columnIndex < lineStart || columnIndex > i { columnIndex = lineStart; column = 1 }
            let end = Swift.min(i, bytes.count)
            while columnIndex < end {
                if bytes[columnIndex] & 0xC0 != 0x80 { column += 1 }
                columnIndex += 1
            }
            return TOMLPosition(line: line, column: column)
        }

        mutating func fail(_ message: String) -> VaultError { fail(message, at: here()) }
        func fail(_ message: String, at p: TOMLPosition) -> VaultError { .invalidData("\(file):\(p.line):\(p.column): \(message)") }

        func text(from start: Int) -> String { String(decoding: bytes[start..<i], as: UTF8.self) }

        // MARK: Lines

        mutating func spaces() { while c == 0x20 || c == 0x09 { i += 1 } }

        mutating func comment() throws {
            guard c == UInt8(ascii: "#") else { return }
            while let x = c, x != 0x0A, x != 0x0D {
                if x < 0x20 && x != 0x09 || x == 0x7F { throw fail("control character in a comment") }
                i += 1
            }
        }

        /// A line feed, or a carriage return and a line feed. False when there is neither.
        mutating func newline() throws -> Bool {
            if c == 0x0D {
                guard peek(1) == 0x0A else { throw fail("a carriage return must be followed by a line feed") }
                i += 1
            }
            guard c == 0x0A else { return false }
            i += 1
            line += 1
            lineStart = i
            return true
        }

        /// Spaces, an optional comment, then a newline or the end.
        mutating func endOfLine(else message: String) throws {
            spaces()
            try comment()
            if c == nil { return }
            guard try newline() else { throw fail(message) }
        }

        /// Inside a list: spaces, comments and newlines.
        mutating func gap() throws {
            repeat {
                spaces()
                try comment()
            } while try newline()
        }

        // MARK: Document

        mutating func document() throws -> TOMLTable {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3; lineStart = 3 }
            while true {
                spaces()
                guard let x = c else { break }
                if x == UInt8(ascii: "[") {
                    try header()
                    try endOfLine(else: "unexpected text after the table header")
                } else if x == UInt8(ascii: "#") || x == 0x0A || x == 0x0D {
                    try endOfLine(else: "unexpected text after a comment")
                } else {
                    try keyValue()
                    try endOfLine(else: "unexpected text after the value (one key = value per line)")
                }
            }
            return finish()
        }

        mutating func key() throws -> String {
            switch c {
            case UInt8(ascii: "\""):
                if peek(1) == UInt8(ascii: "\"") && peek(2) == UInt8(ascii: "\"") { throw fail("expected a key (letters, digits, '-', '_', or a quoted key)") }
                return try basicString()
            case UInt8(ascii: "'"):
                if peek(1) == UInt8(ascii: "'") && peek(2) == UInt8(ascii: "'") { throw fail("expected a key (letters, digits, '-', '_', or a quoted key)") }
                return try literalString()
            case let x? where TOMLReader.isBare(x):
                let start = i
                while let y = c, TOMLReader.isBare(y) { i += 1 }
                return text(from: start)
            default:
                throw fail("expected a key (letters, digits, '-', '_', or a quoted key)")
            }
        }

        mutating func noDottedKey() throws {
            if c == UInt8(ascii: ".") { throw fail("dotted keys are not used in round files (write a [table] and plain keys)") }
        }

        mutating func header() throws {
            let at = here()
            i += 1
            let isArray = c == UInt8(ascii: "[")
            if isArray { i += 1 }
            spaces()
            let name = try key()
            spaces()
            try noDottedKey()
            guard c == UInt8(ascii: "]") else { throw fail(isArray ? "expected ']]' to close the table header" : "expected ']' to close the table header") }
            i += 1
            if isArray {
                guard c == UInt8(ascii: "]") else { throw fail("expected ']]' to close the table header") }
                i += 1
            }
            let shown = TOMLReader.display(name)
            let header = isArray ? "[[\(shown)]]" : "[\(shown)]"
            switch rootKeys[name] {
            case nil:
                rootKeys[name] = (at, isArray ? .tables : .table)
                sectionOrder.append(name)
            case let (_, defined)? where isArray && defined == .tables:
                break
            case let (first, defined)?:
                let earlier = switch defined {
                case .value: "the key \(shown)"
                case .table: "[\(shown)]"
                case .tables: "[[\(shown)]]"
                }
                throw fail(defined == .table && !isArray ? "table \(header) is defined twice (first at line \(first.line))"
                                                         : "\(header) clashes with \(earlier) at line \(first.line)", at: at)
            }
            sections.append(Section(name: name, position: at, isArray: isArray))
            sectionKeys = [:]
        }

        mutating func keyValue() throws {
            let at = here()
            let name = try key()
            spaces()
            try noDottedKey()
            guard c == UInt8(ascii: "=") else { throw fail("expected '=' after the key") }
            i += 1
            spaces()
            let value = try self.value(inList: false)
            let entry = TOMLTable.Entry(key: name, position: at, value: value)
            if sections.isEmpty {
                if let first = rootKeys[name] { throw fail("\(TOMLReader.display(name)) is defined twice (first at line \(first.position.line))", at: at) }
                rootKeys[name] = (at, .value)
                root.append(entry)
            } else {
                if let first = sectionKeys[name] { throw fail("\(TOMLReader.display(name)) is defined twice in this table (first at line \(first.line))", at: at) }
                sectionKeys[name] = at
                sections[sections.count - 1].entries.append(entry)
            }
        }

        /// The top level's values, then each table, and each array of tables whole, in the order
        /// they first appear.
        func finish() -> TOMLTable {
            var grouped: [String: [TOMLTable]] = [:]
            for s in sections { grouped[s.name, default: []].append(TOMLTable(position: s.position, entries: s.entries)) }
            var entries = root
            for name in sectionOrder {
                guard let tables = grouped[name], let first = tables.first, let p = first.position, let defined = rootKeys[name]?.defined else { continue }
                let shown = TOMLReader.display(name)
                let value = defined == .tables ? TOMLValue(kind: .tables(tables), text: "[[\(shown)]]", position: p)
                                               : TOMLValue(kind: .table(first), text: "[\(shown)]", position: p)
                entries.append(TOMLTable.Entry(key: name, position: p, value: value))
            }
            return TOMLTable(position: nil, entries: entries)
        }

        // MARK: Values

        mutating func value(inList: Bool) throws -> TOMLValue {
            let at = here()
            let start = i
            guard let x = c else { throw fail("expected a value") }
            switch x {
            case UInt8(ascii: "\""):
                if peek(1) == x && peek(2) == x { throw fail("multi-line strings are not used in round files") }
                let s = try basicString()
                return TOMLValue(kind: .string(s), text: text(from: start), position: at)
            case UInt8(ascii: "'"):
                if peek(1) == x && peek(2) == x { throw fail("multi-line strings are not used in round files") }
                let s = try literalString()
                return TOMLValue(kind: .string(s), text: text(from: start), position: at)
            case UInt8(ascii: "["):
                if inList { throw fail("lists of lists are not used in round files") }
                return try list()
            case UInt8(ascii: "{"):
                throw fail("inline tables are not used in round files (write a [table] or [[table]] section)")
            case UInt8(ascii: "+"), UInt8(ascii: "-"), 48...57:
                return try number()
            case 97...122, 65...90:
                while let y = c, TOMLReader.isBare(y) { i += 1 }
                switch text(from: start) {
                case "true": return TOMLValue(kind: .boolean(true), text: "true", position: at)
                case "false": return TOMLValue(kind: .boolean(false), text: "false", position: at)
                case "inf", "nan": throw fail("inf and nan are not numbers a round file can use", at: at)
                default: throw fail("expected a value (text needs quotes: \"like this\")", at: at)
                }
            default:
                throw fail("expected a value (a string in quotes, a number, true, false or a [list])")
            }
        }

        mutating func list() throws -> TOMLValue {
            let at = here()
            let start = i
            i += 1
            var items: [TOMLValue] = []
            while true {
                try gap()
                if c == UInt8(ascii: "]") { break }
                let item = try value(inList: true)
                if let first = items.first, first.category != item.category {
                    throw fail("a list holds one kind of value (this is \(item.category), the first is \(first.category))", at: item.position)
                }
                items.append(item)
                try gap()
                if c == UInt8(ascii: ",") { i += 1; continue }
                guard c == UInt8(ascii: "]") else { throw fail("expected ',' or ']' in a list") }
                break
            }
            i += 1
            return TOMLValue(kind: .array(items), text: text(from: start), position: at)
        }

        /// Digits with single '_' between them; returns how many digits.
        mutating func digits() throws -> Int {
            var n = 0
            while let y = c {
                if TOMLReader.isDigit(y) {
                    n += 1
                } else if y == UInt8(ascii: "_") {
                    guard n > 0, let before = i > 0 ? bytes[i - 1] : nil, TOMLReader.isDigit(before),
                          let after = peek(1), TOMLReader.isDigit(after) else { throw fail("'_' must stand between digits") }
                } else {
                    break
                }
                i += 1
            }
            return n
        }

        mutating func number() throws -> TOMLValue {
            let at = here()
            let start = i
            if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { i += 1 }
            if let x = c, (97...122).contains(x) {
                let word = i
                while let y = c, TOMLReader.isBare(y) { i += 1 }
                if ["inf", "nan"].contains(text(from: word)) { throw fail("inf and nan are not numbers a round file can use", at: at) }
                i = word
            }
            guard let first = c, TOMLReader.isDigit(first) else { throw fail("expected a digit") }
            if first == UInt8(ascii: "0"), let x = peek(1), [UInt8(ascii: "x"), UInt8(ascii: "o"), UInt8(ascii: "b")].contains(x) {
                throw fail("hex, octal and binary numbers are not used in round files", at: at)
            }
            let whole = try digits()
            if c == UInt8(ascii: "-") || c == UInt8(ascii: ":") { throw fail("dates and times are not used in round files", at: at) }
            if first == UInt8(ascii: "0") && whole > 1 { throw fail("leading zeros are not allowed", at: at) }
            var fraction = 0
            var isDecimal = false
            if c == UInt8(ascii: ".") {
                i += 1
                isDecimal = true
                guard let d = c, TOMLReader.isDigit(d) else { throw fail("a decimal needs digits after the point") }
                fraction = try digits()
            }
            if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                throw fail("exponents are not used in round files (write the number out: 0.000001, not 1e-6)", at: at)
            }
            if let x = c, TOMLReader.isBare(x) || x == UInt8(ascii: ".") || x == UInt8(ascii: ":") { throw fail("unexpected character in a number") }
            guard whole <= TOMLReader.maxWholeDigits else {
                throw fail("a number may have at most \(TOMLReader.maxWholeDigits) digits before the point", at: at)
            }
            guard fraction <= Fixed.fractionDigits else {
                throw fail("a number may have at most \(Fixed.fractionDigits) digits after the point (they are kept exactly)", at: at)
            }
            return TOMLValue(kind: isDecimal ? .decimal : .integer, text: text(from: start), position: at)
        }

        mutating func basicString() throws -> String {
            i += 1
            var out: [UInt8] = []
            while true {
                guard let x = c, x != 0x0A, x != 0x0D else { throw fail("unterminated string (a string ends on its line)") }
                if x == UInt8(ascii: "\"") { i += 1; return String(decoding: out, as: UTF8.self) }
                if x < 0x20 && x != 0x09 || x == 0x7F { throw fail("control character in a string") }
                guard x == UInt8(ascii: "\\") else { out.append(x); i += 1; continue }
                let escape = here()
                i += 1
                guard let e = c else { throw fail("unterminated string (a string ends on its line)") }
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let n = e == UInt8(ascii: "u") ? 4 : 8
                    var v: UInt32 = 0
                    for _ in 0..<n {
                        guard let h = c, let d = Self.hex(h) else { throw fail("\\\(Character(Unicode.Scalar(e))) needs \(n) hex digits", at: escape) }
                        v = v << 4 | d
                        i += 1
                    }
                    guard let scalar = Unicode.Scalar(v) else { throw fail("the escape is not a Unicode scalar value", at: escape) }
                    out.append(contentsOf: String(Character(scalar)).utf8)
                default:
                    throw fail("unknown escape in a string (use \\\" \\\\ \\b \\t \\n \\f \\r \\uXXXX or \\UXXXXXXXX)", at: escape)
                }
            }
        }

        static func hex(_ h: UInt8) -> UInt32? {
            switch h {
            case 48...57: UInt32(h - 48)
            case 97...102: UInt32(h - 87)
            case 65...70: UInt32(h - 55)
            default: nil
            }
        }

        mutating func literalString() throws -> String {
            i += 1
            let start = i
            while true {
                guard let x = c, x != 0x0A, x != 0x0D else { throw fail("unterminated string (a string ends on its line)") }
                if x == UInt8(ascii: "'") { break }
                if x < 0x20 && x != 0x09 || x == 0x7F { throw fail("control character in a string") }
                i += 1
            }
            let s = text(from: start)
            i += 1
            return s
        }
    }
}
