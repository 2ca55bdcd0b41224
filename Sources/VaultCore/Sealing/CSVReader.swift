/// An RFC 4180 CSV reader: fields separated by commas, records by CRLF or LF, fields in double
/// quotes may hold commas, line breaks and doubled quotes (`""`). Every record carries the
/// line it starts on, so errors can name it. Every field is checked to be UTF-8.
///
/// `scan` hands each record to a closure without building strings, so a million-row file costs
/// no allocation per row (design: Performance); `parse` collects strings on top of it for small inputs.
public enum CSVReader {
    public struct Record: Sendable {
        public let line: Int
        public let fields: [String]
    }

    /// The fields of one record, back to back in one reused buffer.
    public struct Fields: ~Copyable {
        var bytes: [UInt8] = []
        var ends: [Int] = []

        public var count: Int { ends.count }

        /// The bytes of field `i` (valid UTF-8).
        public func withField<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            let start = i == 0 ? 0 : ends[i - 1]
            return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<ends[i]])) }
        }

        public func string(_ i: Int) -> String { withField(i) { String(decoding: $0, as: UTF8.self) } }

        public func isEmpty(_ i: Int) -> Bool { (i == 0 ? 0 : ends[i - 1]) == ends[i] }
    }

    public static func parse(_ bytes: [UInt8], file: String) throws -> [Record] {
        var records: [Record] = []
        try bytes.withUnsafeBytes { buffer in
            try scan(buffer, file: file) { line, fields in
                records.append(Record(line: line, fields: (0..<fields.count).map { fields.string($0) }))
            }
        }
        return records
    }

    /// Calls `record` for each non-empty record, in order.
    /// `firstLine`: the line `input` starts on (a block of a longer file).
    public static func scan(_ input: UnsafeRawBufferPointer, file: String, firstLine: Int = 1,
                            _ record: (_ line: Int, _ fields: borrowing Fields) throws -> Void) throws {
        var fields = Fields()
        var line = firstLine, recordLine = firstLine
        var i = 0
        let n = input.count
        var inQuotes = false, wasQuoted = false, highBit = false
        func fail(_ why: String) -> VaultError { .invalidData("\(file):\(line): \(why)") }
        func endField() throws {
            if highBit {
                let start = fields.ends.last ?? 0
                guard fields.bytes[start...].withUnsafeBytes({ String(validating: $0, as: UTF8.self) }) != nil else {
                    throw fail("not valid UTF-8")
                }
            }
            fields.ends.append(fields.bytes.count)
            wasQuoted = false
            highBit = false
        }
        func endRecord() throws {
            try endField()
            if !(fields.ends.count == 1 && fields.ends[0] == 0) { try record(recordLine, fields) }
            fields.bytes.removeAll(keepingCapacity: true)
            fields.ends.removeAll(keepingCapacity: true)
        }
        while i < n {
            let b = input[i]
            if inQuotes {
                if b == 0x22 {
                    if i + 1 < n && input[i + 1] == 0x22 { fields.bytes.append(0x22); i += 2; continue }
                    inQuotes = false
                } else {
                    if b == 0x0A { line += 1 }
                    if b >= 0x80 { highBit = true }
                    fields.bytes.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case 0x22:
                guard (fields.ends.last ?? 0) == fields.bytes.count && !wasQuoted else {
                    throw fail("a quote inside an unquoted field (quote the whole field and double the quote)")
                }
                inQuotes = true
                wasQuoted = true
                i += 1
            case 0x2C:
                try endField()
                i += 1
            case 0x0D where i + 1 < n && input[i + 1] == 0x0A:
                i += 1
            case 0x0A:
                try endRecord()
                line += 1
                recordLine = line
                i += 1
            default:
                guard !wasQuoted else { throw fail("text after a closing quote") }
                // The run of ordinary bytes up to the next special one, copied at once.
                var j = i
                while j < n {
                    let c = input[j]
                    if c == 0x2C || c == 0x0A || c == 0x0D || c == 0x22 { break }
                    if c >= 0x80 { highBit = true }
                    j += 1
                }
                if j == i { fields.bytes.append(b); j += 1 }  // a lone CR
                else { fields.bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[i..<j])) }
                i = j
            }
        }
        guard !inQuotes else { throw VaultError.invalidData("\(file):\(recordLine): a quoted field is never closed") }
        if fields.bytes.count > (fields.ends.last ?? 0) || !fields.ends.isEmpty || wasQuoted { try endRecord() }
    }
}
