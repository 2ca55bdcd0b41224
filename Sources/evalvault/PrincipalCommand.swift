import ArgumentParser
import VaultCore

struct PrincipalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "principal",
        abstract: "Enrol, list, disable and enable principals and change their conflicts (chair).",
        discussion: """
            Examples:
              evalvault principal add ev-1 --as chair --role evaluator --pubkey ev-1.pub \\
                  --conflict upstage
              evalvault principal list
            """,
        subcommands: [Add.self, Import.self, List.self, Disable.self, Enable.self, Conflicts.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol someone's public key under an opaque id, with a role.",
            discussion: """
                The real identity, if given, is stored only encrypted under the vault identity key. Without an id, one is generated (ev-xxxxxx, cm-…, au-…). Compare the printed fingerprint with the key's owner before relying on it.

                Example:
                  evalvault principal add ev-1 --as chair --role evaluator --pubkey ev-1.pub \\
                      --identity "Dr Kim" --conflict upstage
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The new principal's id (generated when left out).") var id: String?
        @Option(help: "Its role.") var role: EnrolledRole
        @Option(help: ArgumentHelp("Its .pub file (made by `evalvault keygen`).", valueName: "file"), completion: .file(extensions: ["pub"])) var pubkey: String
        @Option(help: "Its real identity (stored encrypted).") var identity: String?
        @Option(name: .customLong("conflict"), help: "A team it must never score (repeatable).") var conflicts: [String] = []

        func run() throws {
            let (vault, actor) = try global.authenticate(action: "principal.add", target: "principals")
            let keys = try PublicKeys.load(path: pubkey)
            let p = try vault.addPrincipal(id: try id.map { try PrincipalID($0) }, role: role.role, publicKeys: keys,
                                           identity: identity, conflicts: conflicts, actor: actor)
            PrincipalCommand.warnUnchecked(try vault.checkConflictTeams(conflicts))
            if global.json {
                Output.json(List.json(p))
            } else {
                // The fingerprint is the result here (compare it with the key's owner): printed even with --quiet.
                Output.line("enrolled \(p.id) as \(p.role.rawValue), fingerprint \(p.publicKeys.fingerprint)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List principals: ids, roles, fingerprints, enabled. Never identities.",
            discussion: "Example:\n  evalvault principal list --dir ./vault")
        @OptionGroup var global: GlobalOptions

        static let columns = ["id", "role", "fingerprint", "enabled", "conflicts"]

        /// One principal as `principal list` and `principal add` print it (never its identity).
        static func json(_ p: Principal) -> JSONValue {
            .object(Dictionary(uniqueKeysWithValues: zip(columns, [.string(p.id.rawValue), .string(p.role.rawValue),
                                                                   .string(p.publicKeys.fingerprint.description), .bool(p.enabled), .strings(p.conflicts)])))
        }

        func run() throws {
            let all = try global.openVault().listPrincipals(claimedActor: global.actor).map(Self.json)
            if global.json {
                Output.json(.array(all))
            } else {
                Output.table(Self.columns, all.map { row in Self.columns.map { row[$0]?.cell ?? "" } })
            }
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable a disabled principal again (chair; audited).",
            discussion: "Example:\n  evalvault principal enable ev-1 --as chair")
        @OptionGroup var change: EnabledChange
        func run() throws { try change.apply(enabled: true) }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a principal: it can no longer act from now on; what it sealed before still counts.",
            discussion: "Example:\n  evalvault principal disable ev-1 --as chair")
        @OptionGroup var change: EnabledChange
        func run() throws { try change.apply(enabled: false) }
    }

    /// What `enable` and `disable` share: the principal, the chair acting, one audited change.
    struct EnabledChange: ParsableArguments {
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The principal's id.", completion: IDCompletion.principals) var id: String

        func apply(enabled: Bool) throws {
            let (vault, actor) = try global.authenticate(action: enabled ? "principal.enable" : "principal.disable", target: "principal/\(id)")
            let pid = try PrincipalID(id)
            if enabled { try vault.enablePrincipal(pid, actor: actor) } else { try vault.disablePrincipal(pid, actor: actor) }
            if global.json { Output.json(.object(["id": .string(id), "enabled": .bool(enabled)])) }
            Output.notice("\(enabled ? "enabled" : "disabled") \(id)")
        }
    }
}
