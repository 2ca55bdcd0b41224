import Foundation
import TestSupport
import Testing
import VaultCore

/// `--json` on every command that prints a result (design: Command line): one JSON value on
/// stdout, which Foundation's JSONSerialization parses; counts, sizes, sequence numbers and
/// versions are numbers; scores, weights and aggregate values are decimal strings. The commands
/// run in the order a real evaluation runs them, and the test checks it reached every command
/// ArgumentParser knows (`--experimental-dump-help`), so a new command without `--json` fails it.
@Suite("--json on every command")
struct JSONOutputTests {
    /// One parsed output: Foundation's parse (that it is JSON at all) and the exact value.
    struct Parsed {
        let value: JSONValue
        subscript(_ key: String) -> JSONValue? { value[key] }
    }

    final class Session {
        let dir: String
        var env: [String: String]
        var covered: Set<String> = []

        init(_ dir: String) {
            self.dir = dir
            env = Subprocess.baseEnvironment
            env["EVALVAULT_DIR"] = dir + "/vault"
            env["EVALVAULT_STATE"] = dir + "/state"
            env["EVALVAULT_PASSPHRASE"] = "json test"
            env["EVALVAULT_PASSPHRASE_CM_1"] = "json test"
        }

        /// Runs `evalvault COMMAND… ARGS… --json` (another state folder when `state` is given:
        /// another person's machine) and parses stdout.
        @discardableResult
        func json(_ command: [String], _ args: [String] = [], state: String? = nil, extra: [String: String] = [:],
                  sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Parsed {
            var environment = env
            if let state { environment["EVALVAULT_STATE"] = dir + "/" + state }
            for (k, v) in extra { environment[k] = v }
            let r = try Subprocess.run(Subprocess.evalvaultPath, command + args + ["--json"], environment: environment, directory: dir)
            #expect(r.status == 0, "\(command) \(args): \(r.stderr)", sourceLocation: sourceLocation)
            covered.insert(command.joined(separator: " "))
            let data = Data(r.stdout.utf8)
            #expect((try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil,
                    "\(command): not JSON: \(r.stdout)", sourceLocation: sourceLocation)
            #expect(r.stdout.hasSuffix("}\n") || r.stdout.hasSuffix("]\n"), "\(command): one value and a newline", sourceLocation: sourceLocation)
            let value = try JSONParser.parse(Array(data))
            return Parsed(value: value)
        }

        func file(_ name: String, _ text: String) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
    }

    /// A count: a JSON number, never a string.
    static func count(_ v: JSONValue?, _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(v?.integerValue != nil, "\(what) is \(v.map(CanonicalJSON.string) ?? "missing"), not a number", sourceLocation: sourceLocation)
    }

    /// A decimal value: a JSON string that reads as a number.
    static func decimal(_ v: JSONValue?, _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(v?.stringValue.flatMap(Fixed.init) != nil, "\(what) is \(v.map(CanonicalJSON.string) ?? "missing"), not a decimal string",
                sourceLocation: sourceLocation)
    }

    static func bool(_ v: JSONValue?, _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        guard case .bool? = v else { Issue.record("\(what) is not a boolean", sourceLocation: sourceLocation); return }
    }

    static let round = """
        id = "R1"
        teams = ["alpha", "beta"]
        [reveal]
        holders = ["cm-1"]
        threshold = 1
        [[criteria]]
        id = "quality"
        weight = 3
        min = 0
        max = 10
        step = 0.5
        [[criteria]]
        id = "speed"
        weight = 1
        min = 0
        max = 10
        step = 1
        [[publish]]
        stat = "rank"
        by = ["team"]
        advance = 1
        [[publish]]
        stat = "mean"
        by = ["team", "criterion"]

        """

    /// A tally round for the key ceremony's commands.
    static let tallyRound = """
        id = "T1"
        mode = "tally"
        teams = ["alpha", "beta"]
        [reveal]
        holders = ["chair", "cm-1"]
        threshold = 2
        [[criteria]]
        id = "quality"
        weight = 1
        min = 0
        max = 10
        step = 1

        """

