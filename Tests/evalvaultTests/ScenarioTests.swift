import Foundation
import TestSupport
import Testing

/// CLI scenarios in the manner of age's `cmd/age/testdata/*.txt`: each file in `testdata/` is a
/// short story of `evalvault` commands run as a user runs them, in a fresh folder ($WORK).
///
///     # comment
///     env NAME=value            set a variable for the following commands (unenv NAME removes it)
///     evalvault ARGS...         must exit 0
///     fail 77 evalvault ARGS... must exit 77; a `stderr` pattern must follow before the next command
///     stdout REGEX              the last command's stdout matches (`! stdout REGEX`: does not)
///     stderr REGEX              likewise for stderr
///     exists PATH / ! exists PATH
///     mode PATH 600             the file's permission bits, in octal
///     chmod 644 PATH
///     flip PATH OFFSET          XOR 0x01 into one byte (a negative offset counts from the end)
///     truncate PATH LENGTH
///     cp FROM TO / rm PATH      copy a file or folder over TO (restoring an old copy); remove one
///     cp stdout NAME            save the last command's stdout as $WORK/NAME
///     cmp stdout NAME           the last command's stdout is exactly $WORK/NAME's bytes
///     absent TEXT PATH          TEXT occurs in no file under PATH
///     grep REGEX PATH           the file's text matches (`! grep REGEX PATH`: does not)
///     stdin PATH                the next command's standard input is a pipe fed with this file
///                               (as `cat PATH | evalvault …`); otherwise it is /dev/null
///     -- NAME --                the lines up to the next `-- X --` are written to $WORK/NAME first
///
/// Words are split on spaces; '...' and "..." quote. `$WORK` is the scenario's folder, `$REPO`
/// the repository's root (for its policy and case files).
/// Every command's stderr is also checked never to show a stack trace or a Swift type name.
@Suite("CLI scenarios")
struct ScenarioTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("testdata")
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static var scenarios: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".txt") }.sorted()
    }

    @Test("scenario", arguments: scenarios)
    func run(_ name: String) throws {
        let text = try String(contentsOf: Self.directory.appendingPathComponent(name), encoding: .utf8)
        try Scenario(name: name, text: text).run()
    }

    @Test("there are scenarios to run")
    func found() { #expect(Self.scenarios.count >= 3) }
}

struct ScenarioError: Error, CustomStringConvertible {
    let description: String
}

struct Scenario {
    let name: String
    var script: [(line: Int, text: String)] = []
    var files: [String: String] = [:]

    init(name: String, text: String) throws {
        self.name = name
        var current: String?
        for (i, raw) in text.components(separatedBy: "\n").enumerated() {
            if raw.hasPrefix("-- ") && raw.hasSuffix(" --") && raw.count > 6 {
                current = String(raw.dropFirst(3).dropLast(3))
                files[current!] = ""
            } else if let c = current {
                files[c]! += raw + "\n"
            } else {
                let t = raw.trimmingCharacters(in: .whitespaces)
                if !t.isEmpty && !t.hasPrefix("#") { script.append((i + 1, t)) }
            }
        }
    }

