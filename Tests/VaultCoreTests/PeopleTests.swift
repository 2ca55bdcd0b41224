import Foundation
import TestSupport
import Testing
import VaultCrypto
@testable import VaultCore

/// Managing people and watching progress: conflicts changed after enrolment, bulk import, round
/// status, and refusals that name their cause (design: Concepts "Conflicts", Command line).
@Suite("People, progress and refusals")
struct PeopleTests {
    static func mean(_ f: RoundFixture, round: String = "R1") throws -> RevealOutcome {
        try f.vault.reveal(RevealRequest(round: round, stat: .mean, by: ["team"], trim: nil, advance: nil, precision: 2, format: .json),
                           actor: try f.actor("chair"), coHolders: [], publish: false)
    }

    static func everything(_ value: String) -> [(String, String, String)] {
        RoundFixture.teams.flatMap { [($0, "performance", value), ($0, "safety", "3")] }
    }

    @Test("a conflict added after sealing does not reach that round's reveal; later seals of the team are refused; the next round holds to it")
    func conflictAfterSealing() throws {
        let f = try RoundFixture()
        try f.makeRound()
        try f.seal("ev-1", Self.everything("60"))
        let change = try f.vault.changeConflicts(of: PrincipalID("ev-1"), add: ["sk-telecom"], remove: [], actor: try f.actor("chair"))
        #expect(change.principal.conflicts == ["sk-telecom"] && change.principal.version == 2)
        #expect(change.exempted == ["sk-telecom": ["R1"]] && change.republish.isEmpty)
        #expect(change.principal.conflicts(applyingTo: "R1").isEmpty && change.principal.conflicts(applyingTo: "R2") == ["sk-telecom"])
        // From now on its seals of the team are refused, in this round too.
        let refused = #expect(throws: VaultError.self) { try f.seal("ev-1", [("sk-telecom", "performance", "70")]) }
        #expect(refused == .denied(policyIDs: ["no-seal-with-conflict"]))
        for ev in ["ev-3", "ev-4"] { try f.seal(ev, Self.everything("40")) }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        // The reveal neither breaks nor drops ev-1's earlier batch: sk-telecom still has 3 evaluators.
        let groups = try Self.mean(f).result.groups
        #expect(groups.first { $0.team == "sk-telecom" }?.n == 3)

        // The next round holds to the conflict.
        try f.makeRound("R2")
        let next = #expect(throws: VaultError.self) { try f.seal("ev-1", [("sk-telecom", "performance", "70")], round: "R2") }
        #expect(next == .denied(policyIDs: ["no-seal-with-conflict"]))
        // Removing the conflict drops its exemption with it.
        let removed = try f.vault.changeConflicts(of: PrincipalID("ev-1"), add: [], remove: ["sk-telecom"], actor: try f.actor("chair"))
        #expect(removed.principal.conflicts.isEmpty && removed.principal.conflictExemptions.isEmpty && removed.principal.version == 3)
    }

    @Test("a closed round's result is the same, byte for byte, after a conflict is added for one of its evaluators")
    func closedRoundUnchanged() throws {
        let f = try RoundFixture()
        try f.makeRound()
        for (i, ev) in ["ev-1", "ev-3", "ev-4"].enumerated() { try f.seal(ev, Self.everything(String(50 + i))) }
        _ = try f.vault.closeRound("R1", actor: try f.actor("chair"))
        let before = try Self.mean(f).output
        _ = try f.vault.changeConflicts(of: PrincipalID("ev-3"), add: ["naver-cloud"], remove: [], actor: try f.actor("chair"))
        #expect(try Self.mean(f).output == before)
        // And another client, replaying the log, agrees.
        let other = try f.open(as: "auditor")
        #expect(try other.principal(PrincipalID("ev-3"), verifiedWith: other.chairKey).conflictExemptions == ["naver-cloud": ["R1"]])
    }

