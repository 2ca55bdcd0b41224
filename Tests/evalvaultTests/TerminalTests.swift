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
}
