import Foundation
import VaultCrypto
#if canImport(Glibc)
import Glibc
#endif

/// File helpers with the permissions and atomicity a vault needs.
public enum Files {
    public static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Reads a whole file, mapping a missing one to exit 66.
    public static func read(_ path: String, what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if exists(path) { throw VaultError.permission("cannot read \(what) \(path)") }
            throw VaultError.notFound("\(what) \(path) does not exist")
        }
        return [UInt8](data)
    }

    /// Writes `bytes` to `path` atomically: a new file with `mode` in the same folder, fsync,
    /// then rename. With `overwrite: false` an existing file is never replaced. Why: a crash
    /// half-way must never leave a truncated key file in place of a good one.
    public static func writeAtomically(_ bytes: some ContiguousBytes, to path: String, mode: mode_t,
                                       overwrite: Bool) throws {
        if !overwrite && exists(path) { throw VaultError.usage("\(path) already exists; refusing to overwrite it") }
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp-\(Hex.encode(SecureRandom.bytes(count: 6)))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == ENOENT { throw VaultError.notFound("folder \(dir) does not exist") }
            throw VaultError.permission("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        var ok = fchmod(fd, mode) == 0
        bytes.withUnsafeBytes { b in
            var off = 0
            while ok && off < b.count {
                let n = write(fd, b.baseAddress! + off, b.count - off)
                if n <= 0 { ok = false } else { off += n }
            }
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        if ok {
            if overwrite { ok = rename(tmp, path) == 0 } else {
                // link() fails if `path` appeared meanwhile: no silent replacement.
                ok = link(tmp, path) == 0
                unlink(tmp)
                if !ok && errno == EEXIST { throw VaultError.usage("\(path) already exists; refusing to overwrite it") }
            }
        }
        if !ok {
            unlink(tmp)
            throw VaultError.internalError("could not write \(path): \(String(cString: strerror(errno)))")
        }
        syncDirectory(dir.isEmpty ? "." : dir)
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