    @Test("every command prints one JSON value with --json; counts are numbers, values decimal strings")
    func everyCommand() throws {
        let folder = TemporaryFolder("evalvault-json")
        let s = Session(folder.path)
        let d = folder.path
        try s.file("round.toml", Self.round)
        for (i, scores) in [["7", "8", "5", "5"], ["8", "7", "4.5", "6"], ["7.5", "9", "5.5", "4"]].enumerated() {
            try s.file("ev-\(i + 1).csv", "team,criterion,score\nalpha,quality,\(scores[0])\nalpha,speed,\(scores[1])\nbeta,quality,\(scores[2])\nbeta,speed,\(scores[3])\n")
        }

        let created = try s.json(["init"], ["--chair", "chair", "--kdf-cost", "10"])
        #expect(created["vault"]?.stringValue?.count == 32 && created["fingerprint"]?.stringValue != nil)
        for id in ["cm-1", "ev-1", "ev-2", "ev-3", "au-1", "spare"] {
            let k = try s.json(["keygen"], ["--out", "\(d)/\(id)", "--kdf-cost", "10"])
            #expect(k["pub"] == .string("\(d)/\(id).pub"))
        }
        let changed = try s.json(["keygen"], ["--change-passphrase", "\(d)/spare.key"], extra: ["EVALVAULT_NEW_PASSPHRASE": "another"])
        Self.bool(changed["passphrase_changed"], "keygen passphrase_changed")

        for (id, role) in [("cm-1", "committee"), ("ev-2", "evaluator"), ("ev-3", "evaluator"), ("au-1", "auditor")] {
            try s.json(["principal", "add"], [id, "--as", "chair", "--role", role, "--pubkey", "\(d)/\(id).pub"])
        }
        let added = try s.json(["principal", "add"], ["ev-1", "--as", "chair", "--role", "evaluator", "--pubkey", "\(d)/ev-1.pub",
                                                       "--identity", "Dr Kim \"K\" Lee", "--conflict", "gamma"])
        Self.bool(added["enabled"], "principal add enabled")
        #expect(added["conflicts"] == .array([.string("gamma")]))
        let principals = try s.json(["principal", "list"])
        #expect(principals.value.arrayValue?.count == 6)
        for p in principals.value.arrayValue ?? [] { Self.bool(p["enabled"], "principal list enabled") }
        try s.file("panel.csv", "id,role,pubkey\nev-4,evaluator,spare.pub\n")
        let enrolled = try s.json(["principal", "import"], ["\(d)/panel.csv", "--as", "chair"])
        #expect(enrolled.value.arrayValue?.first?["id"] == .string("ev-4"))
        let disabled = try s.json(["principal", "disable"], ["ev-3", "--as", "chair"])
        #expect(disabled["enabled"] == .bool(false))
        try s.json(["principal", "enable"], ["ev-3", "--as", "chair"])

        let round = try s.json(["round", "create"], ["--as", "chair", "--config", "\(d)/round.toml"])
        for k in ["teams", "criteria", "threshold"] { Self.count(round[k], "round create \(k)") }
        for p in round["publish"]?.arrayValue ?? [] { Self.count(p["precision"], "round create publish precision") }
        let edited = try s.json(["principal", "conflicts"], ["ev-1", "--as", "chair", "--remove", "gamma"])
        #expect(edited["conflicts"] == .array([]))
        let list = try s.json(["round", "list"])
        for k in ["teams", "criteria", "threshold", "holders", "batches", "scores"] { Self.count(list.value.arrayValue?.first?[k], "round list \(k)") }

        // A tally round's key ceremony, each step with --json (the chair and cm-1 are its holders).
        try s.file("tally.toml", Self.tallyRound)
        try s.json(["round", "create"], ["--as", "chair", "--config", "\(d)/tally.toml"])
        let started = try s.json(["ceremony", "start"], ["T1", "--as", "chair", "--out", "\(d)/T1.ceremony"])
        Self.count(started["threshold"], "ceremony start threshold")
        let chairKey = "\(d)/vault/Keys/chair.key"
        try s.json(["ceremony", "commit"], ["\(d)/T1.ceremony", "--as", "chair", "--key", chairKey, "--out", "\(d)/chair.commit"])
        try s.json(["ceremony", "commit"], ["\(d)/T1.ceremony", "--as", "cm-1", "--key", "\(d)/cm-1.key", "--out", "\(d)/cm-1.commit"], state: "cm-1-state")
        let commits = ["--commit", "\(d)/chair.commit", "--commit", "\(d)/cm-1.commit"]
        try s.json(["ceremony", "verify"], ["\(d)/T1.ceremony", "--as", "chair", "--key", chairKey, "--out", "\(d)/chair.verified"] + commits)
        let holderVerified = try s.json(["ceremony", "verify"], ["\(d)/T1.ceremony", "--as", "cm-1", "--key", "\(d)/cm-1.key", "--out", "\(d)/cm-1.verified"] + commits,
                                  state: "cm-1-state")
        #expect(holderVerified["joint_key"]?.stringValue?.count == 66)
        let finished = try s.json(["ceremony", "finish"], ["\(d)/T1.ceremony", "--as", "chair"] + commits
                                  + ["--verified", "\(d)/chair.verified", "--verified", "\(d)/cm-1.verified"])
        Self.count(finished["holders"], "ceremony finish holders")
        #expect(finished["joint_key"] == holderVerified["joint_key"])

        let request = try s.json(["round", "open"], ["R1", "--as", "chair", "--request-out", "\(d)/open.req"])
        Self.count(request["threshold"], "round open --request-out threshold")
        try s.json(["approve"], ["\(d)/open.req", "--as", "cm-1", "--key", "\(d)/cm-1.key", "--yes", "--out", "\(d)/open.approval"], state: "cm-1-state")
        let opened = try s.json(["round", "open"], ["R1", "--as", "chair", "--request", "\(d)/open.req", "--approval", "\(d)/open.approval"])
        Self.count(opened["policy_version"], "round open policy_version")
        #expect(opened["state"] == .string("open"))
        try s.json(["round", "publish"], ["R1", "--as", "chair", "--out", "\(d)/R1.round"])

        let offline = try s.json(["seal"], ["--as", "ev-1", "--key", "\(d)/ev-1.key", "--round-file", "\(d)/R1.round", "--csv", "\(d)/ev-1.csv",
                                             "--out", "\(d)/ev-1.batch"], state: "ev-1-state")
        Self.count(offline["scores"], "seal --round-file scores")
        let imported = try s.json(["import"], ["--as", "chair", "\(d)/ev-1.batch"])
        Self.count(imported.value.arrayValue?.first?["scores"], "import scores")
        Self.count(imported.value.arrayValue?.first?["entry"], "import entry")
        var receipt = ""
        for id in ["ev-2", "ev-3"] {
            let sealed = try s.json(["seal"], ["--as", id, "--key", "\(d)/\(id).key", "--round", "R1", "--csv", "\(d)/\(id).csv"])
            Self.count(sealed["scores"], "seal scores")
            Self.count(sealed["entry"], "seal entry")
            receipt = sealed["receipt"]?.stringValue ?? ""
        }
        let status = try s.json(["round", "status"], ["R1", "--as", "chair"])
        for k in ["expected", "sealed_at_least", "sealed_at_most", "criteria"] { Self.count(status[k], "round status \(k)") }
        for e in status["evaluators"]?.arrayValue ?? [] { for k in ["expected", "batches", "scores"] { Self.count(e[k], "round status evaluator \(k)") } }
        let owing = try s.json(["round", "status"], ["R1", "--as", "chair", "--missing"])
        #expect(owing["missing"]?.arrayValue?.map { $0["id"] } == [.string("ev-4")])
        for e in owing["missing"]?.arrayValue ?? [] { Self.count(e["owes_at_most"], "round status --missing owes_at_most") }
        let shown = try s.json(["round", "show"], ["R1"])
        for k in ["batches", "scores", "threshold", "policy_version"] { Self.count(shown[k], "round show \(k)") }
        for c in shown["criteria"]?.arrayValue ?? [] { for k in ["weight", "min", "max", "step"] { Self.decimal(c[k], "round show criteria \(k)") } }
        let closed = try s.json(["round", "close"], ["R1", "--as", "chair"])
        Self.count(closed["checkpoint"]?["size"], "round close checkpoint size")

        let cells = try s.json(["reveal"], ["--as", "chair", "--round", "R1", "--stat", "mean", "--by", "team,criterion",
                                             "--with", "cm-1", "--with-key", "cm-1=\(d)/cm-1.key"])
        #expect(cells["groups"]?.arrayValue?.count == 4)
        for g in cells["groups"]?.arrayValue ?? [] {
            Self.count(g["n"], "reveal n")
            Self.decimal(g["value"], "reveal value")
        }
        let asked = try s.json(["reveal", "request"], ["--as", "chair", "--round", "R1", "--stat", "rank", "--advance", "1", "--out", "\(d)/rank.req"])
        Self.count(asked["threshold"], "reveal request threshold")
        try s.json(["approve"], ["\(d)/rank.req", "--as", "cm-1", "--key", "\(d)/cm-1.key", "--yes", "--out", "\(d)/rank.approval"], state: "cm-1-state")
        let ranked = try s.json(["reveal", "run"], ["--as", "chair", "--request", "\(d)/rank.req", "--approval", "\(d)/rank.approval",
                                                     "--publish", "\(d)/ranking.json"])
        for g in ranked["groups"]?.arrayValue ?? [] {
            Self.count(g["rank"], "reveal rank")
            Self.count(g["n"], "reveal n")
            Self.decimal(g["value"], "reveal value")
            Self.bool(g["tie"], "reveal tie")
        }
        let verified = try s.json(["verify-result"], ["\(d)/ranking.json"])
        Self.count(verified["entry"], "verify-result entry")
        Self.count(verified["checkpoint"]?["size"], "verify-result checkpoint size")
        for g in verified["groups"]?.arrayValue ?? [] { Self.count(g["n"], "verify-result n"); Self.decimal(g["value"], "verify-result value") }
        let counted = try s.json(["receipt", "verify"], [receipt, "--result", "\(d)/ranking.json"])
        Self.bool(counted["counted"], "receipt verify counted")
        Self.count(counted["scores"], "receipt verify scores")
        Self.count(counted["batches"], "receipt verify batches")
        try s.json(["report"], ["--as", "chair", "--round", "R1", "--advance", "1", "--with", "cm-1", "--with-key", "cm-1=\(d)/cm-1.key",
                                "--out", "\(d)/report.html"])

        let identity = try s.json(["identity", "reveal"], ["ev-1", "--as", "au-1", "--key", "\(d)/au-1.key", "--reason", "json test"])
        #expect(identity["identity"] == .string("Dr Kim \"K\" Lee"))

        let policy = ScenarioTests.repository + "/Policies/default.policy"
        Self.count(try s.json(["policy", "check"], [policy])["statements"], "policy check statements")
        let tested = try s.json(["policy", "test"], [policy, ScenarioTests.repository + "/Tests/VaultCoreTests/Policies/default-cases.json"])
        for k in ["cases", "passed", "failed"] { Self.count(tested[k], "policy test \(k)") }
        Self.count(try s.json(["policy", "apply"], ["--as", "chair", policy])["version"], "policy apply version")
        Self.count(try s.json(["policy", "show"], ["--round", "R1"])["version"], "policy show version")
        let explained = try s.json(["policy", "explain"], ["--as", "chair", "--action", "reveal", "--round", "R1", "--stat", "mean", "--by", "team",
                                                           "--declared", "true", "--min-group", "3", "--holders", "1"])
        #expect(explained["decision"] == .string("allow"))
        for st in explained["statements"]?.arrayValue ?? [] { for c in st["clauses"]?.arrayValue ?? [] { Self.count(c["line"], "policy explain line") } }

        let checkpoint = try s.json(["audit", "checkpoint"], ["--as", "chair", "--out", "\(d)/kept.checkpoint"])
        Self.count(checkpoint["size"], "audit checkpoint size")
        #expect(checkpoint["note"]?.stringValue?.hasPrefix("evalvault/") == true)
        let exported = try s.json(["audit", "export"], ["--as", "chair", "--out", "\(d)/audit.jsonl"])
        Self.count(exported["entries"], "audit export entries")
        Self.count(exported["left_out"], "audit export left_out")
        let audited = try s.json(["audit", "verify"], ["\(d)/audit.jsonl", "--checkpoint", "\(d)/kept.checkpoint"])
        Self.count(audited["size"], "audit verify size")
        Self.count(audited["extends"], "audit verify extends")
        let proof = try s.json(["audit", "prove"], ["--as", "chair", "3"])
        Self.count(proof["index"], "audit prove index")
        try s.file("proof.json", CanonicalJSON.string(proof.value))
        let proved = try s.json(["audit", "verify"], ["--proof", "\(d)/proof.json"])
        Self.count(proved["entry"], "audit verify --proof entry")
        Self.count(proved["size"], "audit verify --proof size")

        let backup = try s.json(["backup"], ["--as", "chair", "--out", "\(d)/vault.evbackup"])
        for k in ["entries", "files", "bytes"] { Self.count(backup[k], "backup \(k)") }
        let restored = try s.json(["restore"], ["\(d)/vault.evbackup", "--dir", "\(d)/restored", "--as", "chair"], state: "restore-state")
        for k in ["entries", "checkpoint", "files"] { Self.count(restored[k], "restore \(k)") }
        Self.count(try s.json(["round", "shred"], ["R1", "--as", "chair"])["wraps_destroyed"], "round shred wraps_destroyed")
        #expect(try s.json(["demo"], ["--dir", "\(d)/demo"])["dir"] == .string("\(d)/demo"))

        // Every command ArgumentParser knows was run (reveal's default subcommand is reveal run).
        let dump = try Subprocess.run(Subprocess.evalvaultPath, ["--experimental-dump-help"], environment: s.env, directory: d)
        let leaves = HelpTests.commands(try JSONParser.parse(Array(dump.stdout.utf8))).filter(\.isLeaf).map { $0.path.dropFirst().joined(separator: " ") }
        #expect(Set(leaves).subtracting(s.covered).isEmpty, "commands never run with --json: \(Set(leaves).subtracting(s.covered).sorted())")
        #expect(leaves.count >= 30)
    }
}
