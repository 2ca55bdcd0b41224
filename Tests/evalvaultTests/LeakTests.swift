import Foundation
import TestSupport
import Testing

/// Leaks (design: On disk, invariant 1, invariant 3): after a full evaluation with distinctive secrets, none of them
/// appears in the vault folder, the temporary folders, the files the CLI wrote, or anything it
/// printed — failures included — except the aggregates the policy allowed.
@Suite("Leaks")
struct LeakTests {
    @Test("a full evaluation leaves no passphrase, identity, comment or individual score anywhere but the inputs")
    func fullEvaluation() throws {
        let started = Date()
        let work = TemporaryFolder("evalvault-leaks")
        let inputs = work.path + "/inputs", out = work.path + "/out", tmp = work.path + "/tmp"
        for d in [inputs, out, tmp] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        let passphrases = ["chair": "Pass-Quokka-7731", "cm-1": "Pass-Narwhal-2209", "ev-1": "Pass-Axolotl-5518",
                           "ev-2": "Pass-Okapi-6402", "ev-3": "Pass-Tapir-9120"]
        let identities = ["chair": "Identity-Zanzibar-Okonkwo", "cm-1": "Identity-Reykjavik-Halvorsen", "ev-1": "Identity-Tbilisi-Kvaratskhelia",
                          "ev-2": "Identity-Valparaiso-Echeverria", "ev-3": "Identity-Ulaanbaatar-Batbayar"]
        let comments = ["Comment-Pangolin-4471", "Comment-Marmoset-8830", "Comment-Wombat-1196"]
        // Individual scores: alpha 13.5, 96.5, 41.5 (mean 50.50); beta 88.5, 27.5, 63.5 (mean 59.83).
        let scores = [["alpha": "13.5", "beta": "88.5"], ["alpha": "96.5", "beta": "27.5"], ["alpha": "41.5", "beta": "63.5"]]
        for (id, p) in passphrases { try Data(p.utf8).write(to: URL(fileURLWithPath: "\(inputs)/\(id).pass")) }
        try Data(("id = \"L\"\nteams = [\"alpha\", \"beta\"]\n[reveal]\nholders = [\"chair\", \"cm-1\"]\nthreshold = 2\n[[criteria]]\nid = \"perf\"\nweight = 1\nmin = 0\nmax = 100\nstep = 0.5\n"
                 // What the test reveals: mean by team, the published ranking, and the report's two reveals.
                 + "[[publish]]\nstat = \"mean\"\nby = [\"team\"]\n[[publish]]\nstat = \"rank\"\nby = [\"team\"]\nadvance = 1\n"
                 + "[[publish]]\nstat = \"rank\"\nby = [\"team\"]\n[[publish]]\nstat = \"mean\"\nby = [\"team\", \"criterion\"]\n").utf8)
            .write(to: URL(fileURLWithPath: inputs + "/round.toml"))
        for i in 0..<3 {
            let csv = "team,criterion,score,comment\nalpha,perf,\(scores[i]["alpha"]!),\(comments[i])\nbeta,perf,\(scores[i]["beta"]!),\n"
            try Data(csv.utf8).write(to: URL(fileURLWithPath: "\(inputs)/ev-\(i + 1).csv"))
        }

        var env = Subprocess.baseEnvironment
        env["TMPDIR"] = tmp
        env["EVALVAULT_DIR"] = work.path + "/vault"
        var printed = ""
        func cli(_ expect: Int32, _ args: [String]) throws {
            let r = try Subprocess.run(Subprocess.evalvaultPath, args, environment: env, directory: work.path)
            printed += r.stdout + r.stderr
            #expect(r.status == expect, "\(args.joined(separator: " ")): \(r.stderr)")
        }
        func pass(_ id: String) -> [String] { ["--passphrase-file", "\(inputs)/\(id).pass"] }
        try cli(0, ["init", "--chair", "chair", "--identity", identities["chair"]!, "--kdf-cost", "10"] + pass("chair"))
        for id in ["cm-1", "ev-1", "ev-2", "ev-3"] {
            try cli(0, ["keygen", "--out", "\(work.path)/keys/\(id)", "--kdf-cost", "10"] + pass(id))
            try cli(0, ["principal", "add", id, "--as", "chair", "--role", id.hasPrefix("cm") ? "committee" : "evaluator",
                        "--pubkey", "\(work.path)/keys/\(id).pub", "--identity", identities[id]!] + pass("chair"))
        }
        try cli(0, ["round", "create", "--as", "chair", "--config", inputs + "/round.toml"] + pass("chair"))
        try cli(0, ["round", "open", "L", "--as", "chair", "--with", "cm-1", "--with-key", "cm-1=\(work.path)/keys/cm-1.key",
                    "--with-passphrase-file", "cm-1=\(inputs)/cm-1.pass"] + pass("chair"))
        for i in 1...3 {
            try cli(0, ["seal", "--as", "ev-\(i)", "--key", "\(work.path)/keys/ev-\(i).key", "--round", "L", "--csv", "\(inputs)/ev-\(i).csv"] + pass("ev-\(i)"))
        }
        // Failures print too.
        try cli(77, ["seal", "--as", "ev-1", "--key", "\(work.path)/keys/ev-1.key", "--round", "L", "--csv", "\(inputs)/ev-1.csv"] + pass("ev-2"))
        try cli(65, ["seal", "--as", "ev-1", "--key", "\(work.path)/keys/ev-1.key", "--round", "L", "--team", "gamma", "--criterion", "perf",
                     "--score", "13.5", "--comment", comments[0]] + pass("ev-1"))
        try cli(0, ["round", "close", "L", "--as", "chair"] + pass("chair"))
        try cli(77, ["reveal", "--as", "chair", "--round", "L", "--stat", "mean"] + pass("chair"))
        try cli(77, ["reveal", "--as", "chair", "--round", "L", "--stat", "max", "--with", "cm-1", "--with-key", "cm-1=\(work.path)/keys/cm-1.key",
                     "--with-passphrase-file", "cm-1=\(inputs)/cm-1.pass"] + pass("chair"))
        try cli(77, ["reveal", "--as", "chair", "--round", "L", "--stat", "mean", "--with", "cm-1", "--with-key", "cm-1=\(work.path)/keys/cm-1.key",
                     "--with-passphrase-file", "cm-1=\(inputs)/ev-1.pass"] + pass("chair"))
        let holder = ["--with", "cm-1", "--with-key", "cm-1=\(work.path)/keys/cm-1.key", "--with-passphrase-file", "cm-1=\(inputs)/cm-1.pass"]
        try cli(0, ["reveal", "--as", "chair", "--round", "L", "--stat", "mean"] + holder + pass("chair"))
        #expect(printed.contains("50.50") && printed.contains("59.83"), "the allowed aggregates are printed")
        try cli(0, ["reveal", "--as", "chair", "--round", "L", "--stat", "rank", "--advance", "1", "--publish", out + "/ranking.json"] + holder + pass("chair"))
        try cli(0, ["report", "--as", "chair", "--round", "L", "--out", out + "/report.html"] + holder + pass("chair"))
        try cli(0, ["principal", "list"])
        try cli(0, ["round", "show", "L"])
        try cli(0, ["policy", "explain", "--as", "ev-1", "--action", "seal", "--round", "L", "--team", "alpha"])
        try cli(0, ["audit", "export", "--as", "chair", "--out", out + "/audit.jsonl"] + pass("chair"))
        try cli(0, ["audit", "export", "--as", "chair", "--format", "csv", "--out", out + "/audit.csv"] + pass("chair"))
        try cli(0, ["audit", "verify", out + "/audit.jsonl"])

        // Where to look: the vault, the CLI's temporary folder, the files it wrote, the system
        // temporary folder (files changed during this test, outside this test's inputs), and stdout/stderr.
        var files = TemporaryFolder.files(under: work.path + "/vault") + TemporaryFolder.files(under: tmp) + TemporaryFolder.files(under: out)
        files += TemporaryFolder.files(under: work.path + "/keys")
        let system = NSTemporaryDirectory()
        for f in TemporaryFolder.files(under: system, maxDepth: 2) where !f.hasPrefix(work.path) {
            if let m = (try? FileManager.default.attributesOfItem(atPath: f))?[.modificationDate] as? Date, m >= started { files.append(f) }
        }
        let literal = Array(passphrases.values) + Array(identities.values) + comments
        var searched = 0
        for file in files {
            guard let data = FileManager.default.contents(atPath: file), data.count < 64 << 20 else { continue }
            let bytes = [UInt8](data)
            searched += 1
            for needle in literal { #expect(!bytes.contains(bytes: Array(needle.utf8)), "\(needle) found in \(file)") }
            if file.hasPrefix(work.path) {
                let text = String(decoding: bytes, as: UTF8.self)
                for s in scores.flatMap(\.values) { #expect(!Self.mentions(text, number: s), "score \(s) in \(file)") }
            }
        }
        for needle in literal { #expect(!printed.contains(needle), "\(needle) printed") }
        for s in scores.flatMap(\.values) { #expect(!Self.mentions(printed, number: s), "score \(s) printed") }
        #expect(searched >= 10)
        print("leak test: \(files.count) files and \(printed.utf8.count) bytes of output searched for \(literal.count + 6) secrets; none found")
    }
}

extension LeakTests {
    /// Whether `text` holds the number `number` on its own ("13.5", not "13.50" or "113.5").
    static func mentions(_ text: String, number: String) -> Bool {
        let pattern = "(?<![0-9.])" + NSRegularExpression.escapedPattern(for: number) + "(?![0-9])"
        let re = try! NSRegularExpression(pattern: pattern)
        return re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}

extension TemporaryFolder {
    /// Regular files under `root`, at most `maxDepth` folders deep (nil: all).
    static func files(under root: String, maxDepth: Int? = nil) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            if let maxDepth, rel.split(separator: "/").count > maxDepth { e.skipDescendants(); continue }
            var isDir: ObjCBool = false
            let path = root + "/" + rel
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue { out.append(path) }
        }
        return out
    }
}
