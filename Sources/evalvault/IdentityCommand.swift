import ArgumentParser
import Foundation
import VaultCore

struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Unmask a principal's real identity (auditor, with a reason, audited).",
        discussion: """
            Example:
              evalvault identity reveal ev-7f3a9c --as au-1 \\
                  --reason "conflict-of-interest review, case 14"
            """,
        subcommands: [Reveal.self]
    )

    struct Reveal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print one principal's real identity. The reason is recorded in the audit log.",
            discussion: """
                The default policy allows this only to an auditor with a non-empty reason.

                Example:
                  evalvault identity reveal ev-7f3a9c --as au-1 \\
                      --reason "conflict-of-interest review, case 14"
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The principal's id.", completion: IDCompletion.principals) var id: String
        @Option(help: "Why (recorded in the audit log).") var reason: String

        func run() throws {
            let pid = try PrincipalID(id)
            let (vault, actor) = try global.authenticate(action: "identity.reveal", target: "principal/\(id)")
            guard let identity = try vault.revealIdentity(of: pid, reason: reason, actor: actor) else {
                if global.json { Output.json(.object(["id": .string(id), "identity": .null])) } else { Output.line("\(id) was enrolled without an identity") }
                return
            }
            if global.json {
                // Written straight from the decrypted bytes, never through a Swift String.
                var out = CanonicalJSON.encode(.object(["id": .string(id)]))
                out.removeLast()  // the closing brace: "identity" sorts after "id"
                out += Array(#","identity":"#.utf8)
                identity.withUnsafeBytes { CanonicalJSON.appendString($0, to: &out) }
                out += [UInt8(ascii: "}"), 0x0A]
                out.withUnsafeBytes { FileHandle.standardOutput.write(Data($0)) }
                return
            }
            identity.withUnsafeBytes { FileHandle.standardOutput.write(Data($0) + Data("\n".utf8)) }
        }
    }
}
