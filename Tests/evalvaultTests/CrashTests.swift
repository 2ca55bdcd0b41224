import Foundation
import TestSupport
import Testing
@testable import VaultCore
import VaultCrypto

/// Crash safety (design: invariant 8): commands killed with SIGKILL at random moments leave a consistent
/// vault that still holds everything the CLI reported as done.
@Suite("Crash safety", .serialized)
struct CrashTests {
    /// A vault with a chair (also the round's only reveal holder) and one evaluator, and an open
    /// round of 500 teams × 8 criteria so one CSV can carry thousands of scores.
    final class Setup: @unchecked Sendable {
        let work = TemporaryFolder("evalvault-crash")
        var env = Subprocess.baseEnvironment
        let binary = Subprocess.evalvaultPath

        init() throws {
            env["EVALVAULT_DIR"] = work.path + "/vault"
            env["EVALVAULT_PASSPHRASE"] = "chair pw"
            try run(["init", "--chair", "chair", "--kdf-cost", "10"])
            var evEnv = env
            evEnv["EVALVAULT_PASSPHRASE"] = "ev pw"
            // Four evaluators, enrolled before the round opens: its panel.
            for i in 1...4 {
                try run(["keygen", "--out", work.path + "/ev-\(i)", "--kdf-cost", "10"], env: evEnv)
                try run(["principal", "add", "ev-\(i)", "--as", "chair", "--role", "evaluator", "--pubkey", work.path + "/ev-\(i).pub"])
            }
            let teams = (0..<500).map { "\"t\($0)\"" }.joined(separator: ", ")
            let criteria = (0..<8).map { "[[criteria]]\nid = \"c\($0)\"\nweight = \($0 + 1)\nmin = 0\nmax = 100\nstep = 0.5\n" }.joined()
            try Data("id = \"R\"\nteams = [\(teams)]\n[reveal]\nholders = [\"chair\"]\nthreshold = 1\n\(criteria)".utf8)
                .write(to: URL(fileURLWithPath: work.path + "/round.toml"))
            try run(["round", "create", "--as", "chair", "--config", work.path + "/round.toml"])
            try run(["round", "open", "R", "--as", "chair"])
        }

        @discardableResult
        func run(_ args: [String], env: [String: String]? = nil) throws -> Subprocess.Result {
            let r = try Subprocess.run(binary, args, environment: env ?? self.env, directory: work.path)
            guard r.status == 0 else { throw ScenarioError(description: "\(args.joined(separator: " ")): \(r.status) \(r.stderr)") }
            return r
        }

        /// A CSV of `rows` scores on distinct places, values varying with `salt`.
        func csv(rows: Int, salt: Int) throws -> String {
            var text = "team,criterion,score\n"
            for i in 0..<rows { text += "t\(i / 8),c\(i % 8),\(Double((i * 7 + salt * 13) % 201) / 2)\n" }
            let path = work.path + "/scores-\(salt).csv"
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
    }

