/// An RFC 4180 CSV reader: fields separated by commas, records by CRLF or LF, fields in double
/// quotes may hold commas, line breaks and doubled quotes (`""`). Every record carries the
/// line it starts on, so errors can name it.
public enum CSVReader {
    public struct Record: Sendable {
        public let line: Int
        public let fields: [String]
    }

    public static func parse(_ bytes: [UInt8], file: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1, recordLine = 1
        var i = 0
        var inQuotes = false, wasQuoted = false
        func fail(_ why: String) -> VaultError { .invalidData("\(file):\(line): \(why)") }
        func endField() throws {
            guard let s = String(validating: field, as: UTF8.self) else { throw fail("not valid UTF-8") }
            fields.append(s)
            field.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        func endRecord() throws {
            try endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: recordLine, fields: fields)) }
            fields.removeAll(keepingCapacity: true)
        }
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == 0x22 {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x22 { field.append(0x22); i += 2; continue }
                    inQuotes = false
                } else {
                    if b == 0x0A { line += 1 }
                    field.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case 0x22:
                guard field.isEmpty && !wasQuoted else { throw fail("a quote inside an unquoted field (quote the whole field and double the quote)") }
                inQuotes = true
                wasQuoted = true
            case 0x2C:
                try endField()
            case 0x0D where i + 1 < bytes.count && bytes[i + 1] == 0x0A:
                break
            case 0x0A:
                try endRecord()
                line += 1
                recordLine = line
            default:
                guard !wasQuoted else { throw fail("text after a closing quote") }
                field.append(b)
            }
            i += 1
        }
        guard !inQuotes else { throw VaultError.invalidData("\(file):\(recordLine): a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty || wasQuoted { try endRecord() }
        return records
    }
}