    @Test("a conflict added for an evaluator that has not sealed into an open round reaches it; the chair is told to publish the descriptor again")
    func conflictBeforeSealing() throws {
        let f = try RoundFixture()
        try f.makeRound()
        let change = try f.vault.changeConflicts(of: PrincipalID("ev-3"), add: ["upstage"], remove: [], actor: try f.actor("chair"))
        #expect(change.exempted.isEmpty && change.republish == ["R1"] && change.principal.conflicts(applyingTo: "R1") == ["upstage"])
    }

    @Test("the exemption is signed with the record: a writer of vault.db who strips it (to break a round's reveal) is caught")
    func exemptionSigned() throws {
        let f = try RoundFixture()
        try f.makeRound()
        try f.seal("ev-1", Self.everything("60"))
        _ = try f.vault.changeConflicts(of: PrincipalID("ev-1"), add: ["upstage"], remove: [], actor: try f.actor("chair"))
        let s = try f.vault.database.prepare("SELECT conflicts FROM principals WHERE id = 'ev-1'")
        #expect(try s.step())
        #expect(s.text(0) == #"{"exempt":{"upstage":["R1"]},"teams":["upstage"]}"#)
        s.reset()
        try f.vault.database.execute(#"UPDATE principals SET conflicts = '["upstage"]' WHERE id = 'ev-1'"#)
        let other = try f.open(as: "someone")
        let e = #expect(throws: VaultError.self) { try other.principal(PrincipalID("ev-1"), verifiedWith: other.chairKey) }
        #expect(e?.exitStatus == .dataError && e?.message.contains("integrity") == true)
    }

    @Test("a record without exemptions signs exactly as before (existing rows still verify)")
    func signedBytesUnchanged() throws {
        let keys = PrivateKeys.generate().publicKeys
        let plain = Principal(id: try PrincipalID("ev-1"), role: .evaluator, publicKeys: keys, identityCiphertext: nil, conflicts: ["a"],
                              enabled: true, version: 2)
        var e = CanonicalEncoder(domain: "evalvault/principal/v1")
        e.append("v"); e.append("ev-1"); e.append("evaluator"); e.append(keys.agreement.rawRepresentation); e.append(keys.signing.rawRepresentation)
        e.append([UInt8]()); e.append(Int64(0)); e.append(Int64(1)); e.append("a"); e.append(Int64(1)); e.append(Int64(2))
        #expect(plain.signedBytes(vaultID: "v") == e.bytes)
        let exempt = Principal(id: plain.id, role: .evaluator, publicKeys: keys, identityCiphertext: nil, conflicts: ["a"],
                               conflictExemptions: ["a": ["R1"], "gone": ["R2"]], enabled: true, version: 2)
        #expect(exempt.conflictExemptions == ["a": ["R1"]], "an exemption of a team no longer in conflict is dropped")
        #expect(exempt.signedBytes(vaultID: "v") != e.bytes)
    }

    @Test("conflict ids: lower-case, a team of some round (a typo is refused), accepted with a warning while there is no round")
    func conflictChecks() throws {
        let f = try RoundFixture()
        #expect(try f.vault.checkConflictTeams(["someday"]) == ["someday"])
        #expect(throws: VaultError.usage("conflict \"Upstage\" is not a valid team id: ids are lower-case (upstage)")) {
            try f.vault.checkConflictTeams(["Upstage"])
        }
        try f.makeRound(open: false)
        #expect(try f.vault.checkConflictTeams(["upstage"]).isEmpty)
        #expect(throws: VaultError.usage("conflict \"upstgae\" names no team of any round (teams: naver-cloud, sk-telecom, upstage); check the spelling, or create the round that has this team first")) {
            try f.vault.checkConflictTeams(["upstgae"])
        }
        let chair = try f.actor("chair")
        #expect(throws: VaultError.usage("ev-1 declares no conflict with team \"upstage\" (its conflicts: none)")) {
            try f.vault.changeConflicts(of: PrincipalID("ev-1"), add: [], remove: ["upstage"], actor: chair)
        }
        let notChair = #expect(throws: VaultError.self) {
            try f.vault.changeConflicts(of: PrincipalID("ev-2"), add: [], remove: ["upstage"], actor: try f.actor("cm-1"))
        }
        #expect(notChair == .denied(policyIDs: []))
        #expect(try f.vault.principal(PrincipalID("ev-2"), verifiedWith: chair.chairKey).conflicts == ["upstage"])
        // Round files: lower-case team and criterion ids.
        #expect(throws: VaultError.self) { try RoundFile.parse("id = \"X\"\nteams = [\"Upstage\"]\n[reveal]\nholders = [\"chair\"]\nthreshold = 1\n[[criteria]]\nid = \"q\"\nweight = 1\nmin = 0\nmax = 1\nstep = 1\n", file: "x.toml") }
    }

    @Test("import: one bad line enrols nothing and names every bad line; a good file enrols each with its own signed entry")
    func importAllOrNothing() throws {
        let f = try RoundFixture()
        try f.makeRound(open: false)
        let folder = f.dir.path + "/import"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for id in ["ev-7", "ev-8", "au-7"] {
            try Data(PrivateKeys.generate().publicKeys.fileContents.utf8).write(to: URL(fileURLWithPath: "\(folder)/\(id).pub"))
        }
        let chair = try f.actor("chair")
        let size = try f.vault.auditSize()
        let bad = "id,role,pubkey,conflicts,identity\nev-7,evaluator,ev-7.pub,upstage,Real Name Ingrid\nev-8,evaluator,ev-8.pub,upstgae,\n"
        let e = #expect(throws: VaultError.self) { try f.vault.importPrincipals(Array(bad.utf8), file: "\(folder)/p.csv", actor: chair) }
        #expect(e?.exitStatus == .dataError)
        #expect(e?.message.contains("p.csv:3: conflict \"upstgae\" names no team of any round") == true)
        #expect(e?.message.hasSuffix("nothing was enrolled") == true && e?.message.contains("Ingrid") == false)
        #expect(try f.vault.auditSize() == size + 1, "only the refused attempt is recorded")
        #expect(throws: VaultError.self) { try f.vault.principal(PrincipalID("ev-7"), verifiedWith: chair.chairKey) }

        let good = "ID,Role,PubKey,Conflicts,Identity\nev-7,evaluator,ev-7.pub,upstage; sk-telecom,Real Name Ingrid\nev-8,evaluator,ev-8.pub,,\nau-7,auditor,au-7.pub,,\n"
        let imported = try f.vault.importPrincipals(Array(good.utf8), file: "\(folder)/p.csv", actor: chair)
        #expect(imported.principals.map(\.id.rawValue) == ["ev-7", "ev-8", "au-7"] && imported.unchecked.isEmpty)
        #expect(try f.vault.principal(PrincipalID("ev-7"), verifiedWith: chair.chairKey).conflicts == ["sk-telecom", "upstage"])
        #expect(try f.vault.auditSize() == size + 1 + 3)
        // The auditor can unwrap the identity key; the identity is stored encrypted.
        let ingrid = try f.vault.principal(PrincipalID("ev-7"), verifiedWith: chair.chairKey)
        let revealed = try f.vault.decryptIdentity(of: ingrid, key: try f.vault.unwrapIdentityKey(as: chair.id, keys: chair.keys))
        #expect(revealed?.unsafeArray() == Array("Real Name Ingrid".utf8))
        let again = #expect(throws: VaultError.self) { try f.vault.importPrincipals(Array(good.utf8), file: "p.csv", actor: chair) }
        #expect(again?.message.contains("p.csv:2: a principal ev-7 already exists") == true)
    }

    @Test("status: ranges from batch sizes — a full batch proves done, re-seals give a range, a conflict added after sealing is not owed")
    func statusRanges() throws {
        let f = try RoundFixture()
        try f.makeRound()
        try f.seal("ev-1", Self.everything("60"))                                     // 6 of 6
        try f.seal("ev-2", [("naver-cloud", "performance", "60")])                    // ev-2 owes 4 (conflict upstage)
        try f.seal("ev-2", [("naver-cloud", "performance", "61")])                    // a re-seal: 1 or 2 places
        try f.seal("ev-3", RoundFixture.teams.map { ($0, "performance", "50") })      // 3 of 6
        _ = try f.vault.changeConflicts(of: PrincipalID("ev-3"), add: ["upstage"], remove: [], actor: try f.actor("chair"))
        let s = try f.vault.roundStatus("R1", actor: try f.actor("chair"))
        func e(_ id: String) -> RoundStatus.Evaluator { s.evaluators.first { $0.id.rawValue == id }! }
        #expect(e("ev-1").done && e("ev-1").sealedAtLeast == 6 && e("ev-1").sealedAtMost == 6)
        #expect(e("ev-2").expected == 4 && e("ev-2").sealedAtLeast == 1 && e("ev-2").sealedAtMost == 2 && e("ev-2").scores == 2)
        // ev-3 now owes 4 (upstage exempted in R1): its batch of 3 may hold one upstage place.
        #expect(e("ev-3").expected == 4 && e("ev-3").sealedAtLeast == 1 && e("ev-3").sealedAtMost == 3 && !e("ev-3").done)
        #expect(e("ev-4").sealedAtMost == 0 && e("ev-4").owesAtLeast == 6 && e("ev-4").batches == 0)
        let upstage = s.teams.first { $0.team == "upstage" }!
        #expect(upstage.evaluators == 2 && upstage.expected == 4 && upstage.sealedAtLeast == 2 && upstage.sealedAtMost == 2)
        let naver = s.teams.first { $0.team == "naver-cloud" }!
        #expect(naver.evaluators == 4 && naver.expected == 8 && naver.sealedAtLeast == 2 && naver.sealedAtMost == 6)
        #expect(s.missing.map(\.id.rawValue) == ["ev-2", "ev-3", "ev-4"])
        // Audited with counts only; an evaluator is denied by the default policy.
        let last = try f.vault.auditEntry(try f.vault.auditSize() - 1).entry
        #expect(last["action"] == .string("round.status") && last["details"]?["expected"] == .integer(20))
        #expect(throws: VaultError.denied(policyIDs: [])) { try f.vault.roundStatus("R1", actor: try f.actor("ev-1")) }
        _ = try f.vault.roundStatus("R1", actor: try f.actor("cm-1"))
        _ = try f.vault.roundStatus("R1", actor: try f.actor("au-1"))
    }

    @Test("refusal causes come from the policy itself: the state or the holders that would have been allowed, else none")
    func refusalCauses() throws {
        let set = try PolicySet(source: DefaultPolicy.source, fileName: "default.policy")
        func request(_ action: String, role: String, state: String, holders: Int? = nil, extra: [String: PolicyValue] = [:]) -> PolicyRequest {
            var resource = extra
            resource["round"] = .record(["id": .string("R"), "state": .string(state), "threshold": .long(2)])
            return PolicyRequest(principal: .init(id: "p", role: role, conflicts: ["upstage"]), action: action, resource: resource,
                                 context: holders.map { ["holders": .long(Int64($0))] } ?? [:])
        }
        #expect(set.refusalCause(of: request("seal", role: "evaluator", state: "closed", extra: ["team": .string("nc-ai")]))
                == "round R is closed; the policy permits seal only when it is open")
        // A conflict decides, whatever the state: no state is named.
        #expect(set.refusalCause(of: request("seal", role: "evaluator", state: "closed", extra: ["team": .string("upstage")])) == nil)
        let reveal: [String: PolicyValue] = ["stat": .string("mean"), "by": .list([.string("team")]), "declared": .bool(true)]
        #expect(set.refusalCause(of: request("reveal", role: "chair", state: "closed", holders: 1, extra: reveal))
                == "round R needs 2 of its reveal holders to take part; 1 did")
        #expect(set.refusalCause(of: request("reveal", role: "chair", state: "open", holders: 1, extra: reveal))
                == "round R is open; the policy permits reveal only when it is closed; and it needs 2 of its reveal holders to take part, 1 did")
        // An evaluator may not reveal in any state: nothing to name.
        #expect(set.refusalCause(of: request("reveal", role: "evaluator", state: "open", holders: 2, extra: reveal)) == nil)
    }
}
