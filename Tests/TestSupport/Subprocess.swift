import CTestSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a program as a child process the way CI and users do: stdin from /dev/null, stdout and
/// stderr captured through files, an explicit environment, and a new session (setsid) so the
/// child has no controlling terminal — a passphrase prompt must fail at once, never hang.
public enum Subprocess {
    /// Writes `bytes` into a pipe's write end from another thread, then closes it, so a reader
    /// that reads slowly (or not at all) never blocks the test; a reader that closes early makes
    /// the write fail with EPIPE (SIGPIPE is ignored for the test process).
    public static func feed(_ bytes: [UInt8], into writeEnd: Int32) {
        signal(SIGPIPE, SIG_IGN)
        Thread.detachNewThread {
            bytes.withUnsafeBytes { b in
                var off = 0
                while off < b.count {
                    let n = write(writeEnd, b.baseAddress! + off, b.count - off)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    off += n
                }
            }
            close(writeEnd)
        }
    }

    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// The folder that holds the built `evalvault` (the test binary's own folder), or $EVALVAULT_BIN's.
    public static var evalvaultPath: String {
        if let override = ProcessInfo.processInfo.environment["EVALVAULT_BIN"] { return override }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On Linux the tests run from .build/<triple>/<config>/<Package>PackageTests.xctest.
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("evalvault").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("evalvault").path
    }

    /// The environment every child starts from: PATH, HOME, TMPDIR and LANG, and the sanitizers'
    /// options (so `ASAN_OPTIONS=… swift test --sanitize=address` reaches the CLI processes too).
    public static var baseEnvironment: [String: String] {
        let env = ProcessInfo.processInfo.environment
        var out: [String: String] = ["PATH": env["PATH"] ?? "/usr/bin:/bin", "LANG": "C.UTF-8"]
        for k in ["HOME", "TMPDIR", "ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS"] { if let v = env[k] { out[k] = v } }
        return out
    }

    /// Spawns and waits. `timeout` kills the child (SIGKILL) if it runs too long. With `stdin`,
    /// the child's standard input is a pipe that these bytes are written into (as from
    /// `cat FILE | evalvault …`), so `-`, `/dev/stdin` and `/dev/fd/0` name a pipe, not a file.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                           directory: String, stdin: [UInt8]? = nil, timeout: TimeInterval = 120) throws -> Result {
        let child = try spawn(executable, arguments, environment: environment, directory: directory, stdin: stdin)
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let r = waitpid(child.pid, &status, WNOHANG)
            if r == child.pid { break }
            if r < 0 { throw POSIXError(.ECHILD) }
            if Date() > deadline { kill(child.pid, SIGKILL) }
            usleep(2_000)
        }
        return child.result(status: status)
    }

    /// A started child whose output goes to temporary files.
    public struct Child {
        public let pid: pid_t
        let outPath: String
        let errPath: String

        public func result(status: Int32) -> Result {
            defer { unlink(outPath); unlink(errPath) }
            let exited = (status & 0x7f) == 0
            let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            func read(_ p: String) -> String { String(decoding: FileManager.default.contents(atPath: p) ?? Data(), as: UTF8.self) }
            return Result(status: code, stdout: read(outPath), stderr: read(errPath))
        }
    }

    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String],
                             directory: String, stdin: [UInt8]? = nil) throws -> Child {
        let tmp = NSTemporaryDirectory() + "evalvault-sub-\(UUID().uuidString)"
        let outPath = tmp + ".out", errPath = tmp + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [Int32] = [-1, -1]
        if stdin != nil {
            guard evalvault_pipe_cloexec(&pipeEnds) == 0 else { throw POSIXError(.EMFILE) }
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0)  // dup2 clears close-on-exec on 0
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        evalvault_spawn_addchdir(&actions, directory)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setflags(&attr, Int16(0x80))  // POSIX_SPAWN_SETSID: no controlling terminal

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attr, argv, envp)
        if let stdin {
            close(pipeEnds[0])
            // Written from another thread, so a child that reads slowly (or not at all) never
            // blocks the test; a child that exits early makes the write fail (EPIPE, not SIGPIPE:
            // MSG_NOSIGNAL has no file equivalent, so SIGPIPE is ignored for the test process).
            feed(stdin, into: pipeEnds[1])
        }
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        return Child(pid: pid, outPath: outPath, errPath: errPath)
    }
}

/// A fresh temporary folder, removed when the value is released.
public final class TemporaryFolder: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "evalvault-test") {
        let base = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("\(label)-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Every regular file below the folder.
    public func allFiles() -> [String] {
        guard let e = FileManager.default.enumerator(atPath: path) else { return [] }
        return e.compactMap { $0 as? String }.map { path + "/" + $0 }.filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &isDir) && !isDir.boolValue
        }
    }
}

extension Array where Element == UInt8 {
    /// True when `needle` occurs anywhere in these bytes.
    public func contains(bytes needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        let first = needle[0]
        var i = 0
        while i <= count - needle.count {
            if self[i] == first && Array(self[i..<(i + needle.count)]) == needle { return true }
            i += 1
        }
        return false
    }
}
