import CSQLite
import Foundation

/// A SQLite connection (one per process and command). Not thread-safe: each command runs its
/// store work on one thread; parallel crypto work happens outside it.
public final class Database {
    let handle: OpaquePointer
    public let path: String
    /// What to do when this file turns out to be corrupt, added to that error (a vault's: how to
    /// restore it from a backup).
    var corruptionAdvice: String?

    /// Opens (or with `create`, creates) the database at `path` with the settings every vault
    /// relies on: WAL journal (design: On disk) with full fsync, foreign keys, secure_delete (freed
    /// pages are zeroed, so deleted key wraps do not linger), and a busy timeout so concurrent
    /// evalvault processes wait for each other instead of failing with "database is locked".
    public init(path: String, create: Bool, corruptionAdvice: String? = nil) throws {
        self.corruptionAdvice = corruptionAdvice
        _ = Self.configured
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            if let db { sqlite3_close_v2(db) }
            if rc == SQLITE_CANTOPEN && !FileManager.default.fileExists(atPath: path) {
                throw VaultError.notFound("no vault at \((path as NSString).deletingLastPathComponent): \(path) does not exist (run `evalvault init` first, or pass --dir)")
            }
            throw VaultError.permission("cannot open \(path)")
        }
        handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 10_000)
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = FULL")
        try execute("PRAGMA foreign_keys = ON")
        try execute("PRAGMA secure_delete = ON")
        try execute("PRAGMA trusted_schema = OFF")
    }

    /// Opens an existing SQLite file that is not a live vault — a backup file, or a restored
    /// vault.db before it is one — with no WAL (so it stays one self-contained file), read-only
    /// unless `writable`. (An empty file is an empty database: `VaultBackup.createPrivate` makes
    /// one with mode 0600 for SQLite to fill.)
    init(plainFile path: String, writable: Bool = false) throws {
        _ = Self.configured
        var db: OpaquePointer?
        let flags = (writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            if let db { sqlite3_close_v2(db) }
            if !FileManager.default.fileExists(atPath: path) { throw VaultError.notFound("\(path) does not exist") }
            throw VaultError.permission("cannot open \(path)")
        }
        handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        try execute("PRAGMA trusted_schema = OFF")
        if writable { try execute("PRAGMA synchronous = FULL") }
    }

    deinit { sqlite3_close_v2(handle) }

    /// Copies this whole database, as one consistent snapshot, into `destination` (a new,
    /// empty database) with SQLite's online backup API: other processes may keep writing the
    /// vault meanwhile; the copy is what was committed when it started.
    func copy(into destination: Database) throws {
        guard let backup = sqlite3_backup_init(destination.handle, "main", handle, "main") else {
            throw destination.error(sqlite3_errcode(destination.handle))
        }
        let step = sqlite3_backup_step(backup, -1)
        let finish = sqlite3_backup_finish(backup)
        guard step == SQLITE_DONE else { throw destination.error(step) }
        guard finish == SQLITE_OK else { throw destination.error(finish) }
    }

    /// SQLite's own check of every page, index and constraint: nil when sound, else its first
    /// complaint.
    func integrityProblem() throws -> String? {
        let s = try prepare("PRAGMA integrity_check(1)")
        guard try s.step() else { return "no answer from integrity_check" }
        let answer = s.text(0)
        return answer == "ok" ? nil : answer
    }

    /// Process-wide settings, once, before the first connection: no allocation statistics
    /// (a global lock per malloc, visible in bulk inserts' profiles).
    private static let configured: Void = { _ = evalvault_sqlite_memstatus_off() }()

    /// The SQLite library in use (for benchmark and bug reports).
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    /// Runs one or more statements that return no rows of interest.
    public func execute(_ sql: String) throws {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc) }
    }

    public func prepare(_ sql: String) throws -> Statement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc) }
        return Statement(stmt, db: self)
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: all of it commits or none of it does.
    /// IMMEDIATE takes the write lock up front, so two writers queue on the busy timeout rather
    /// than deadlocking on a lock upgrade.
    @discardableResult
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Moves the WAL into the database and truncates it, so nothing deleted lingers there.
    public func truncateWAL() throws { try execute("PRAGMA wal_checkpoint(TRUNCATE)") }

    public var userVersion: Int {
        get throws {
            let s = try prepare("PRAGMA user_version")
            guard try s.step() else { return 0 }
            return s.int(0)
        }
    }

    /// Maps a SQLite result code to a VaultError. SQLite's messages name tables and constraints,
    /// never bound values, so they are safe to show.
    func error(_ rc: Int32) -> VaultError {
        let message = String(cString: sqlite3_errmsg(handle))
        switch rc & 0xff {
        case SQLITE_CORRUPT, SQLITE_NOTADB:
            return .integrity("\(path) is corrupt (\(message))" + (corruptionAdvice.map { "; \($0)" } ?? ""))
        case SQLITE_BUSY, SQLITE_LOCKED:
            return .internalError("the vault stayed busy for 10 s; another evalvault process is holding it (\(message))")
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH:
            return .permission("cannot write to \(path) (\(message))")
        case SQLITE_FULL:
            return .internalError("the disk is full (\(message))")
        default:
            return .internalError("database error: \(message)")
        }
    }
}

