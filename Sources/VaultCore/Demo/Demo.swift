import Foundation
import VaultCrypto

/// `evalvault demo`: the model case of design: Roles end to end, through the same calls the commands
/// make — CSV files read by the same reader, the same seal, reveal, report and audit code. It
/// tells its story through `say`, one line at a time; the core itself prints nothing.
public struct Demo {
    public let directory: String
    let say: (String) -> Void

    public init(directory: String, say: @escaping (String) -> Void) {
        self.directory = directory
        self.say = say
    }

    /// What a finished demo leaves behind.
    public struct Outcome: Sendable {
        public let vault: String
        public let round1Ranking: [AggregateGroup]
        public let round2Ranking: [AggregateGroup]
        public let report: String
        public let resultStatement: String
    }

    var people: String { directory + "/people" }
    var location: VaultLocation { VaultLocation(directory: directory + "/vault") }
    var passphraseFile: String { directory + "/demo-passphrase.txt" }

    func keyPath(_ id: String) -> String {
        ["chair", "cm-1", "cm-2"].contains(id) ? location.keysDirectory + "/\(id).key" : people + "/\(id).key"
    }

    func actor(_ vault: Vault, _ id: String, action: String) throws -> Actor {
        try vault.authenticate(PrincipalID(id), keyPath: keyPath(id),
                               passphrase: PassphraseSource(file: passphraseFile, environmentVariable: "EVALVAULT_DEMO_UNUSED", subject: id),
                               action: action, target: "demo")
    }

    func table(_ result: AggregateResult) {
        for line in String(decoding: result.render(.table), as: UTF8.self).split(separator: "\n").dropFirst() { say("     " + line) }
    }

