/// The model case of design: Roles as data: people, round files, and seeded scores.
///
/// The round files are `Examples/round-1.toml` and `Examples/round-2.toml`, compiled in so the
/// demo runs from any folder; a test (DemoTests) checks they are byte-for-byte the files.
public enum DemoData {
    public static let round1TOML = #"""
        # The first evaluation round of the model case (design: Roles, Command line). Weights need not sum to 100:
        # weighted totals normalise them. Scores must lie on min, min + step, …, max.
        id = "2025-R1"
        title = "First evaluation"
        programme = "National AI Foundation Model Programme"

        [teams]
        # Team ids (used in scores and results) = the names shown on the results page.
        naver-cloud = "Naver Cloud"
        upstage = "Upstage"
        sk-telecom = "SK Telecom"
        nc-ai = "NC AI"
        lg-ai-research = "LG AI Research"

        [reveal]
        # The round key is split so that any 2 of these 3 holders must take part in a reveal.
        holders = ["chair", "cm-1", "cm-2"]
        threshold = 2

        [[criteria]]
        id = "performance"
        title = "Benchmark performance"
        weight = 40
        min = 0
        max = 100
        step = 0.5

        [[criteria]]
        id = "efficiency"
        title = "Compute efficiency"
        weight = 25
        min = 0
        max = 100
        step = 1

        [[criteria]]
        id = "safety"
        title = "Safety evaluation"
        weight = 20
        min = 0
        max = 10
        step = 0.5

        [[criteria]]
        id = "openness"
        title = "Open-weight and documentation"
        weight = 15
        min = 1
        max = 5
        step = 1

        # What the round will publish, declared before anyone seals: evaluators are shown this list when
        # they seal, and the default policy refuses every other reveal (another statistic, grouping,
        # precision or advance). Here: the ranking by weighted total, top 4 advancing, and the mean of
        # each criterion per team (the results page shows both). precision defaults to 2 places.
        [[publish]]
        stat = "rank"
        by = ["team"]
        advance = 4

        [[publish]]
        stat = "mean"
        by = ["team", "criterion"]
        precision = 2

        """#

    public static let round2TOML = #"""
        # The second round of the model case: the "moving target". The four teams that advanced from
        # round 1 are scored again on changed criteria and weights: safety now weighs most, a new
        # agentic-tasks criterion appears, openness is gone. (`evalvault demo` fills in the teams that
        # actually advanced; these are the ones its seeded scores advance.)
        id = "2025-R2"
        title = "Second evaluation: the moving target"
        programme = "National AI Foundation Model Programme"
        # A tally round: each score is encrypted with a proof that it is on its grid, and only the sum
        # of each (team, criterion) cell is ever decrypted, by two holders, under a key the three holders
        # made together and no one holds. It can publish counts, means, weighted totals and ranks only.
        mode = "tally"

        [teams]
        # Team ids (used in scores and results) = the names shown on the results page.
        upstage = "Upstage"
        lg-ai-research = "LG AI Research"
        naver-cloud = "Naver Cloud"
        sk-telecom = "SK Telecom"

        [reveal]
        holders = ["chair", "cm-1", "cm-2"]
        threshold = 2

        [[criteria]]
        id = "performance"
        title = "Benchmark performance"
        weight = 30
        min = 0
        max = 100
        step = 0.5

        [[criteria]]
        id = "safety"
        title = "Safety evaluation"
        weight = 35
        min = 0
        max = 10
        step = 0.5

        [[criteria]]
        id = "agentic"
        title = "Agentic tasks"
        weight = 25
        min = 0
        max = 100
        step = 1

        [[criteria]]
        id = "efficiency"
        title = "Compute efficiency"
        weight = 10
        min = 0
        max = 100
        step = 1

        # Declared before anyone seals: the ranking, the top 2 going to the final.
        [[publish]]
        stat = "rank"
        by = ["team"]
        advance = 2

        """#

    /// The demo passphrase of every demo key. It protects nothing, and says so.
    public static let passphrase = "demo passphrase - not secret"

    public struct Person: Sendable {
        public let id: String
        public let role: Role
        public let identity: String
        public let conflicts: [String]
    }

    /// Fictional people. Evaluators 2, 5 and 7 have declared conflicts.
    public static let people: [Person] = [
        Person(id: "cm-1", role: .committee, identity: "Committee member Yoon Ha-eun (fictional)", conflicts: []),
        Person(id: "cm-2", role: .committee, identity: "Committee member Park Min-jae (fictional)", conflicts: []),
        Person(id: "au-1", role: .auditor, identity: "Auditor Choi Da-in (fictional)", conflicts: []),
    ] + [
        ("Kang Ji-ho", []), ("Lim Seo-yun", ["upstage"]), ("Jung Hyun-woo", []), ("Oh Ye-jin", []),
        ("Shin Dong-hyun", ["nc-ai"]), ("Han Soo-ah", []), ("Yoo Jae-won", ["lg-ai-research"]), ("Baek Na-rae", []), ("Song Tae-yang", []),
    ].enumerated().map { i, p in Person(id: "ev-\(i + 1)", role: .evaluator, identity: "Evaluator \(p.0) (fictional)", conflicts: p.1) }

    /// How strong each team is, in percent of the scale (higher is better).
    static let strength: [String: Int64] = ["upstage": 84, "lg-ai-research": 80, "naver-cloud": 76, "sk-telecom": 71, "nc-ai": 66]

    /// The seeded score of one evaluator for one (team, criterion): the team's strength, a
    /// per-(team, criterion) offset, the evaluator's leniency and some noise, snapped to the
    /// criterion's grid. Deterministic (FNV-1a and SplitMix64), so tests can recompute it.
    public static func score(round: String, evaluator: String, team: String, criterion: Criterion) -> Fixed {
        func mix(_ text: String) -> UInt64 {
            var h: UInt64 = 0xcbf29ce484222325
            for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
            var z = h &+ 0x9e3779b97f4a7c15
            z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
            z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
            return z ^ (z >> 31)
        }
        func spread(_ key: String, _ width: Int64) -> Int64 { Int64(mix(key) % UInt64(2 * width + 1)) - width }
        let percent = (strength[team] ?? 60) + spread("\(round)/\(team)/\(criterion.id)", 6) + spread("lenient/\(evaluator)", 4)
            + spread("\(round)/\(evaluator)/\(team)/\(criterion.id)", 7)
        let clamped = Swift.min(100, Swift.max(0, percent))
        return criterion.score(units: (clamped * criterion.stepCount + 50) / 100)
    }
}
