import Foundation
import VaultCrypto

/// Conflicts (design: Concepts, "Conflicts"): the team ids a principal must never score, checked
/// when declared and changed only by the chair, as a new chair-signed version of the principal's
/// record with its log entry.
extension Vault {
    /// The team ids of every round of this vault, each round verified (sorted, no repeats).
    public func teamsOfAllRounds() throws -> [String] {
        let key = try chairKey
        return Array(Set(try roundIDs().flatMap { try round($0, verifiedWith: key).config.teams })).sorted()
    }

    /// Checks team ids given as conflicts: each must be a lower-case team id, and — once the vault
    /// has a round — a team some round names, so a typo (`upstgae`) is refused instead of
    /// silently protecting nobody. Returns the ids accepted without that check because the vault
    /// has no round yet (the caller warns about them). Why refuse rather than warn: a conflict
    /// that names no team stops nothing, and nobody would notice.
    public func checkConflictTeams(_ teams: [String]) throws -> [String] {
        try Self.checkConflictTeams(teams, known: try teamsOfAllRounds())
    }

    /// `checkConflictTeams` against a list of known teams read once (an import checks many lines).
    static func checkConflictTeams(_ teams: [String], known: [String]) throws -> [String] {
        for t in teams where !Identifier.isValidName(t) { throw VaultError.usage("conflict " + Identifier.nameProblem(t, kind: "team")) }
        guard !known.isEmpty else { return Array(Set(teams)).sorted() }
        let names = Set(known)
        if let unknown = teams.first(where: { !names.contains($0) }) {
            let shown = known.count <= 12 ? known.joined(separator: ", ") : known.prefix(12).joined(separator: ", ") + ", …"
            throw VaultError.usage("conflict \"\(unknown)\" names no team of any round (teams: \(shown)); check the spelling, or create the round that has this team first")
        }
        return []
    }

    /// `principal conflicts ID --add T --remove T`: a new chair-signed version of the principal
    /// with the changed conflicts, and its log entry, in one transaction. Every id added must
    /// pass `checkConflictTeams`; every id removed must be a declared conflict (a typo is not a
    /// silent no-op).
    ///
    /// A conflict added for an evaluator that has already sealed into an open or closed round
    /// naming that team does not reach that round's reveal (it is recorded as an exemption,
    /// signed with the record): without the round key nobody can tell whether those batches
    /// scored the team, so holding them to it would stop the round's reveal, and a closed
    /// round's result must not change afterwards. From then on its seals of the team are
    /// refused, in every round.
    public func changeConflicts(of pid: PrincipalID, add: [String], remove: [String], actor: Actor) throws -> ConflictChange {
        let action = "principal.conflicts", target = "principal/\(pid)"
        // As given (a refused typo is worth seeing in the log), each cut to an id's length.
        let details: [String: JSONValue] = ["added": .array(add.map { .string(String($0.prefix(64))) }),
                                            "removed": .array(remove.map { .string(String($0.prefix(64))) })]
        let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: action,
                                                   resource: ["target": .string(pid.rawValue)]), actor: actor, target: target, details: details)
        try requireChair(actor, action: action, target: target, decision: decision)
        func refuse(_ error: VaultError, _ reason: String) throws -> Never {
            try recordAttempt(AuditRecord(actor: actor, action: action, target: target, decision: decision, outcome: .failed,
                                          details: details.merging(["reason": .string(reason)]) { $1 }), signer: actor.keys.signing)
            throw error
        }
        if add.isEmpty && remove.isEmpty { try refuse(.usage("give --add TEAM or --remove TEAM (each repeatable)"), "nothing to change") }
        if let both = add.first(where: remove.contains) { try refuse(.usage("team \(both) is both added and removed"), "added and removed") }
        let current: Principal
        do { current = try principal(pid, verifiedWith: actor.chairKey) } catch let e as VaultError { try refuse(e, "no such principal") }
        if current.role == .chair { try refuse(.usage("the chair has no conflicts to change"), "chair") }
        if let known = add.first(where: current.conflicts.contains) {
            try refuse(.usage("\(pid) already declares a conflict with team \(known)"), "already declared")
        }
        if let unknown = remove.first(where: { !current.conflicts.contains($0) }) {
            let list = current.conflicts.isEmpty ? "none" : current.conflicts.joined(separator: ", ")
            try refuse(.usage("\(pid) declares no conflict with team \"\(unknown.prefix(64))\" (its conflicts: \(list))"), "not declared")
        }
        do { _ = try checkConflictTeams(add) } catch let e as VaultError { try refuse(e, "bad conflict") }
        return try write {
            // Read again inside the transaction: another change may have landed meanwhile.
            let p = try principal(pid, verifiedWith: actor.chairKey)
            guard p.version == current.version else { throw VaultError.usage("principal \(pid) was changed meanwhile; try again") }
            var exemptions = p.conflictExemptions
            for team in remove { exemptions[team] = nil }
            var exempted: [String: [String]] = [:], republish = Set<String>()
            for team in add {
                let rounds = try roundsSealed(by: pid, naming: team)
                if !rounds.isEmpty { exempted[team] = rounds; exemptions[team] = rounds }
                republish.formUnion(try openRounds(withPanelMember: pid, naming: team).filter { !rounds.contains($0) })
            }
            let changed = p.withConflicts(p.conflicts.filter { !remove.contains($0) } + add, exemptions: exemptions)
            let record = try update(changed, signedBy: actor.keys.signing)
            var d = details
            d["conflicts"] = .integer(Int64(changed.conflicts.count))
            if !exempted.isEmpty { d["exempt"] = .object(exempted.mapValues { .array($0.map { .string($0) }) }) }
            try appendAudit(AuditRecord(actor: actor, action: action, target: target, decision: decision, details: d),
                            signer: actor.keys.signing, objects: [record])
            return ConflictChange(principal: changed, exempted: exempted, republish: republish.sorted())
        }
    }

    /// What `changeConflicts` did.
    public struct ConflictChange: Sendable {
        /// The new record.
        public let principal: Principal
        /// Per team added: the rounds its conflict does not reach (sealed into before it).
        public let exempted: [String: [String]]
        /// Open rounds, with the principal on the panel, that the new conflict does reach: a
        /// descriptor of them published before this change still lets its offline client seal
        /// the team, and such a batch would stop the round's reveal — publish it again.
        public let republish: [String]
    }

    /// The open rounds naming `team` whose panel holds `pid`.
    func openRounds(withPanelMember pid: PrincipalID, naming team: String) throws -> [String] {
        let key = try chairKey
        return try roundIDs().filter { id in
            guard log.head(.round, id)?.state == RoundState.open.rawValue else { return false }
            let r = try round(id, verifiedWith: key)
            return r.panel.contains(pid) && r.config.teams.contains(team)
        }
    }

    /// The open or closed rounds naming `team` into which `pid` has sealed a batch, as the signed
    /// log records it (a shredded round can never be revealed; a draft holds no batch).
    func roundsSealed(by pid: PrincipalID, naming team: String) throws -> [String] {
        let sealedInto = Set(log.heads.values.filter { $0.kind == .batch && $0.evaluator == pid.rawValue }.compactMap(\.round))
        let key = try chairKey
        return try sealedInto.sorted().filter { id in
            let r = try round(id, verifiedWith: key)
            return (r.state == .open || r.state == .closed) && r.config.teams.contains(team)
        }
    }
}