    func run() throws {
        let work = TemporaryFolder("evalvault-scenario")
        for (file, content) in files {
            let path = work.path + "/" + file
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        }
        var env = Subprocess.baseEnvironment
        // Each scenario is one person's machine unless it says otherwise (env EVALVAULT_STATE=…).
        env["EVALVAULT_STATE"] = work.path + "/state"
        var last: Subprocess.Result?
        var pendingStderr: Int?  // line of a `fail` still waiting for its stderr check
        var pendingStdin: [UInt8]?  // set by `stdin PATH`, for the next command only
        let binary = Subprocess.evalvaultPath

        for (lineNo, text) in script {
            func fail(_ why: String) -> ScenarioError { ScenarioError(description: "\(name):\(lineNo): \(text)\n  \(why)") }
            var words = try split(text, line: lineNo).map {
                $0.replacingOccurrences(of: "$WORK", with: work.path).replacingOccurrences(of: "$REPO", with: ScenarioTests.repository)
            }
            var negate = false
            if words.first == "!" { negate = true; words.removeFirst() }
            guard let verb = words.first else { continue }
            if let pending = pendingStderr, verb != "stderr", verb != "stdout" {
                throw ScenarioError(description: "\(name):\(pending): a failing command must be followed by a `stderr` pattern")
            }
            func path(_ p: String) -> String { p.hasPrefix("/") ? p : work.path + "/" + p }

            switch verb {
            case "env":
                let kv = words.dropFirst().joined(separator: " ").replacingOccurrences(of: "$WORK", with: work.path)
                guard let eq = kv.firstIndex(of: "=") else { throw fail("env needs NAME=value") }
                env[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
            case "unenv":
                for w in words.dropFirst() { env[w] = nil }
            case "evalvault", "fail":
                var expected: Int32 = 0
                var args = Array(words.dropFirst())
                if verb == "fail" {
                    guard let s = args.first.flatMap({ Int32($0) }), args.dropFirst().first == "evalvault" else {
                        throw fail("write `fail STATUS evalvault ...`")
                    }
                    expected = s
                    args = Array(args.dropFirst(2))
                    pendingStderr = lineNo
                }
                let r = try Subprocess.run(binary, args, environment: env, directory: work.path, stdin: pendingStdin)
                pendingStdin = nil
                last = r
                if r.status != expected {
                    throw fail("exit status \(r.status), expected \(expected)\n  stdout: \(r.stdout)\n  stderr: \(r.stderr)")
                }
                for bad in ["Fatal error", "Stack dump", "VaultError", "CryptoError", ".swift:", "Swift."] where r.stderr.contains(bad) {
                    throw fail("stderr shows an internal detail (\(bad)): \(r.stderr)")
                }
            case "stdout", "stderr":
                guard let r = last else { throw fail("no command has run yet") }
                guard words.count == 2 else { throw fail("\(verb) takes one quoted pattern") }
                let output = verb == "stdout" ? r.stdout : r.stderr
                let re = try NSRegularExpression(pattern: words[1], options: [.anchorsMatchLines])
                let found = re.firstMatch(in: output, range: NSRange(output.startIndex..., in: output)) != nil
                if found == negate { throw fail("\(verb) \(negate ? "matches" : "does not match") /\(words[1])/:\n\(output)") }
                if verb == "stderr" { pendingStderr = nil }
            case "stdin":
                guard words.count == 2, let data = FileManager.default.contents(atPath: path(words[1])) else {
                    throw fail("stdin takes one file that exists")
                }
                pendingStdin = [UInt8](data)
            case "exists":
                let p = path(words[1])
                if FileManager.default.fileExists(atPath: p) == negate { throw fail("\(p) \(negate ? "exists" : "does not exist")") }
            case "mode":
                let attrs = try FileManager.default.attributesOfItem(atPath: path(words[1]))
                let mode = (attrs[.posixPermissions] as? Int ?? -1) & 0o777
                guard String(mode, radix: 8) == words[2] else { throw fail("mode is \(String(mode, radix: 8))") }
            case "cp" where words.count == 3 && words[1] == "stdout":
                guard let r = last else { throw fail("no command has run yet") }
                try Data(r.stdout.utf8).write(to: URL(fileURLWithPath: path(words[2])))
            case "cmp":
                guard let r = last else { throw fail("no command has run yet") }
                guard words.count == 3, words[1] == "stdout" else { throw fail("write `cmp stdout NAME`") }
                let expected = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path(words[2]))), as: UTF8.self)
                if r.stdout != expected { throw fail("stdout differs from \(words[2]):\n\(r.stdout)\n--- expected ---\n\(expected)") }
            case "cp":
                // Copies a file or a folder, replacing the target (as restoring an old copy does).
                try? FileManager.default.removeItem(atPath: path(words[2]))
                try FileManager.default.createDirectory(atPath: (path(words[2]) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: path(words[1]), toPath: path(words[2]))
            case "rm":
                try FileManager.default.removeItem(atPath: path(words[1]))
            case "chmod":
                guard let m = Int(words[1], radix: 8) else { throw fail("bad mode") }
                try FileManager.default.setAttributes([.posixPermissions: m], ofItemAtPath: path(words[2]))
            case "flip", "truncate":
                var data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(words[1]))))
                guard let n = Int(words[2]) else { throw fail("bad number") }
                if verb == "flip" {
                    let i = n < 0 ? data.count + n : n
                    guard data.indices.contains(i) else { throw fail("offset outside the file") }
                    data[i] ^= 0x01
                } else {
                    data = n < 0 ? Array(data.dropLast(-n)) : Array(data.prefix(n))  // negative: drop that many bytes at the end
                }
                try Data(data).write(to: URL(fileURLWithPath: path(words[1])))
            case "grep":
                guard words.count == 3 else { throw fail("grep takes a quoted pattern and a path") }
                let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path(words[2]))), as: UTF8.self)
                let re = try NSRegularExpression(pattern: words[1], options: [.anchorsMatchLines])
                if (re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil) == negate {
                    throw fail("\(words[2]) \(negate ? "matches" : "does not match") /\(words[1])/:\n\(text.prefix(2000))")
                }
            case "verify-tally":
                // The independent verifier of tally records (Tests/tools/verify_tally.py, written
                // from docs/tally-format.md alone): `verify-tally FILE` must accept, `! verify-tally
                // FILE` must refuse.
                let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                    .appendingPathComponent("tools/verify_tally.py").path
                let r = try Subprocess.run("/usr/bin/env", ["python3", script, path(words[1])], environment: Subprocess.baseEnvironment,
                                           directory: work.path, timeout: 300)
                last = r
                if (r.status == 0) == negate { throw fail("verify_tally.py \(negate ? "accepted" : "refused") \(words[1]): \(r.stdout) \(r.stderr)") }
            case "absent":
                let needle = Array(words[1].utf8)
                let root = path(words[2])
                var isDir: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: root, isDirectory: &isDir)
                let candidates = isDir.boolValue
                    ? (FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String }.map { root + "/" + $0 } ?? [])
                    : [root]
                var checked = 0
                for f in candidates {
                    guard let d = FileManager.default.contents(atPath: f) else { continue }
                    checked += 1
                    if [UInt8](d).contains(bytes: needle) { throw fail("\"\(words[1])\" found in \(f)") }
                }
                if checked == 0 { throw fail("no files under \(root) to search") }
            default:
                throw fail("unknown verb \(verb)")
            }
        }
        if let pending = pendingStderr {
            throw ScenarioError(description: "\(name):\(pending): a failing command must be followed by a `stderr` pattern")
        }
    }

    /// Splits a line into words, honouring '...' and "..." quotes.
    func split(_ line: String, line lineNo: Int) throws -> [String] {
        var words: [String] = [], current = "", quote: Character?, inWord = false
        for c in line {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "'" || c == "\"" {
                quote = c; inWord = true
            } else if c == " " || c == "\t" {
                if inWord { words.append(current); current = ""; inWord = false }
            } else {
                current.append(c); inWord = true
            }
        }
        if quote != nil { throw ScenarioError(description: "\(name):\(lineNo): unterminated quote") }
        if inWord { words.append(current) }
        return words
    }
}
