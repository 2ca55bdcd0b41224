import Foundation
import TestSupport
import Testing
import VaultCore
import VaultCrypto

/// What a person at a terminal sees: the no-echo passphrase prompt (asked twice for a new key,
/// three tries for an existing one, the terminal restored on ^C) and the progress bars. Run
/// through a real pseudo-terminal (Tests/tools/tty_run.py).
@Suite("On a terminal", .serialized)
struct TerminalTests {
    static let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/tty_run.py").path

    struct Run: Decodable {
        let status: Int32
        let output: String
        /// Whether the terminal echoes input once the command has ended.
        let echo: Bool
    }

    static func run(_ args: [String], answers: [[Any]], env: [String: String] = [:], in dir: String) throws -> Run {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: answers), as: UTF8.self)
        var environment = Subprocess.baseEnvironment
        for (k, v) in env { environment[k] = v }
        let r = try Subprocess.run("/usr/bin/env", ["python3", driver, json, "--", Subprocess.evalvaultPath] + args,
                                   environment: environment, directory: dir)
        #expect(r.status == 0, "driver: \(r.stderr)")
        return try JSONDecoder().decode(Run.self, from: Data(r.stdout.utf8))
    }

    @Test("keygen asks twice without echo; the key opens with what was typed; a mismatch is refused")
    func prompt() throws {
        let dir = TemporaryFolder("evalvault-tty")
        let secret = "typed at the terminal 42"
        let r = try Self.run(["keygen", "--out", dir.path + "/k", "--kdf-cost", "10"],
                             answers: [["Passphrase for", secret], ["Repeat the passphrase", secret]], in: dir.path)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("Passphrase for the new key") && r.output.contains("Repeat the passphrase"))
        #expect(!r.output.contains(secret), "the passphrase was echoed")
        _ = try KeyFile.load(path: dir.path + "/k.key", passphrase: SecureBytes(Array(secret.utf8)))

        let m = try Self.run(["keygen", "--out", dir.path + "/m", "--kdf-cost", "10"],
                             answers: [["Passphrase for", "one thing"], ["Repeat the passphrase", "another"]], in: dir.path)
        #expect(m.status == 64 && m.output.contains("the two passphrases did not match"))
        #expect(!Files.exists(dir.path + "/m.key"))
    }

    @Test("seal --csv draws a progress bar on a terminal (and never when stderr is not one)")
    func progress() throws {
        let dir = TemporaryFolder("evalvault-tty")
        let env = ["EVALVAULT_DIR": dir.path + "/v", "EVALVAULT_PASSPHRASE": "pw"]
        var base = Subprocess.baseEnvironment
        for (k, v) in env { base[k] = v }
        func cli(_ args: [String]) throws {
            let r = try Subprocess.run(Subprocess.evalvaultPath, args, environment: base, directory: dir.path)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        try cli(["init", "--chair", "chair", "--kdf-cost", "10"])
        try cli(["keygen", "--out", dir.path + "/ev-1", "--kdf-cost", "10"])
        try cli(["principal", "add", "ev-1", "--as", "chair", "--role", "evaluator", "--pubkey", dir.path + "/ev-1.pub"])
        try Data("id = \"R\"\nteams = [\"a\"]\n[reveal]\nholders = [\"chair\"]\nthreshold = 1\n[[criteria]]\nid = \"c\"\nweight = 1\nmin = 0\nmax = 10\nstep = 1\n".utf8)
            .write(to: URL(fileURLWithPath: dir.path + "/r.toml"))
        try cli(["round", "create", "--as", "chair", "--config", dir.path + "/r.toml"])
        try cli(["round", "open", "R", "--as", "chair"])
        try Data("team,criterion,score\na,c,7\n".utf8).write(to: URL(fileURLWithPath: dir.path + "/s.csv"))
        let args = ["seal", "--as", "ev-1", "--key", dir.path + "/ev-1.key", "--round", "R", "--csv", dir.path + "/s.csv"]
        let r = try Self.run(args, answers: [], env: env, in: dir.path)
        #expect(r.status == 0 && r.output.contains("\rsealing ["), "\(r.output)")
        let piped = try Subprocess.run(Subprocess.evalvaultPath, args, environment: base, directory: dir.path)
        #expect(piped.status == 0 && !piped.stderr.contains("sealing ["))
    }

    @Test("approve asks on the terminal after showing the request: y writes the approval; anything else refuses and writes nothing")
    func approveConfirms() throws {
        let dir = TemporaryFolder("evalvault-tty")
        var base = Subprocess.baseEnvironment
        base["EVALVAULT_DIR"] = dir.path + "/v"
        base["EVALVAULT_STATE"] = dir.path + "/chair-state"
        base["EVALVAULT_PASSPHRASE"] = "pw"
        func cli(_ args: [String]) throws {
            let r = try Subprocess.run(Subprocess.evalvaultPath, args, environment: base, directory: dir.path)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        try cli(["init", "--chair", "chair", "--kdf-cost", "10"])
        for (id, role) in [("cm-1", "committee"), ("ev-1", "evaluator")] {
            try cli(["keygen", "--out", dir.path + "/" + id, "--kdf-cost", "10"])
            try cli(["principal", "add", id, "--as", "chair", "--role", role, "--pubkey", dir.path + "/\(id).pub"])
        }
        try Data("id = \"R\"\nteams = [\"a\"]\n[reveal]\nholders = [\"cm-1\"]\nthreshold = 1\n[[criteria]]\nid = \"c\"\nweight = 1\nmin = 0\nmax = 10\nstep = 1\n".utf8)
            .write(to: URL(fileURLWithPath: dir.path + "/r.toml"))
        try cli(["round", "create", "--as", "chair", "--config", dir.path + "/r.toml"])
        try cli(["round", "open", "R", "--as", "chair", "--request-out", dir.path + "/open.req"])
        // cm-1's machine: no vault, its own state folder.
        let env = ["EVALVAULT_STATE": dir.path + "/cm-1-state", "EVALVAULT_PASSPHRASE": "pw"]
        func approve(_ answer: String, out: String) throws -> Run {
            try Self.run(["approve", dir.path + "/open.req", "--as", "cm-1", "--key", dir.path + "/cm-1.key", "--out", out],
                         answers: [["Approve this open request as cm-1?", answer]], env: env, in: dir.path)
        }
        let no = try approve("n", out: dir.path + "/no.approval")
        #expect(no.status == 77 && no.output.contains("panel (who may seal): ev-1") && no.output.contains("not approved: nothing was written"), "\(no.output)")
        #expect(!Files.exists(dir.path + "/no.approval") && !Files.exists(dir.path + "/cm-1-state/vaults"))
        let yes = try approve("y", out: dir.path + "/cm-1.approval")
        #expect(yes.status == 0 && yes.output.contains("approved the open request for round R as cm-1"), "\(yes.output)")
        try cli(["round", "open", "R", "--as", "chair", "--request", dir.path + "/open.req", "--approval", dir.path + "/cm-1.approval"])
    }

    /// A vault whose chair's passphrase is `right`, made without a terminal.
    static func vault(in dir: String) throws -> [String: String] {
        var base = Subprocess.baseEnvironment
        base["EVALVAULT_DIR"] = dir + "/v"
        base["EVALVAULT_STATE"] = dir + "/state"
        base["EVALVAULT_PASSPHRASE"] = "right"
        let r = try Subprocess.run(Subprocess.evalvaultPath, ["init", "--chair", "chair", "--kdf-cost", "10"], environment: base, directory: dir)
        #expect(r.status == 0, "\(r.stderr)")
        return base
    }

    @Test("a wrong passphrase at the prompt is asked again, three tries in all; each wrong try is audited")
    func threeTries() throws {
        let dir = TemporaryFolder("evalvault-tty")
        var base = try Self.vault(in: dir.path)
        let env = ["EVALVAULT_DIR": dir.path + "/v", "EVALVAULT_STATE": dir.path + "/state"]
        let third = try Self.run(["audit", "checkpoint", "--as", "chair"],
                                 answers: [["Passphrase for chair", "wrong one"], ["Wrong passphrase; try 2 of 3. Passphrase for chair", "wrong two"],
                                           ["Wrong passphrase; try 3 of 3. Passphrase for chair", "right"]], env: env, in: dir.path)
        #expect(third.status == 0 && third.output.contains("evalvault/"), "\(third.output)")
        #expect(!third.output.contains("wrong one") && !third.output.contains("right\r"), "a passphrase was echoed")
        let never = try Self.run(["audit", "checkpoint", "--as", "chair"],
                                 answers: [["Passphrase for chair", "a"], ["try 2 of 3", "b"], ["try 3 of 3", "c"], ["try 4", "right"]], env: env, in: dir.path)
        #expect(never.status == 77 && never.output.contains("evalvault: authentication failed: wrong passphrase for"), "\(never.output)")
        #expect(!never.output.contains("try 4"))
        // Five wrong tries, five audit entries, as a wrong passphrase from a file makes one.
        base["EVALVAULT_PASSPHRASE"] = "right"
        let export = try Subprocess.run(Subprocess.evalvaultPath, ["audit", "export", "--as", "chair"], environment: base, directory: dir.path)
        #expect(export.status == 0)
        #expect(export.stdout.components(separatedBy: #""reason":"wrong passphrase""#).count - 1 == 5, "\(export.stdout)")
    }

    @Test("a wrong passphrase from the environment or a file fails at once, with no prompt")
    func noRetryWithoutPrompt() throws {
        let dir = TemporaryFolder("evalvault-tty")
        _ = try Self.vault(in: dir.path)
        try Data("wrong\n".utf8).write(to: URL(fileURLWithPath: dir.path + "/pw"))
        let env = ["EVALVAULT_DIR": dir.path + "/v", "EVALVAULT_STATE": dir.path + "/state"]
        for (args, extra) in [([String](), ["EVALVAULT_PASSPHRASE": "wrong"]), (["--passphrase-file", dir.path + "/pw"], [:])] {
            let r = try Self.run(["audit", "checkpoint", "--as", "chair"] + args, answers: [["Passphrase for", "right"]],
                                 env: env.merging(extra) { $1 }, in: dir.path)
            #expect(r.status == 77 && r.output.contains("authentication failed: wrong passphrase"), "\(r.output)")
            #expect(!r.output.contains("Passphrase for"), "asked on the terminal: \(r.output)")
        }
    }

    @Test("^C at the no-echo prompt ends the command and leaves the terminal echoing")
    func interruptRestoresEcho() throws {
        let dir = TemporaryFolder("evalvault-tty")
        let r = try Self.run(["keygen", "--out", dir.path + "/k", "--kdf-cost", "10"], answers: [["Passphrase for", "\u{3}", false]], in: dir.path)
        #expect(r.status == -SIGINT, "\(r.status): \(r.output)")
        #expect(r.echo, "echo left off after ^C: \(r.output)")
        #expect(!Files.exists(dir.path + "/k.key"))
        // At the second prompt too, and for an existing key's prompt.
        let again = try Self.run(["keygen", "--out", dir.path + "/k", "--kdf-cost", "10"],
                                 answers: [["Passphrase for", "one"], ["Repeat the passphrase", "\u{3}", false]], in: dir.path)
        #expect(again.status == -SIGINT && again.echo, "\(again.output)")
        _ = try Self.vault(in: dir.path)
        let login = try Self.run(["audit", "checkpoint", "--as", "chair"], answers: [["Passphrase for chair", "wrong"], ["try 2 of 3", "\u{3}", false]],
                                 env: ["EVALVAULT_DIR": dir.path + "/v", "EVALVAULT_STATE": dir.path + "/state"], in: dir.path)
        #expect(login.status == -SIGINT && login.echo, "\(login.output)")
    }
}
