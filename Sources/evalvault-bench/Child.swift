import Foundation

/// One measured child process: wall time, peak resident memory (from wait4), exit status, output.
struct Measured {
    let seconds: Double
    let peakMiB: Double
    let status: Int32
    let stdout: String
    let stderr: String

    /// `result NAME VALUE` lines a bench worker prints.
    func result(_ name: String) -> Double? {
        for line in stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 3, parts[0] == "result", parts[1] == name { return Double(parts[2]) }
        }
        return nil
    }
}

/// The worker's end of that protocol: the one place a bench worker writes to stdout. A name is a
/// literal and a value a number, so nothing a worker holds (passphrases, keys, scores) can reach
/// the runner's output through it.
enum WorkerResult {
    static func report(_ name: StaticString, _ value: Double) {
        print("result \(name) \(value)")
    }

    static func report(_ name: StaticString, _ value: Int) { report(name, Double(value)) }
}

enum Child {
    struct Failed: Error, CustomStringConvertible {
        let command: [String], status: Int32, stderr: String
        var description: String { "\(command.joined(separator: " ")) exited with \(status): \(stderr.suffix(600))" }
    }

    /// Runs `argv` (argv[0] a path) with `stdin` from a file (or /dev/null) and the given extra
    /// environment; output goes to temporary files. Throws when it exits non-zero.
    static func run(_ argv: [String], stdin: String? = nil, environment: [String: String] = [:], in dir: String) throws -> Measured {
        let out = dir + "/child-\(UUID().uuidString)"
        defer { unlink(out + ".out"); unlink(out + ".err") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, out + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        guard rc == 0 else { throw Failed(command: argv, status: -1, stderr: String(cString: strerror(rc))) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        var end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &end)
        let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
        let exit = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let m = Measured(seconds: seconds, peakMiB: Double(usage.ru_maxrss) / 1024, status: exit,
                         stdout: (try? String(contentsOfFile: out + ".out", encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: out + ".err", encoding: .utf8)) ?? "")
        guard exit == 0 else { throw Failed(command: argv, status: exit, stderr: m.stderr) }
        return m
    }

    /// The full path of a program on $PATH, or nil.
    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if access(path, X_OK) == 0 { return path }
        }
        return nil
    }
}