    public func run() throws -> Outcome {
        let kdf = try Scrypt.Parameters(log2N: 10)
        let pass = SecureBytes(Array(DemoData.passphrase.utf8))
        try Files.makeDirectory(people, mode: 0o700)
        try Files.writeAtomically(Array(DemoData.passphrase.utf8), to: passphraseFile, mode: 0o600, overwrite: false)
        say("EvalVault demo: a national programme evaluates five AI teams in rounds, eliminating some each")
        say("time. Evaluators seal scores; only policy-approved aggregates come out; everything is audited.")
        say("Folder: \(directory)")
        say("(Demo keys use a low scrypt cost and the passphrase in demo-passphrase.txt. Never do this for real.)")
        say("")

        // 1. Vault and people.
        _ = try Vault.initialize(at: location, chair: PrincipalID("chair"), passphrase: pass,
                                 identity: "Programme director Lee Ji-won (fictional)", kdf: kdf)
        let vault = try Vault.open(at: location)
        let chair = try actor(vault, "chair", action: "principal.add")
        for p in DemoData.people {
            let keys = PrivateKeys.generate()
            let base = (keyPath(p.id) as NSString).deletingPathExtension
            try KeyFile.write(keys, to: base, passphrase: pass, kdf: kdf)
            _ = try vault.addPrincipal(id: PrincipalID(p.id), role: p.role, publicKeys: PublicKeys.load(path: base + ".pub"),
                                       identity: p.identity, conflicts: p.conflicts, actor: chair)
        }
        let evaluators = DemoData.people.filter { $0.role == .evaluator }
        say("1. The chair creates the vault; 2 committee members, 1 auditor and \(evaluators.count) evaluators enrol.")
        say("   Each made their own key. Real names are stored only encrypted: the vault knows ev-1 … ev-\(evaluators.count).")

        // 2. Round 1.
        let round1 = try RoundFile.parse(DemoData.round1TOML, file: "Examples/round-1.toml")
        try vault.createRound(round1, actor: chair)
        _ = try vault.openRound(round1.id, actor: chair, coHolders: [try actor(vault, "cm-1", action: "round.open")])
        say("2. Round \(round1.id) opens: \(round1.teams.count) teams; criteria " +
            round1.criteria.map { "\($0.id) \($0.weight)" }.joined(separator: ", ") + " (weights, from Examples/round-1.toml).")
        say("   Its key is split \(round1.reveal.threshold)-of-\(round1.reveal.holders.count) between \(round1.reveal.holders.map(\.rawValue).joined(separator: ", ")).")
        say("   It declares what it will publish, fixed before anyone seals: " + round1.publish.map(\.description).joined(separator: "; ") + ".")

        // 3. Sealing.
        let sealed1 = try sealAll(vault, round: round1, evaluators: evaluators)
        say("3. \(evaluators.count) evaluators seal \(sealed1) scores, each as one batch from a CSV file, and are shown that list. Conflicts are")
        say("   respected: " + evaluators.filter { !$0.conflicts.isEmpty }.map { "\($0.id) never scores \($0.conflicts.joined(separator: ", "))" }.joined(separator: "; ") + ".")
        do {
            _ = try vault.seal([ScoreInput(team: "upstage", criterion: "performance", score: Fixed(90), comment: nil)], round: round1.id,
                               actor: try actor(vault, "ev-2", action: "seal"))
        } catch let e as VaultError {
            say("   When ev-2 tries to score upstage anyway: \(e.message).")
        }

        // 4. Refusals.
        say("4. Requests the policy refuses (and the audit log records):")
        let cm1 = try actor(vault, "cm-1", action: "reveal")
        for (who, by, precision, label) in [("ev-1", ["team", "criterion"], 2, "ev-1 asks for the mean per team and criterion"),
                                            ("chair", ["team", "evaluator"], 2, "the chair asks for means by evaluator"),
                                            ("chair", ["team", "criterion"], 6, "the chair asks for those means to 6 places")] {
            do {
                _ = try vault.reveal(RevealRequest(round: round1.id, stat: .mean, by: by, trim: nil, advance: nil, precision: precision, format: .table),
                                     actor: try actor(vault, who, action: "reveal"), coHolders: who == "chair" ? [cm1] : [], publish: false)
                throw VaultError.internalError("the demo's refused request was allowed")
            } catch let e as VaultError where e.exitStatus == .noPermission {
                say("   - \(label): \(e.message)")
            }
        }

        // 5. Close and reveal.
        _ = try vault.closeRound(round1.id, actor: chair)
        let chairReveal = try actor(vault, "chair", action: "reveal")
        let ranking1 = try vault.reveal(RevealRequest(round: round1.id, stat: .rank, by: ["team"], trim: nil, advance: 4, precision: 2, format: .table),
                                        actor: chairReveal, coHolders: [cm1], publish: true)
        let statementPath = directory + "/\(round1.id)-result.json"
        try Files.writeAtomically(ranking1.statement!, to: statementPath, mode: 0o644, overwrite: false)
        say("5. The round closes (an audit checkpoint is signed). The chair and cm-1 — 2 of 3 key holders — reveal")
        say("   the weighted totals and the ranking; the top 4 advance. Every batch is verified first.")
        table(ranking1.result)
        say("   The signed result statement is \(statementPath) (check it: evalvault verify-result FILE).")

        // 6. The moving target.
        let survivors = ranking1.result.groups.filter { $0.advance == true }.map(\.team)
        let template = try RoundFile.parse(DemoData.round2TOML, file: "Examples/round-2.toml")
        let round2 = RoundConfig(id: template.id, title: template.title, teams: survivors, criteria: template.criteria, reveal: template.reveal,
                                 panel: template.panel, publish: template.publish)
        try vault.createRound(round2, actor: chair)
        _ = try vault.openRound(round2.id, actor: chair, coHolders: [try actor(vault, "cm-2", action: "round.open")])
        let sealed2 = try sealAll(vault, round: round2, evaluators: evaluators)
        _ = try vault.closeRound(round2.id, actor: chair)
        let cm2 = try actor(vault, "cm-2", action: "reveal")
        let ranking2 = try vault.reveal(RevealRequest(round: round2.id, stat: .rank, by: ["team"], trim: nil, advance: 2, precision: 2, format: .table),
                                        actor: chairReveal, coHolders: [cm2], publish: false)
        say("6. The moving target: round \(round2.id) for the \(survivors.count) survivors, with new criteria and weights (" +
            round2.criteria.map { "\($0.id) \($0.weight)" }.joined(separator: ", ") + ").")
        say("   \(sealed2) more scores sealed; the chair and cm-2 reveal; the top 2 go to the final:")
        table(ranking2.result)

        // 7. Identity and audit.
        let auditor = try actor(vault, "au-1", action: "identity.reveal")
        if let name = try vault.revealIdentity(of: PrincipalID("ev-2"), reason: "conflict-of-interest check after the ev-2 refusal", actor: auditor) {
            say("7. The auditor unmasks ev-2, stating why (the reason is audited): \(String(decoding: name.unsafeArray(), as: UTF8.self)).")
        }
        let exportPath = directory + "/audit.jsonl"
        let exporter = try actor(vault, "chair", action: "audit.export")
        let prepared = try vault.prepareAuditExport(actor: exporter, format: .jsonl)
        let writer = try Files.AtomicWriter(path: exportPath, mode: 0o644)
        try vault.writeAuditExport(format: .jsonl, checkpoint: prepared.checkpoint, chairKey: exporter.chairKey) { try writer.write($0) }
        try writer.commit(overwrite: false)
        let verified = try AuditVerifier.verify(path: exportPath)
        say("8. The audit log — \(verified.size) entries, every command, denials included — is exported to audit.jsonl and")
        say("   verified offline: root \(Base64.encode(verified.root)), signed by the chair (\(verified.chairFingerprint)).")

        // 8. Report.
        let reportPath = directory + "/\(round1.id)-report.html"
        let html = try vault.report(round: round1.id, advance: 4, actor: chairReveal, coHolders: [cm1])
        try Files.writeAtomically(html, to: reportPath, mode: 0o644, overwrite: false)
        say("9. The results page for \(round1.id): \(reportPath)")
        say("")
        say("Look around: export EVALVAULT_DIR=\(location.directory) EVALVAULT_PASSPHRASE=\"$(cat \(passphraseFile))\"")
        say("  evalvault round list; evalvault principal list; evalvault policy show")
        say("  EVALVAULT_PASSPHRASE_CM_1=\"$EVALVAULT_PASSPHRASE\" evalvault reveal --as chair --round \(round1.id) --stat mean --by team,criterion --with cm-1")
        return Outcome(vault: location.directory, round1Ranking: ranking1.result.groups, round2Ranking: ranking2.result.groups,
                       report: reportPath, resultStatement: statementPath)
    }

    /// Every evaluator seals every (team, criterion) it has no conflict with, as one CSV batch.
    func sealAll(_ vault: Vault, round: RoundConfig, evaluators: [DemoData.Person]) throws -> Int {
        var total = 0
        for ev in evaluators {
            var csv = "team,criterion,score\n"
            for team in round.teams where !ev.conflicts.contains(team) {
                for c in round.criteria {
                    csv += "\(team),\(c.id),\(DemoData.score(round: round.id, evaluator: ev.id, team: team, criterion: c))\n"
                }
            }
            let path = people + "/\(ev.id)-\(round.id).csv"
            try Files.writeAtomically(Array(csv.utf8), to: path, mode: 0o600, overwrite: false)
            let inputs = try ScoreSheet.fromCSV(file: path)
            total += try vault.seal(inputs, round: round.id, actor: try actor(vault, ev.id, action: "seal"), file: path).count
        }
        return total
    }
}