    @Test("seal --csv killed at random points, 24 times: integrity ok, every reported batch present and opening, the log verifies")
    func killSeal() throws {
        let s = try Setup()
        var evEnv = s.env
        evEnv["EVALVAULT_PASSPHRASE"] = "ev pw"
        let args = { (file: String) in ["seal", "--as", "ev-1", "--key", s.work.path + "/ev-1.key", "--round", "R", "--csv", file] }
        // Calibrate: how long one uninterrupted run takes here.
        let started = Date()
        let first = try s.run(args(try s.csv(rows: 4000, salt: 0)), env: evEnv)
        let duration = Date().timeIntervalSince(started)
        var reported = Set([try #require(first.stdout.firstMatch(of: /batch ([0-9a-f]{32})/)).1].map(String.init))
        var killed = 0, completed = 0
        for attempt in 1...24 {
            let file = try s.csv(rows: 4000, salt: attempt)
            let child = try Subprocess.spawn(s.binary, args(file), environment: evEnv, directory: s.work.path)
            usleep(UInt32(Double.random(in: 0...(duration * 1.2)) * 1_000_000))
            kill(child.pid, SIGKILL)
            var status: Int32 = 0
            waitpid(child.pid, &status, 0)
            let result = child.result(status: status)
            if result.status == 0, let m = result.stdout.firstMatch(of: /batch ([0-9a-f]{32})/) {
                reported.insert(String(m.1))
                completed += 1
            } else {
                #expect(result.status == 128 + SIGKILL, "attempt \(attempt) failed on its own: \(result.stderr)")
                killed += 1
            }
        }
        print("crash test, seal --csv (\(String(format: "%.2f", duration)) s per run): \(killed) killed mid-run, \(completed) completed")
        #expect(killed >= 10, "the kill points should mostly land inside the run")

        // Consistent, and everything reported is there and opens.
        let vault = try Vault.open(at: VaultLocation(directory: s.work.path + "/vault"))
        let check = try vault.database.prepare("PRAGMA integrity_check")
        #expect(try check.step() && check.text(0) == "ok")
        let pass = s.work.path + "/chair-pass"
        try Data("chair pw".utf8).write(to: URL(fileURLWithPath: pass))
        let chair = try vault.authenticate(PrincipalID("chair"), keyPath: nil,
                                           passphrase: PassphraseSource(file: pass, environmentVariable: "X", subject: "chair"),
                                           action: "test", target: "test")
        let round = try vault.round("R", verifiedWith: chair.chairKey)
        let scores = try vault.openRound(round, privateKey: try vault.roundPrivateKey(round, holders: [chair]), chairKey: chair.chairKey)
        // Every batch the log records opened and verified whole (any damage stops openRound);
        // the same 4,000 places each time, so the latest batch's 4,000 scores are what count.
        let present = Set(vault.log.batches(ofRound: "R").map(\.id))
        #expect(reported.isSubset(of: present), "reported but missing: \(reported.subtracting(present))")
        #expect(scores.scores.count == (present.isEmpty ? 0 : 4000), "the latest batch is whole")
        #expect(Set(scores.scores.map { Hex.encode(scores.batchID(of: $0)) }).count == (present.isEmpty ? 0 : 1))
        try s.run(["audit", "export", "--as", "chair", "--out", s.work.path + "/audit.jsonl"])
        #expect(try s.run(["audit", "verify", s.work.path + "/audit.jsonl"]).stdout.hasPrefix("ok: "))
    }

    /// Runs `command` 20+ times, killing each run at a random moment within 1.3× its usual
    /// duration; returns the stdout of the runs that finished on their own.
    static func killRepeatedly(_ s: Setup, times: Int, prepare: (Int) throws -> [String]) throws -> (completed: [String], killed: Int) {
        let first = try prepare(0)
        let startedAt = Date()
        _ = try s.run(first)
        let duration = Date().timeIntervalSince(startedAt)
        var completed: [String] = [], killed = 0
        for attempt in 1...times {
            let args = try prepare(attempt)
            let child = try Subprocess.spawn(s.binary, args, environment: s.env, directory: s.work.path)
            usleep(UInt32(Double.random(in: 0...(duration * 1.3)) * 1_000_000))
            kill(child.pid, SIGKILL)
            var status: Int32 = 0
            waitpid(child.pid, &status, 0)
            let r = child.result(status: status)
            if r.status == 0 { completed.append(r.stdout) } else {
                #expect(r.status == 128 + SIGKILL, "a run failed on its own: \(r.stderr)")
                killed += 1
            }
        }
        return (completed, killed)
    }

    /// After the kills: a sound database whose audit log verifies.
    static func checkConsistent(_ s: Setup) throws -> Vault {
        let vault = try Vault.open(at: VaultLocation(directory: s.work.path + "/vault"))
        let check = try vault.database.prepare("PRAGMA integrity_check")
        #expect(try check.step() && check.text(0) == "ok")
        try s.run(["audit", "export", "--as", "chair", "--out", s.work.path + "/audit.jsonl"])
        #expect(try s.run(["audit", "verify", s.work.path + "/audit.jsonl"]).stdout.hasPrefix("ok: "))
        return vault
    }

    @Test("round close killed at random points, 22 times: every reported close is closed, with its checkpoint")
    func killRoundClose() throws {
        let s = try Setup()
        let toml = { (i: Int) in "id = \"K\(i)\"\nteams = [\"a\"]\n[reveal]\nholders = [\"chair\"]\nthreshold = 1\n[[criteria]]\nid = \"c\"\nweight = 1\nmin = 0\nmax = 1\nstep = 1\n" }
        let (done, killed) = try Self.killRepeatedly(s, times: 22) { i in
            try Data(toml(i).utf8).write(to: URL(fileURLWithPath: s.work.path + "/k.toml"))
            try s.run(["round", "create", "--as", "chair", "--config", s.work.path + "/k.toml"])
            try s.run(["round", "open", "K\(i)", "--as", "chair"])
            return ["round", "close", "K\(i)", "--as", "chair"]
        }
        print("crash test, round close: \(killed) killed, \(done.count) completed")
        let vault = try Self.checkConsistent(s)
        let key = try vault.chairKey
        for out in done {
            let id = try #require(out.firstMatch(of: /closed round (K[0-9]+)/)).1
            #expect(try vault.round(String(id), verifiedWith: key).state == .closed)
            let size = Int(try #require(out.firstMatch(of: /checkpoint at ([0-9]+) entries/)).1)!
            #expect(try vault.database.prepare("SELECT 1 FROM checkpoints WHERE size = ?").bind(size).step())
        }
        // Every round is whole: open or closed, and verifiable.
        for id in try vault.roundIDs() { #expect([.open, .closed].contains(try vault.round(id, verifiedWith: key).state)) }
    }

    @Test("policy apply killed at random points, 22 times: every reported version is in force or superseded, intact")
    func killPolicyApply() throws {
        let s = try Setup()
        let (done, killed) = try Self.killRepeatedly(s, times: 22) { i in
            try Data((DefaultPolicy.source + "// variant \(i)\n").utf8).write(to: URL(fileURLWithPath: s.work.path + "/p.policy"))
            return ["policy", "apply", "--as", "chair", s.work.path + "/p.policy"]
        }
        print("crash test, policy apply: \(killed) killed, \(done.count) completed")
        let vault = try Self.checkConsistent(s)
        for out in done {
            let m = try #require(out.firstMatch(of: /applied policy version ([0-9]+) .*sha256 ([0-9a-f]{64})/))
            let row = try vault.database.prepare("SELECT sha256 FROM policies WHERE version = ?").bind(Int(m.1)!)
            #expect(try row.step() && Hex.encode(row.blob(0)) == String(m.2))
        }
        _ = try vault.policyInForce(chairKey: try vault.chairKey)  // verifies signature and hash
    }

    @Test("audit checkpoint killed at random points, 22 times: every printed checkpoint is stored, and they are consistent")
    func killCheckpoint() throws {
        let s = try Setup()
        let (done, killed) = try Self.killRepeatedly(s, times: 22) { _ in ["audit", "checkpoint", "--as", "chair"] }
        print("crash test, audit checkpoint: \(killed) killed, \(done.count) completed")
        let vault = try Self.checkConsistent(s)
        for out in done {
            let note = try Checkpoint.parse(note: out)
            let row = try vault.database.prepare("SELECT root FROM checkpoints WHERE size = ?").bind(note.checkpoint.size)
            #expect(try row.step() && row.blob(0) == note.checkpoint.root)
        }
        // All stored checkpoints are prefixes of one log.
        let leaves = try Vault.open(at: VaultLocation(directory: s.work.path + "/vault")).leaves  // after the CLI runs above
        let rows = try vault.database.prepare("SELECT size, root FROM checkpoints")
        var n = 0
        while try rows.step() {
            #expect(Merkle.root(ofLeafHashes: leaves.prefix(rows.int(0))) == rows.blob(1), "checkpoint at \(rows.int(0)) of \(leaves.count)")
            n += 1
        }
        #expect(n >= 2)
    }
}

/// Concurrency (issue: four sealers, a reveal attempt and an export at once, repeated).
@Suite("Concurrency", .serialized)
struct ConcurrencyTests {
    @Test("4 processes seal at once while a reveal is attempted and the log exported, 5 times: nothing lost, nothing locked, seq without gaps")
    func concurrentSealers() throws {
        let s = try CrashTests.Setup()
        var evEnv = s.env
        evEnv["EVALVAULT_PASSPHRASE"] = "ev pw"
        var reported = Set<String>()
        for repetition in 0..<5 {
            var children: [(Subprocess.Child, String)] = []
            for i in 1...4 {
                var csv = "team,criterion,score\n"
                for row in 0..<800 { csv += "t\((row / 8 + repetition * 100) % 500),c\(row % 8),\(Double((row + i) % 201) / 2)\n" }
                let file = s.work.path + "/c-\(repetition)-\(i).csv"
                try Data(csv.utf8).write(to: URL(fileURLWithPath: file))
                children.append((try Subprocess.spawn(s.binary, ["seal", "--as", "ev-\(i)", "--key", s.work.path + "/ev-\(i).key", "--round", "R", "--csv", file],
                                                      environment: evEnv, directory: s.work.path), "seal ev-\(i)"))
            }
            children.append((try Subprocess.spawn(s.binary, ["reveal", "--as", "chair", "--round", "R", "--stat", "mean"], environment: s.env, directory: s.work.path), "reveal"))
            children.append((try Subprocess.spawn(s.binary, ["audit", "export", "--as", "chair", "--out", s.work.path + "/a-\(repetition).jsonl"],
                                                  environment: s.env, directory: s.work.path), "export"))
            for (child, what) in children {
                var status: Int32 = 0
                waitpid(child.pid, &status, 0)
                let r = child.result(status: status)
                #expect(!r.stderr.contains("locked") && !r.stderr.contains("busy"), "\(what): \(r.stderr)")
                switch what {
                case "reveal": #expect(r.status == 77, "a reveal of an open round is denied: \(r.stderr)")
                default:
                    #expect(r.status == 0, "\(what): \(r.stderr)")
                    if let m = r.stdout.firstMatch(of: /batch ([0-9a-f]{32})/) { reported.insert(String(m.1)) }
                }
            }
            #expect(try s.run(["audit", "verify", s.work.path + "/a-\(repetition).jsonl"]).stdout.hasPrefix("ok: "))
        }
        #expect(reported.count == 20)
        try s.run(["round", "close", "R", "--as", "chair"])
        let vault = try Vault.open(at: VaultLocation(directory: s.work.path + "/vault"))
        let pass = s.work.path + "/chair-pass"
        try Data("chair pw".utf8).write(to: URL(fileURLWithPath: pass))
        let chair = try vault.authenticate(PrincipalID("chair"), keyPath: nil, passphrase: PassphraseSource(file: pass, environmentVariable: "X", subject: "c"),
                                           action: "test", target: "test")
        let round = try vault.round("R", verifiedWith: chair.chairKey)
        let scores = try vault.openRound(round, privateKey: try vault.roundPrivateKey(round, holders: [chair]), chairKey: chair.chairKey)
        #expect(Set(scores.scores.map { Hex.encode(scores.batchID(of: $0)) }) == reported)
        #expect(scores.scores.count == 20 * 800)
        // Audit seq without gaps: the final export verifies (it checks 0…n−1).
        try s.run(["audit", "export", "--as", "chair", "--out", s.work.path + "/final.jsonl"])
        #expect(try s.run(["audit", "verify", s.work.path + "/final.jsonl"]).stdout.hasPrefix("ok: "))
    }
}
