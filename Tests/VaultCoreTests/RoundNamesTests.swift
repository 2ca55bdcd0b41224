import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// The programme name and team display names of a round file (design: Command line's round
/// file): read and checked, part of the chair-signed round record and of the round descriptor.
@Suite("Round files: programme and team names")
struct RoundNamesTests {
    static let named = """
        id = "R1"
        programme = "National AI Foundation Model Programme"
        [teams]
        naver-cloud = "Naver Cloud"
        upstage = "Upstage"
        "sk.telecom" = "SK Telecom <R&D>"
        [reveal]
        holders = ["chair"]
        threshold = 1
        [[criteria]]
        id = "performance"
        weight = 1
        min = 0
        max = 100
        step = 0.5
        """

    @Test("a [teams] table gives ids in file order and their display names; a list still gives ids alone")
    func parse() throws {
        let c = try RoundFile.parse(Self.named, file: "r.toml")
        #expect(c.teams == ["naver-cloud", "upstage", "sk.telecom"])
        #expect(c.teamNames == ["naver-cloud": "Naver Cloud", "upstage": "Upstage", "sk.telecom": "SK Telecom <R&D>"])
        #expect(c.programme == "National AI Foundation Model Programme")
        #expect(c.displayName(of: "upstage") == "Upstage")
        let plain = try RoundFile.parse(Self.named.replacingOccurrences(of: "programme = \"National AI Foundation Model Programme\"\n", with: "")
            .replacingOccurrences(of: "[teams]\nnaver-cloud = \"Naver Cloud\"\nupstage = \"Upstage\"\n\"sk.telecom\" = \"SK Telecom <R&D>\"\n",
                                  with: "teams = [\"naver-cloud\", \"upstage\"]\n"), file: "r.toml")
        #expect(plain.teams == ["naver-cloud", "upstage"] && plain.teamNames.isEmpty && plain.programme == nil)
        #expect(plain.displayName(of: "upstage") == "upstage")
        // Canonical JSON round trip, with both new members; without them, neither member is written.
        let json = CanonicalJSON.string(c.canonicalJSON)
        #expect(json.contains(#""programme":"National AI Foundation Model Programme""#))
        #expect(json.contains(#""team_names":{"naver-cloud":"Naver Cloud","sk.telecom":"SK Telecom <R&D>","upstage":"Upstage"}"#))
        #expect(try RoundConfig(canonical: JSONParser.parse(Array(json.utf8))) == c)
        let plainJSON = CanonicalJSON.string(plain.canonicalJSON)
        #expect(!plainJSON.contains("programme") && !plainJSON.contains("team_names"))
        // A stored definition naming a team it does not have, or a name that is not a string, is damage.
        for bad in [json.replacingOccurrences(of: #""upstage":"Upstage""#, with: #""openai":"Upstage""#),
                    json.replacingOccurrences(of: #""upstage":"Upstage""#, with: #""upstage":7"#),
                    json.replacingOccurrences(of: #""programme":"National AI Foundation Model Programme""#, with: #""programme":["x"]"#)] {
            #expect(throws: VaultError.integrity("a stored round definition is malformed")) { try RoundConfig(canonical: JSONParser.parse(Array(bad.utf8))) }
        }
    }

    @Test("bad names and ids are reported at their line", arguments: [
        ("upstage = \"Upstage\"", "upstage = 7", "r.toml:5: teams.upstage: must be the team's display name (a string)"),
        ("upstage = \"Upstage\"", "upstage = \"\"", "r.toml:5: teams.upstage: must be 1-200 characters, without control characters or spaces at either end"),
        ("upstage = \"Upstage\"", "upstage = \" Upstage\"", "r.toml:5: teams.upstage: must be 1-200 characters"),
        ("upstage = \"Upstage\"", "upstage = \"Up\\tstage\"", "r.toml:5: teams.upstage: must be 1-200 characters"),
        ("upstage = \"Upstage\"", "upstage = \"Naver Cloud\"", "r.toml:5: teams.upstage: \"Naver Cloud\" is also the name of team naver-cloud"),
        ("upstage = \"Upstage\"", "\"up stage\" = \"Upstage\"", "r.toml:5: teams.\"up stage\": \"up stage\" is not a valid team id"),
        ("programme = \"National AI Foundation Model Programme\"", "programme = 2025", "r.toml:2: programme: must be the programme's name (a string)"),
        ("programme = \"National AI Foundation Model Programme\"", "programm = \"x\"", "r.toml:2: programm: unknown key (expected id, title, programme, mode, teams or [teams]"),
    ])
    func errors(_ from: String, _ to: String, _ message: String) throws {
        let text = Self.named.replacingOccurrences(of: from, with: to)
        let e = #expect(throws: VaultError.self) { try RoundFile.parse(text, file: "r.toml") }
        #expect(e?.message.contains(message) == true, "\(e?.message ?? "")")
    }

    @Test("an empty [teams] table has no team")
    func emptyTable() throws {
        let text = Self.named.replacingOccurrences(of: "naver-cloud = \"Naver Cloud\"\nupstage = \"Upstage\"\n\"sk.telecom\" = \"SK Telecom <R&D>\"\n", with: "")
        let e = #expect(throws: VaultError.self) { try RoundFile.parse(text, file: "r.toml") }
        #expect(e?.message.contains("teams: needs at least one team") == true, "\(e?.message ?? "")")
    }

    @Test("the names are in the chair-signed round record and the descriptor: changed, both are refused")
    func signed() throws {
        let f = try RoundFixture()
        let chair = try f.actor("chair")
        let config = try RoundFile.parse(Self.named, file: "r.toml")
        try f.vault.createRound(config, actor: chair)
        _ = try f.vault.openRound("R1", actor: try f.actor("chair"), coHolders: [])
        let stored = try f.vault.round("R1", verifiedWith: chair.chairKey)
        #expect(stored.config == config)
        // The signed bytes cover them: another name, other bytes.
        let renamed = RoundConfig(id: config.id, title: config.title, teams: config.teams, criteria: config.criteria, reveal: config.reveal,
                                  publish: config.publish, programme: config.programme, teamNames: config.teamNames.merging(["upstage": "Upstart"]) { $1 })
        let other = Round(config: renamed, state: stored.state, policyVersion: stored.policyVersion, publicKey: stored.publicKey,
                          version: stored.version, panel: stored.panel)
        #expect(other.signedBytes(vaultID: f.vault.id) != stored.signedBytes(vaultID: f.vault.id))

        // The descriptor carries them, signed.
        let bytes = try f.vault.publishRound("R1", actor: try f.actor("chair"))
        let d = try RoundDescriptor(bytes: bytes, file: "R1.round")
        #expect(d.round.config.teamNames == config.teamNames && d.round.config.programme == config.programme)
        let changed = Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"Upstage\"", with: "\"Upstart\"").utf8)
        #expect(changed != bytes)
        #expect(throws: VaultError.integrity("R1.round: the chair's signature does not verify (changed after publication?)")) {
            try RoundDescriptor(bytes: changed, file: "R1.round")
        }

        // A round row with a name changed in vault.db is not the row the log recorded.
        try f.vault.database.execute("UPDATE rounds SET config = replace(config, 'Naver Cloud', 'Naver Clown') WHERE id = 'R1'")
        let e = #expect(throws: VaultError.self) { try f.open(as: "someone-else").round("R1", verifiedWith: chair.chairKey) }
        #expect(e?.exitStatus == .dataError && e?.message.contains("integrity") == true, "\(e?.message ?? "")")
    }
}
