import Foundation
import VaultCrypto
#if canImport(Glibc)
import Glibc
#endif

/// File helpers with the permissions and atomicity a vault needs.
public enum Files {
    public static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// The path that means standard input, as it does for age, gpg and most Unix tools.
    public static let standardInput = "-"

    /// How messages name an input: "standard input" for `-`, else the path.
    public static func displayName(_ path: String) -> String { path == standardInput ? "standard input" : path }

    /// Who has read standard input in this process, if anyone: it can be read only once, so a
    /// second `-` (`--csv -` with `--passphrase-file -`) is refused rather than handed whatever
    /// the first reader left.
    private final class StandardInputClaim: @unchecked Sendable {
        let lock = NSLock()
        var owner: String?
    }
    private static let standardInputClaim = StandardInputClaim()

    /// Opens a file a user named for reading, and returns its descriptor (the caller closes it).
    /// `-` is standard input (a duplicate of descriptor 0, claimed once per process); any other
    /// path is opened as it is, so a pipe, `/dev/stdin` or a `<(…)` path (`/dev/fd/N`) reads
    /// like a file. A missing file is exit 66, one that cannot be opened 77.
    public static func openForReading(_ path: String, what: String) throws -> Int32 {
        if path == standardInput {
            let claim = standardInputClaim
            claim.lock.lock()
            defer { claim.lock.unlock() }
            if let owner = claim.owner {
                throw VaultError.usage("standard input is already read for the \(owner); give the \(what) as a file")
            }
            let fd = dup(0)
            guard fd >= 0 else { throw VaultError.permission("cannot read \(what) from standard input (it is closed)") }
            claim.owner = what
            return fd
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw VaultError.notFound("\(what) \(path) does not exist") }
            throw VaultError.permission("cannot read \(what) \(path)")
        }
        return fd
    }

    /// Reads a whole file (or `-`, standard input), mapping a missing one to exit 66. For a
    /// file given by anyone, use `read(_:what:limit:)`, which never reads more than its bound.
    public static func read(_ path: String, what: String) throws -> [UInt8] {
        try read(path, what: what, limit: Int.max)
    }

    /// Reads a whole file that must hold at most `limit` bytes: one given to a verifier by
    /// anyone. Never reads more than `limit` plus one chunk, whatever the path names (a huge
    /// file, a pipe, standard input, /dev/zero); a larger file is refused with exit 65, a
    /// missing one with 66.
    public static func read(_ path: String, what: String, limit: Int) throws -> [UInt8] {
        let fd = try openForReading(path, what: what)
        defer { close(fd) }
        let name = displayName(path)
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw VaultError.permission("cannot read \(what) \(name)")
            }
            if n == 0 { return out }
            guard n <= limit - out.count else {
                throw VaultError.invalidData("\(what) \(name) is larger than \(sizeText(limit)); refusing to read it")
            }
            out += chunk[0..<n]
        }
    }

    /// A byte count for messages: "1 MiB", "64 KiB", or "1000 bytes".
    static func sizeText(_ bytes: Int) -> String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10) KiB" }
        return "\(bytes) bytes"
    }

    /// Writes `bytes` to `path` atomically: a new file with `mode` in the same folder, fsync,
    /// then rename. With `overwrite: false` an existing file is never replaced. Why: a crash
    /// half-way must never leave a truncated key file in place of a good one.
    /// `durable: false` skips the fsync: for files whose loss in a crash costs nothing but a
    /// little knowledge (a client's state: it then only knows an older point of a log).
    public static func writeAtomically(_ bytes: some ContiguousBytes, to path: String, mode: mode_t,
                                       overwrite: Bool, durable: Bool = true) throws {
        if !overwrite && exists(path) { throw VaultError.usage("\(path) already exists; refusing to overwrite it") }
        let writer = try AtomicWriter(path: path, mode: mode)
        try writer.write(bytes)
        try writer.commit(overwrite: overwrite, durable: durable)
    }

    /// A file written in pieces and put in place only when complete: a temporary file in the same
    /// folder, fsync, then rename (or link, to refuse replacing). Used for key files and exports,
    /// so memory does not grow with the output and a crash never leaves half a file under the
    /// final name. Dropped without `commit`, it removes its temporary file.
    public final class AtomicWriter {
        let fd: Int32
        let tmp: String
        let path: String
        let mode: mode_t
        /// Set once the descriptor is closed and the temporary name dealt with.
        var finished = false

        public init(path: String, mode: mode_t) throws {
            self.path = path
            self.mode = mode
            let dir = (path as NSString).deletingLastPathComponent
            tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp-\(Hex.encode(SecureRandom.bytes(count: 6)))"
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            guard fd >= 0 else {
                if errno == ENOENT { throw VaultError.notFound("folder \(dir.isEmpty ? "." : dir) does not exist") }
                throw VaultError.permission("cannot create \(path): \(String(cString: strerror(errno)))")
            }
        }

        func failure() -> VaultError { .internalError("could not write \(path): \(String(cString: strerror(errno)))") }

        public func write(_ bytes: some ContiguousBytes) throws {
            precondition(!finished, "write after commit")
            try bytes.withUnsafeBytes { b in
                var off = 0
                while off < b.count {
                    let n = Glibc.write(fd, b.baseAddress! + off, b.count - off)
                    if n <= 0 { throw failure() }
                    off += n
                }
            }
        }

        /// Makes the file visible under its name. With `overwrite: false` the file is linked
        /// into place, which fails if `path` appeared meanwhile: never a silent replacement.
        public func commit(overwrite: Bool = true, durable: Bool = true) throws {
            precondition(!finished, "commit twice")
            finished = true
            let synced = fchmod(fd, mode) == 0 && (!durable || fsync(fd) == 0)
            let closed = close(fd) == 0
            defer { unlink(tmp) }  // after a rename this is a no-op; after a link it drops the extra name
            guard synced && closed else { throw failure() }
            if overwrite {
                guard rename(tmp, path) == 0 else { throw failure() }
            } else if link(tmp, path) != 0 {
                if errno == EEXIST { throw VaultError.usage("\(path) already exists; refusing to overwrite it") }
                throw failure()
            }
            if durable {
                let dir = (path as NSString).deletingLastPathComponent
                Files.syncDirectory(dir.isEmpty ? "." : dir)
            }
        }

        deinit {
            if !finished { close(fd); unlink(tmp) }
        }
    }

    /// fsync on a folder, so a rename in it survives a crash.
    public static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Creates a folder (and parents) with the given mode.
    public static func makeDirectory(_ path: String, mode: Int) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: mode])
        } catch {
            throw VaultError.permission("cannot create folder \(path)")
        }
    }

    /// The permission bits of a file, or nil when it does not exist.
    public static func mode(_ path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return st.st_mode & 0o7777
    }
}
