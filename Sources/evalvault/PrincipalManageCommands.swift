import ArgumentParser
import Foundation
import VaultCore

/// `principal import` and `principal conflicts`: enrolling many at once and changing conflicts
/// after enrolment (chair; audited).
extension PrincipalCommand {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol principals from a CSV file, all or nothing (chair).",
            discussion: """
                The file has a header line naming its columns — id, role, pubkey, and optionally conflicts and identity — then one line per principal: an id (left empty: generated), evaluator, committee or auditor, the path of its .pub file (relative to the CSV file's folder), its conflicts (team ids separated by ;) and its real identity (stored encrypted). Every line is checked first; any problem is reported as FILE:LINE: … and nothing is enrolled. Each principal gets its own chair-signed record and audit entry, in one transaction. The file holds real names: keep it safe, or delete it once imported.

                A panel.csv:
                  id,role,pubkey,conflicts,identity
                  ev-1,evaluator,keys/ev-1.pub,upstage;nc-ai,Dr Kim
                  ev-2,evaluator,keys/ev-2.pub,,

                Example:
                  evalvault principal import panel.csv --as chair
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The CSV file.", valueName: "file")) var file: String

        func run() throws {
            let bytes = try Files.read(file, what: "principal file", limit: 16 << 20)
            let (vault, actor) = try global.authenticate(action: "principal.import", target: "principals")
            let imported = try vault.importPrincipals(bytes, file: file, actor: actor)
            PrincipalCommand.warnUnchecked(imported.unchecked)
            let rows = imported.principals.map {
                [$0.id.rawValue, $0.role.rawValue, $0.publicKeys.fingerprint.description, $0.conflicts.joined(separator: ",")]
            }
            if global.json {
                Output.json(.array(imported.principals.map { p in .object([
                    "id": .string(p.id.rawValue), "role": .string(p.role.rawValue), "fingerprint": .string(p.publicKeys.fingerprint.description),
                    "conflicts": .array(p.conflicts.map { .string($0) }),
                ]) }))
                return
            }
            Output.line("enrolled \(rows.count) principal\(rows.count == 1 ? "" : "s") from \(file)")
            Output.table(["id", "role", "fingerprint", "conflicts"], rows)
        }
    }

    struct Conflicts: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or remove a principal's conflicts: teams it must never score (chair).",
            discussion: """
                The change is a new chair-signed version of the principal's record, with its audit entry. A team added must be a team of some round (a typo is refused); a team removed must be one it declares. A conflict added for an evaluator that has already sealed into an open or closed round with that team does not reach that round's reveal (nobody can tell without the round key whether those scores include the team, and a closed round's result must not change); its seals of the team are refused from now on.

                Examples:
                  evalvault principal conflicts ev-1 --as chair --add upstage
                  evalvault principal conflicts ev-1 --as chair --remove nc-ai \\
                      --add lg-ai-research
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The principal's id.") var id: String
        @Option(help: ArgumentHelp("A team to add (repeatable).", valueName: "team")) var add: [String] = []
        @Option(help: ArgumentHelp("A team to remove (repeatable).", valueName: "team")) var remove: [String] = []

        func validate() throws {
            guard !add.isEmpty || !remove.isEmpty else { throw ValidationError("give --add TEAM or --remove TEAM (each repeatable)") }
        }

        func run() throws {
            let (vault, actor) = try global.authenticate(action: "principal.conflicts", target: "principal/\(id)")
            let change = try vault.changeConflicts(of: try PrincipalID(id), add: add, remove: remove, actor: actor)
            let (p, exempted) = (change.principal, change.exempted)
            if global.json {
                Output.json(.object([
                    "id": .string(p.id.rawValue), "conflicts": .array(p.conflicts.map { .string($0) }),
                    "exempt": .object(exempted.mapValues { .array($0.map { .string($0) }) }), "republish": .array(change.republish.map { .string($0) }),
                ]))
                return
            }
            Output.line("\(p.id) conflicts: \(p.conflicts.isEmpty ? "none" : p.conflicts.joined(separator: ", "))")
            for r in change.republish {
                Output.warning("\(p.id) is on the panel of open round \(r): publish its descriptor again (evalvault round publish \(r) --out FILE) and send it to \(p.id); with an older one its client would still seal the team, and such a batch would stop the round's reveal")
            }
            for team in exempted.keys.sorted() {
                Output.warning("\(p.id) had already sealed into round\(exempted[team]!.count == 1 ? "" : "s") \(exempted[team]!.joined(separator: ", ")), with team \(team): the new conflict does not reach \(exempted[team]!.count == 1 ? "its" : "their") reveal; it applies to every seal from now on")
            }
        }
    }

    /// Conflict team ids accepted without a check because the vault has no round yet.
    static func warnUnchecked(_ teams: [String]) {
        guard !teams.isEmpty else { return }
        Output.warning("no round names team\(teams.count == 1 ? "" : "s") \(teams.joined(separator: ", ")) yet: the conflict\(teams.count == 1 ? " was" : "s were") accepted unchecked; check the spelling")
    }
}
