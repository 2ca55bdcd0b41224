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
        /// Round 2's published tally record (docs/tally-format.md).
        public let tallyRecord: String
    }

    /// Each person works in their own folder with their own state (`DIR/<id>/state`), as on their
    /// own machine; the chair's folder holds the vault. Files pass between them by copy into the
    /// recipient's `inbox/`, and the story shows each one as it passes.
    func home(_ id: String) -> String { directory + "/\(id)" }
    func state(_ id: String) -> ClientState { ClientState(directory: home(id) + "/state") }
    var location: VaultLocation { VaultLocation(directory: home("chair") + "/vault") }
    var passphraseFile: String { directory + "/demo-passphrase.txt" }

    func keyPath(_ id: String) -> String { id == "chair" ? location.keysDirectory + "/chair.key" : home(id) + "/\(id).key" }

    func keys(_ id: String) throws -> PrivateKeys {
        try KeyFile.load(path: keyPath(id), passphrase: SecureBytes(Array(DemoData.passphrase.utf8)))
    }

    func actor(_ vault: Vault, _ id: String, action: String) throws -> Actor {
        try vault.authenticate(PrincipalID(id), keyPath: keyPath(id),
                               passphrase: PassphraseSource(file: passphraseFile, environmentVariable: "EVALVAULT_DEMO_UNUSED", subject: id),
                               action: action, target: "demo")
    }

    /// Copies `path` into each recipient's inbox; returns the copy of the last one.
    @discardableResult
    func deliver(_ path: String, to recipients: [String]) throws -> String {
        var last = path
        for r in recipients {
            try Files.makeDirectory(home(r) + "/inbox", mode: 0o700)
            last = home(r) + "/inbox/" + (path as NSString).lastPathComponent
            try? FileManager.default.removeItem(atPath: last)
            try FileManager.default.copyItem(atPath: path, toPath: last)
        }
        return last
    }

    /// Delivers `path` and says so.
    @discardableResult
    func send(_ path: String, from: String, to recipients: [String], what: String) throws -> String {
        let last = try deliver(path, to: recipients)
        let names = recipients.count > 3 ? "\(recipients[0]) … \(recipients[recipients.count - 1])" : recipients.joined(separator: ", ")
        say("   ⇢ \((path as NSString).lastPathComponent): \(from) → \(names) (\(what))")
        return last
    }

    func table(_ result: AggregateResult) {
        for line in String(decoding: result.render(.table), as: UTF8.self).split(separator: "\n").dropFirst() { say("     " + line) }
    }

    /// A holder approves a request at home: reads it from its inbox, checks it against its own
    /// pin, and writes its approval file.
    func approve(_ holder: String, _ request: String) throws -> String {
        let client = HolderClient(state: state(holder))
        let bytes = try Files.read(request, what: "request")
        let inspection = try client.inspect(bytes, file: request, holder: PrincipalID(holder))
        let approval = try client.approve(inspection, as: PrincipalID(holder), keys: try keys(holder))
        let out = home(holder) + "/" + ((request as NSString).lastPathComponent as NSString).deletingPathExtension + ".\(holder).approval"
        try Files.writeAtomically(approval, to: out, mode: 0o600, overwrite: false)
        return out
    }

    /// Opens a round the way holders at home do: request out, approval in.
    func open(_ vault: Vault, _ round: RoundConfig, chair: Actor, holder: String) throws {
        let request = try vault.makeOpenRequest(round.id, actor: chair)
        let path = home("chair") + "/\(round.id)-open.req"
        try Files.writeAtomically(request.bytes, to: path, mode: 0o644, overwrite: false)
        let approval = try approve(holder, try send(path, from: "chair", to: [holder], what: "the panel to approve"))
        let back = try send(approval, from: holder, to: ["chair"], what: "its approval")
        _ = try vault.openRound(request: request.bytes, file: path, approvals: [(try Files.read(back, what: "approval"), back)], actor: chair,
                                expectedRound: round.id)
    }

    /// A tally round's key ceremony with files: the chair's request to every holder, each
    /// holder's commit to all, each holder's verified statement back to the chair. Returns the
    /// joint key (hex).
    func ceremony(_ vault: Vault, _ round: RoundConfig, chair: Actor) throws -> String {
        let holders = round.reveal.holders.map(\.rawValue)
        let request = try vault.startCeremony(round.id, actor: chair)
        let path = home("chair") + "/\(round.id).ceremony"
        try Files.writeAtomically(request.bytes, to: path, mode: 0o644, overwrite: false)
        try send(path, from: "chair", to: holders.filter { $0 != "chair" }, what: "the key ceremony request")
        var commits: [(bytes: [UInt8], file: String)] = []
        for h in holders {
            let client = HolderClient(state: state(h))
            let (r, firstUse) = try client.ceremonyRequest(request.bytes, file: path)
            let commit = try client.commit(r, firstUse: firstUse, as: PrincipalID(h), keys: try keys(h))
            let out = home(h) + "/\(round.id).\(h).commit"
            try Files.writeAtomically(commit.bytes, to: out, mode: 0o644, overwrite: false)
            try deliver(out, to: holders.filter { $0 != h })
            commits.append((commit.bytes, out))
        }
        say("   ⇢ \(round.id).<holder>.commit: each holder → the others (commitments, proofs, a share encrypted to each)")
        var statements: [(bytes: [UInt8], file: String)] = []
        for h in holders {
            let transcript = try CeremonyTranscript(request: request, commits: try commits.map {
                try CeremonyCommitFile(bytes: $0.bytes, file: $0.file, request: request)
            })
            let statement = try CeremonyVerifiedFile.make(transcript: transcript, holder: PrincipalID(h), keys: try keys(h))
            statements.append((statement.bytes, "\(h).verified"))
        }
        say("   ⇢ \(round.id).<holder>.verified: each holder → chair (its signed check of every commit and of its own shares)")
        let record = try vault.finishCeremony(request: request.bytes, file: path, commits: commits, statements: statements, actor: chair)
        return Hex.encode(record.jointKey.encoded(compressed: true))
    }

    /// A declared reveal completed from a holder's approval at home.
    func reveal(_ vault: Vault, _ asked: RevealRequest, chair: Actor, holder: String, publish: Bool, name: String) throws -> RevealOutcome {
        let request = try vault.makeRevealRequest(asked, actor: chair)
        let path = home("chair") + "/\(name).req"
        try Files.writeAtomically(request.bytes, to: path, mode: 0o644, overwrite: false)
        let approval = try approve(holder, try send(path, from: "chair", to: [holder], what: "the reveal and the manifest root to approve"))
        let what = (try? vault.round(asked.round, verifiedWith: chair.chairKey).config.mode) == .tally
            ? "its partial decryptions of the cell sums, with proofs" : "its key share, encrypted to this request only"
        let back = try send(approval, from: holder, to: ["chair"], what: what)
        return try vault.reveal(request: request.bytes, file: path, approvals: [(try Files.read(back, what: "approval"), back)], actor: chair,
                                format: asked.format, publish: publish)[0]
    }

    public func run() throws -> Outcome {
        let kdf = try Scrypt.Parameters(log2N: 10)
        let pass = SecureBytes(Array(DemoData.passphrase.utf8))
        try Files.writeAtomically(Array(DemoData.passphrase.utf8), to: passphraseFile, mode: 0o600, overwrite: false)
        say("EvalVault demo: a national programme evaluates five AI teams in rounds, eliminating some each")
        say("time. Evaluators seal scores; only policy-approved aggregates come out; everything is audited.")
        say("Folder: \(directory): one folder per person, as if on their own machines; only files pass between them (⇢).")
        say("(Demo keys use a low scrypt cost and the passphrase in demo-passphrase.txt. Never do this for real.)")
        say("")

        // 1. Vault and people: each makes a key at home and sends the chair its public half.
        try Files.makeDirectory(home("chair"), mode: 0o700)
        _ = try Vault.initialize(at: location, chair: PrincipalID("chair"), passphrase: pass,
                                 identity: "Programme director Lee Ji-won (fictional)", kdf: kdf, state: state("chair"))
        let vault = try Vault.open(at: location, state: state("chair"))
        let chair = try actor(vault, "chair", action: "principal.add")
        for p in DemoData.people {
            try Files.makeDirectory(home(p.id), mode: 0o700)
            try KeyFile.write(PrivateKeys.generate(), to: home(p.id) + "/\(p.id)", passphrase: pass, kdf: kdf)
            let pub = try deliver(home(p.id) + "/\(p.id).pub", to: ["chair"])
            _ = try vault.addPrincipal(id: PrincipalID(p.id), role: p.role, publicKeys: PublicKeys.load(path: pub),
                                       identity: p.identity, conflicts: p.conflicts, actor: chair)
        }
        let evaluators = DemoData.people.filter { $0.role == .evaluator }
        let chairPub = location.keysDirectory + "/chair.pub"
        say("1. The chair creates the vault in its folder; 2 committee members, 1 auditor and \(evaluators.count) evaluators enrol.")
        say("   ⇢ <id>.pub: each person → chair (public keys; the private ones never leave home). Real names are")
        say("   stored only encrypted: the vault knows ev-1 … ev-\(evaluators.count). Chair fingerprint, to compare by voice: \(chair.principal.publicKeys.fingerprint).")

        // 2. Round 1: the panel approved by a holder at home, the descriptor sent to the evaluators.
        let round1 = try RoundFile.parse(DemoData.round1TOML, file: "Examples/round-1.toml")
        try vault.createRound(round1, actor: chair)
        say("2. Round \(round1.id): \(round1.teams.count) teams; criteria " +
            round1.criteria.map { "\($0.id) \($0.weight)" }.joined(separator: ", ") + " (weights, from Examples/round-1.toml).")
        say("   Its key is split \(round1.reveal.threshold)-of-\(round1.reveal.holders.count) between \(round1.reveal.holders.map(\.rawValue).joined(separator: ", ")); cm-1 approves its panel from home:")
        try open(vault, round1, chair: chair, holder: "cm-1")
        say("   It declares what it will publish, fixed before anyone seals: " + round1.publish.map(\.description).joined(separator: "; ") + ".")

        // 3. Sealing at home, importing at the chair's.
        say("3. The chair publishes the round; each evaluator seals at home, from a CSV file, into one batch file:")
        let sealed1 = try sealAll(vault, round: round1, evaluators: evaluators, chair: chair, chairPub: chairPub)
        say("   \(evaluators.count) evaluators sealed \(sealed1) scores, were shown what the round will publish and kept a receipt;")
        say("   the chair imported the files. Conflicts are respected: " +
            evaluators.filter { !$0.conflicts.isEmpty }.map { "\($0.id) never scores \($0.conflicts.joined(separator: ", "))" }.joined(separator: "; ") + ".")
        do {
            let d = try RoundDescriptor(bytes: try Files.read(home("ev-2") + "/inbox/\(round1.id).round", what: "descriptor"), file: "\(round1.id).round")
            _ = try d.seal(ScoreSheet([ScoreInput(team: "upstage", criterion: "performance", score: Fixed(90), comment: nil)]), evaluator: PrincipalID("ev-2"),
                           keys: try keys("ev-2"), out: home("ev-2") + "/conflict.batch", client: state("ev-2"))
        } catch let e as VaultError {
            say("   When ev-2 tries to score upstage anyway, its own client refuses: \(e.message).")
        }

        // 4. Refusals.
        say("4. Requests the policy refuses (and the audit log records):")
        for (who, by, precision, label) in [("ev-1", ["team", "criterion"], 2, "ev-1 asks for the mean per team and criterion"),
                                            ("chair", ["team", "evaluator"], 2, "the chair asks for means by evaluator"),
                                            ("chair", ["team", "criterion"], 6, "the chair asks for those means to 6 places")] {
            do {
                _ = try vault.makeRevealRequest(RevealRequest(round: round1.id, stat: .mean, by: by, trim: nil, advance: nil, precision: precision, format: .table),
                                                actor: try actor(vault, who, action: "reveal"))
                throw VaultError.internalError("the demo's refused request was allowed")
            } catch let e as VaultError where e.exitStatus == .noPermission {
                say("   - \(label): \(e.message)")
            }
        }

        // 5. Close and reveal, with cm-1's share released from home for this request only.
        _ = try vault.closeRound(round1.id, actor: chair)
        let chairReveal = try actor(vault, "chair", action: "reveal")
        say("5. The round closes: the chair signs the manifest of the batches it counts. The chair asks for the ranking;")
        say("   cm-1 checks the request at home and releases its share for it alone (2 of 3 key holders):")
        let ranking1 = try reveal(vault, RevealRequest(round: round1.id, stat: .rank, by: ["team"], trim: nil, advance: 4, precision: 2, format: .table),
                                  chair: chairReveal, holder: "cm-1", publish: true, name: "\(round1.id)-rank")
        let statementPath = home("chair") + "/\(round1.id)-result.json"
        try Files.writeAtomically(ranking1.statement!, to: statementPath, mode: 0o644, overwrite: false)
        say("   Every batch is verified first; the top 4 advance.")
        table(ranking1.result)
        try send(statementPath, from: "chair", to: evaluators.map(\.id), what: "the signed result")
        var counted = 0
        for ev in evaluators {
            let receipt = try Receipt(bytes: try Files.read(home(ev.id) + "/receipt-\(round1.id).json", what: "receipt"), file: "receipt")
            _ = try Receipt.verify(receipt, result: try Files.read(home(ev.id) + "/inbox/\(round1.id)-result.json", what: "result"),
                                   expectedChair: .key(try PublicKeys.load(path: home(ev.id) + "/inbox/chair.pub")))
            counted += 1
        }
        say("   Each of the \(counted) evaluators checks at home, with its receipt, that its batch was counted (evalvault receipt verify).")

        // 6. The moving target.
        let survivors = ranking1.result.groups.filter { $0.advance == true }.map(\.team)
        let template = try RoundFile.parse(DemoData.round2TOML, file: "Examples/round-2.toml")
        let round2 = RoundConfig(id: template.id, title: template.title, teams: survivors, criteria: template.criteria, reveal: template.reveal,
                                 panel: template.panel, publish: template.publish, programme: template.programme,
                                 teamNames: template.teamNames.filter { survivors.contains($0.key) }, mode: template.mode)
        try vault.createRound(round2, actor: chair)
        say("6. The moving target: round \(round2.id) for the \(survivors.count) survivors, with new criteria and weights (" +
            round2.criteria.map { "\($0.id) \($0.weight)" }.joined(separator: ", ") + "), as a tally round:")
        say("   only the sum of each (team, criterion) cell is ever decrypted, and no one ever holds the key that could open a score.")
        say("   The three holders make its key at home: each commits to a secret, sends the others encrypted shares and checks")
        say("   its own (a cheat would be named):")
        let jointKey = try ceremony(vault, round2, chair: chair)
        say("   Joint key \(jointKey.prefix(16))…, which no one holds. cm-2 approves the panel and that key:")
        try open(vault, round2, chair: chair, holder: "cm-2")
        let sealed2 = try sealAll(vault, round: round2, evaluators: evaluators, chair: chair, chairPub: chairPub, quiet: true)
        _ = try vault.closeRound(round2.id, actor: chair)
        let ranking2 = try reveal(vault, RevealRequest(round: round2.id, stat: .rank, by: ["team"], trim: nil, advance: 2, precision: 2, format: .table),
                                  chair: chairReveal, holder: "cm-2", publish: true, name: "\(round2.id)-rank")
        let recordPath = home("chair") + "/\(round2.id)-tally-record.json"
        try Files.writeAtomically(ranking2.statement!, to: recordPath, mode: 0o644, overwrite: false)
        say("   \(sealed2) encrypted scores sealed at home, each with a proof it is on its grid, checked at import; cm-2")
        say("   recomputes every cell sum from the signed batches and releases only its partial decryption of those sums.")
        say("   The top 2 go to the final (anyone can check the whole tally: python3 Tests/tools/verify_tally.py \(recordPath)):")
        table(ranking2.result)

        // 7. Identity and audit.
        let auditor = try actor(vault, "au-1", action: "identity.reveal")
        if let name = try vault.revealIdentity(of: PrincipalID("ev-2"), reason: "conflict-of-interest check after the ev-2 refusal", actor: auditor) {
            say("7. The auditor unmasks ev-2, stating why (the reason is audited): \(String(decoding: name.unsafeArray(), as: UTF8.self)).")
        }
        let exportPath = home("chair") + "/audit.jsonl"
        let exporter = try actor(vault, "chair", action: "audit.export")
        let prepared = try vault.prepareAuditExport(actor: exporter, format: .jsonl)
        let writer = try Files.AtomicWriter(path: exportPath, mode: 0o644)
        try vault.writeAuditExport(format: .jsonl, checkpoint: prepared.checkpoint, chairKey: exporter.chairKey) { try writer.write($0) }
        try writer.commit(overwrite: false)
        let received = try send(exportPath, from: "chair", to: ["au-1"], what: "the audit log")
        let verified = try AuditVerifier.verify(path: received)
        say("8. The audit log — \(verified.size) entries, every command, denials included — is verified by the auditor at home:")
        say("   root \(Base64.encode(verified.root)), signed by the chair (\(verified.chairFingerprint)).")

        // 8. Report: the published ranking and one more declared reveal, approved by cm-1.
        let cells = try reveal(vault, RevealRequest(round: round1.id, stat: .mean, by: ["team", "criterion"], trim: nil, advance: nil, precision: 2, format: .json),
                               chair: chairReveal, holder: "cm-1", publish: false, name: "\(round1.id)-cells")
        let reportPath = home("chair") + "/\(round1.id)-report.html"
        let html = try vault.report(round: round1.id, advance: 4, rank: ranking1, cells: cells, chairKey: chair.chairKey)
        try Files.writeAtomically(html, to: reportPath, mode: 0o644, overwrite: false)
        say("9. The results page for \(round1.id) (the ranking above and the declared means per criterion): \(reportPath)")
        say("")
        say("Look around (as the chair): export EVALVAULT_DIR=\(location.directory) EVALVAULT_STATE=\(home("chair"))/state EVALVAULT_PASSPHRASE=\"$(cat \(passphraseFile))\"")
        say("  evalvault round list; evalvault principal list; evalvault policy show; ls \(directory)/*/inbox")
        return Outcome(vault: location.directory, round1Ranking: ranking1.result.groups, round2Ranking: ranking2.result.groups,
                       report: reportPath, resultStatement: statementPath, tallyRecord: recordPath)
    }

    /// The chair publishes the round's descriptor to every evaluator; each seals every (team,
    /// criterion) it has no conflict with, from a CSV file, into a batch file at home, keeping a
    /// receipt; the files go to the chair, who imports them.
    func sealAll(_ vault: Vault, round: RoundConfig, evaluators: [DemoData.Person], chair: Actor, chairPub: String, quiet: Bool = false) throws -> Int {
        let descriptor = home("chair") + "/\(round.id).round"
        try Files.writeAtomically(try vault.publishRound(round.id, actor: chair), to: descriptor, mode: 0o644, overwrite: false)
        let ids = evaluators.map(\.id)
        if quiet {
            try deliver(descriptor, to: ids)
        } else {
            try send(descriptor, from: "chair", to: ids, what: "the signed round descriptor")
            try send(chairPub, from: "chair", to: ids, what: "the chair's public key, for checking results")
        }
        var total = 0
        var files: [String] = []
        for ev in evaluators {
            var csv = "team,criterion,score\n"
            for team in round.teams where !ev.conflicts.contains(team) {
                for c in round.criteria {
                    csv += "\(team),\(c.id),\(DemoData.score(round: round.id, evaluator: ev.id, team: team, criterion: c))\n"
                }
            }
            let path = home(ev.id) + "/\(round.id).csv"
            try Files.writeAtomically(Array(csv.utf8), to: path, mode: 0o600, overwrite: false)
            let d = try RoundDescriptor(bytes: try Files.read(home(ev.id) + "/inbox/\(round.id).round", what: "descriptor"), file: "\(round.id).round")
            let out = home(ev.id) + "/\(ev.id)-\(round.id).batch"
            let sealed = try d.seal(try ScoreSheet.fromCSV(file: path), evaluator: PrincipalID(ev.id), keys: try keys(ev.id), out: out, client: state(ev.id))
            try Files.writeAtomically(sealed.receipt.bytes, to: home(ev.id) + "/receipt-\(round.id).json", mode: 0o600, overwrite: false)
            files.append(out)
        }
        if !quiet { say("   ⇢ ev-N-\(round.id).batch: each evaluator → chair (its sealed batch; only the count of scores is readable)") }
        for (ev, file) in zip(evaluators, files) {
            let copy = try deliver(file, to: ["chair"])
            let r = try vault.importBatch(path: copy, actor: chair)
            guard r.evaluator == ev.id else { throw VaultError.internalError("the demo imported another evaluator's batch") }
            total += r.scores
        }
        return total
    }
}