/// A prepared statement. Bind with 1-based indexes, step, read 0-based columns.
public final class Statement {
    let handle: OpaquePointer
    unowned let db: Database

    init(_ handle: OpaquePointer, db: Database) {
        self.handle = handle
        self.db = db
    }

    deinit { sqlite3_finalize(handle) }

    @discardableResult
    public func bind(_ values: any SQLValue..., from start: Int32 = 1) throws -> Statement {
        for (i, v) in values.enumerated() { try v.bind(to: self, at: start + Int32(i)) }
        return self
    }

    func check(_ rc: Int32) throws { guard rc == SQLITE_OK else { throw db.error(rc) } }

    /// Steps once: true when a row is ready, false when done.
    public func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw db.error(rc)
        }
    }

    /// Steps to completion, for statements without rows.
    public func run() throws {
        while try step() {}
        reset()
    }

    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // Hot-loop binding (a bulk seal inserts a million rows): values bound without a copy
    // (SQLITE_STATIC), so the caller keeps them alive until `stepDone`; the other parameters
    // keep their bindings across steps.
    public func bind(_ index: Int32, int64 value: Int64) throws { try check(sqlite3_bind_int64(handle, index, value)) }
    public func bind(_ index: Int32, text: UnsafeRawBufferPointer) throws {
        try check(sqlite3_bind_text(handle, index, (text.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self), Int32(text.count), nil))
    }
    public func bind(_ index: Int32, blob: UnsafeRawBufferPointer) throws {
        try check(sqlite3_bind_blob(handle, index, blob.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(blob.count), nil))
    }
    /// Steps a statement that returns no rows and resets it, keeping its bindings.
    public func stepDone() throws {
        let rc = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard rc == SQLITE_DONE else { throw db.error(rc) }
    }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    public func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
    public func text(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: p)
    }
    public func blob(_ column: Int32) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(handle, column))
        guard n > 0, let p = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
    /// The bytes of a column without a copy; valid only inside `body` (SQLite owns them).
    public func withBytes<R>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let p = sqlite3_column_blob(handle, column)  // before _bytes, as SQLite asks
        let n = Int(sqlite3_column_bytes(handle, column))
        return try body(UnsafeRawBufferPointer(start: n > 0 ? p : nil, count: n))
    }
    public func optionalBlob(_ column: Int32) -> [UInt8]? { isNull(column) ? nil : blob(column) }
}

/// A value that can be bound to a statement parameter.
public protocol SQLValue {
    func bind(to statement: Statement, at index: Int32) throws
}

extension Int: SQLValue {
    public func bind(to s: Statement, at i: Int32) throws { try s.check(sqlite3_bind_int64(s.handle, i, Int64(self))) }
}
extension Bool: SQLValue {
    public func bind(to s: Statement, at i: Int32) throws { try s.check(sqlite3_bind_int64(s.handle, i, self ? 1 : 0)) }
}
extension String: SQLValue {
    public func bind(to s: Statement, at i: Int32) throws {
        try s.check(sqlite3_bind_text(s.handle, i, self, -1, evalvault_sqlite_transient()))
    }
}
extension Array: SQLValue where Element == UInt8 {
    public func bind(to s: Statement, at i: Int32) throws {
        try s.check(withUnsafeBytes { b in
            sqlite3_bind_blob(s.handle, i, b.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(b.count), evalvault_sqlite_transient())
        })
    }
}
extension Optional: SQLValue where Wrapped: SQLValue {
    public func bind(to s: Statement, at i: Int32) throws {
        if let v = self { try v.bind(to: s, at: i) } else { try s.check(sqlite3_bind_null(s.handle, i)) }
    }
}
