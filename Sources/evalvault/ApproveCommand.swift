import ArgumentParser
import Foundation
import VaultCore

/// `evalvault approve`: a reveal holder approves an open or reveal request on its own machine,
/// with its own key and no vault folder (design: Across machines; docs/requests.md).
struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a round's open or reveal request as one of its reveal holders (no vault needed).",
        discussion: """
            The chair sends you a request file (from `round open R --request-out` or `reveal request`). This checks it is signed by the vault's chair — the chair key is pinned in your state folder ($EVALVAULT_STATE, else $XDG_STATE_HOME/evalvault, else ~/.local/state/evalvault) the first time, and any other key is refused afterwards; compare the fingerprint shown with the chair's by voice — shows on stderr what is asked, and asks you to confirm on the terminal (--yes for scripts). Approving an open request signs the round as shown (its panel: who may seal). Approving a reveal request releases your piece of the round key for that request only, encrypted to the chair's one-time key, bound to the round's manifest root: your client refuses a later request for the same round with another manifest root. Your key file and passphrase never leave your machine. Send the approval file back to the chair.

            Examples:
              evalvault approve open-R1.req --as cm-1 --key ~/keys/cm-1.key \\
                  --out cm-1.approval
              evalvault approve reveal-R1.req --as cm-1 --key ~/keys/cm-1.key \\
                  --passphrase-file pw --yes --out cm-1.approval
            """)
    @Argument(help: "The request file from the chair.", completion: .file(extensions: ["req"])) var request: String
    @OptionGroup var holderKey: HolderKeyOptions
    @Flag(help: "Approve without asking on the terminal (for scripts: read the request first).") var yes = false
    @Option(help: ArgumentHelp("Where to write your approval (for the chair).", valueName: "file"), completion: .file()) var out: String
    @OptionGroup var overwrite: ForceOption
    @OptionGroup var output: OutputOptions

    func run() throws {
        let holder = try holderKey.holder()
        try Output.checkWritable(out, force: overwrite.force)
        let bytes = try Files.read(request, what: "request", limit: RequestFile.maxFileSize)
        let client = HolderClient(state: .resolve())
        let inspection = try client.inspect(bytes, file: request, holder: holder)
        for line in inspection.summary { Output.info(line) }
        if inspection.firstUse {
            Output.warning("first request from vault \(inspection.request.vault) on this machine: approving pins chair \(inspection.request.requester)'s key (fingerprint \(inspection.chairFingerprint))")
        }
        if !yes { try Confirmation.ask("Approve this \(inspection.request.kind.rawValue) request as \(holder)? [y/N] ") }
        let keys = try holderKey.unlock()
        let approval = try client.approve(inspection, as: holder, keys: keys)
        try Output.writeFile(approval, to: out, force: overwrite.force)
        if output.json {
            Output.json(.object(["kind": .string(inspection.request.kind.rawValue), "round": .string(inspection.request.round),
                                 "holder": .string(holder.rawValue), "file": .string(out)]))
        }
        Output.notice("approved the \(inspection.request.kind.rawValue) request for round \(inspection.request.round) as \(holder); give \(out) to the chair")
    }
}

/// A reveal holder's own id and key file, for the commands it runs on its own machine with no
/// vault (`approve`, `ceremony commit`, `ceremony verify`).
struct HolderKeyOptions: ParsableArguments {
    @Option(name: .customLong("as"), help: ArgumentHelp("Your principal id (a reveal holder of the round).", valueName: "id")) var actor: String
    @Option(help: ArgumentHelp("Your key file.", valueName: "path"), completion: .file(extensions: ["key"])) var key: String
    @Option(name: .long, help: ArgumentHelp("Read your passphrase from this file (else $EVALVAULT_PASSPHRASE, else a prompt).", valueName: "file"),
            completion: .file())
    var passphraseFile: String?

    func holder() throws -> PrincipalID { try PrincipalID(actor) }

    /// The holder's key file, unlocked (three tries at a prompt).
    func unlock() throws -> PrivateKeys {
        try PassphraseSource(file: passphraseFile, environmentVariable: PassphraseSource.primaryVariable, subject: actor)
            .unlock { try KeyFile.load(path: key, passphrase: $0) }
    }
}

/// A yes/no question on the controlling terminal (never stdin, which may be a file).
enum Confirmation {
    static func ask(_ prompt: String) throws {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            throw VaultError.usage("no terminal to confirm on: read the request above, then pass --yes to approve it")
        }
        defer { close(fd) }
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        var reply: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1, byte != 0x0A { if reply.count < 16 { reply.append(byte) } }
        let answer = String(decoding: reply, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard answer == "y" || answer == "yes" else { throw VaultError.permission("not approved: nothing was written") }
    }
}
