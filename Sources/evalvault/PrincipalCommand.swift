import ArgumentParser
import VaultCore

struct PrincipalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "principal",
        abstract: "Enrol, list, disable and enable principals and change their conflicts (chair).",
        discussion: """
            Examples:
              evalvault principal add ev-1 --as chair --role evaluator --pubkey ev-1.pub --conflict upstage
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
                  evalvault principal add ev-1 --as chair --role evaluator --pubkey ev-1.pub --identity "Dr Kim" --conflict upstage
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The new principal's id (generated when left out).") var id: String?
        @Option(help: "evaluator, committee or auditor.") var role: String
        @Option(help: "Its .pub file (made by `evalvault keygen`).") var pubkey: String
        @Option(help: "Its real identity (stored encrypted).") var identity: String?
        @Option(name: .customLong("conflict"), help: "A team it must never score (repeatable).") var conflicts: [String] = []

        func validate() throws {
            guard let r = Role(rawValue: role), r != .chair else { throw ValidationError("--role must be evaluator, committee or auditor") }
        }

        func run() throws {
            let (vault, actor) = try global.authenticate(action: "principal.add", target: "principals")
            let keys = try PublicKeys.load(path: pubkey)
            let p = try vault.addPrincipal(id: try id.map { try PrincipalID($0) }, role: Role(rawValue: role)!, publicKeys: keys,
                                           identity: identity, conflicts: conflicts, actor: actor)
            PrincipalCommand.warnUnchecked(try vault.checkConflictTeams(conflicts))
            if global.json {
                Output.json(["id": p.id.rawValue, "role": p.role.rawValue, "fingerprint": p.publicKeys.fingerprint.description])
            } else {
                Output.line("enrolled \(p.id) as \(p.role.rawValue), fingerprint \(p.publicKeys.fingerprint)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List principals: ids, roles, fingerprints, enabled. Never identities.",
            discussion: "Example:\n  evalvault principal list --dir ./vault")
        @OptionGroup var global: GlobalOptions

        struct Row: Encodable { let id: String; let role: String; let fingerprint: String; let enabled: Bool; let conflicts: [String] }

        func run() throws {
            let all = try global.openVault().listPrincipals(claimedActor: global.actor)
            if global.json {
                Output.json(all.map { Row(id: $0.id.rawValue, role: $0.role.rawValue, fingerprint: $0.publicKeys.fingerprint.description,
                                          enabled: $0.enabled, conflicts: $0.conflicts) })
                return
            }
            Output.table(["id", "role", "fingerprint", "enabled", "conflicts"], all.map {
                [$0.id.rawValue, $0.role.rawValue, $0.publicKeys.fingerprint.description, $0.enabled ? "yes" : "no",
                 $0.conflicts.joined(separator: ",")]
            })
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
        @Argument(help: "The principal's id.") var id: String

        func apply(enabled: Bool) throws {
            let (vault, actor) = try global.authenticate(action: enabled ? "principal.enable" : "principal.disable", target: "principal/\(id)")
            let pid = try PrincipalID(id)
            if enabled { try vault.enablePrincipal(pid, actor: actor) } else { try vault.disablePrincipal(pid, actor: actor) }
            Output.line("\(enabled ? "enabled" : "disabled") \(id)")
        }
    }
}
