import Foundation
import TestSupport
import Testing
import VaultCore
import VaultCrypto

/// What a person at a terminal sees: the no-echo passphrase prompt (asked twice for a new key)
/// and the progress bars. Run through a real pseudo-terminal (Tests/tools/tty_run.py).
@Suite("On a terminal", .serialized)
struct TerminalTests {
    static let driver = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/tty_run.py").path

    struct Run: Decodable { let status: Int32; let output: String }

    static func run(_ args: [String], answers: [[String]], env: [String: String] = [:], in dir: String) throws -> Run {
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
}
