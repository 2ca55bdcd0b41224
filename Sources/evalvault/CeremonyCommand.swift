import ArgumentParser
import Foundation
import VaultCore

/// `evalvault ceremony`: a tally round's key ceremony, run with files (design: Tally rounds).
/// The chair starts it; each reveal holder commits and then verifies on its own machine; the
/// chair finishes it. No one ever holds the round's secret key.
struct CeremonyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ceremony",
        abstract: "Make a tally round's joint key with its reveal holders, with files (no dealer).",
        discussion: """
            A tally round's key is made by its reveal holders together: each picks a secret polynomial, publishes commitments to it with proofs, and sends every other holder an encrypted share; each checks the shares it receives. The round's key is the sum of the holders' public parts, and no machine ever holds its secret.

            Examples:
              evalvault ceremony start R2 --as chair --out R2.ceremony
              evalvault ceremony commit R2.ceremony --as cm-1 --key cm-1.key \\
                  --out cm-1.commit
              evalvault ceremony verify R2.ceremony --as cm-1 --key cm-1.key \\
                  --commit chair.commit --commit cm-1.commit \\
                  --commit cm-2.commit --out cm-1.verified
              evalvault ceremony finish R2.ceremony --as chair \\
                  --commit chair.commit --commit cm-1.commit --commit cm-2.commit \\
                  --verified chair.verified --verified cm-1.verified \\
                  --verified cm-2.verified
            """,
        subcommands: [Start.self, Commit.self, Verify.self, Finish.self])

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the ceremony request for a draft tally round's holders (chair).",
            discussion: """
                The request names the round, its holders with their enrolled keys and the threshold, signed by you. Give it to every holder; each runs `ceremony commit` and sends back a commit file.

                Example:
                  evalvault ceremony start R2 --as chair --out R2.ceremony
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The round id (a draft tally round).", completion: IDCompletion.rounds) var id: String
        @Option(help: ArgumentHelp("Where to write the request.", valueName: "file"), completion: .file()) var out: String
        @OptionGroup var overwrite: ForceOption

        func run() throws {
            try Output.checkWritable(out, force: overwrite.force)
            let (vault, actor) = try global.authenticate(action: "round.open", target: "round/\(id)")
            let r = try vault.startCeremony(id, actor: actor)
            try Output.writeFile(r.bytes, to: out, force: overwrite.force)
            if global.json {
                Output.json(.object(["round": .string(id), "request": .string(out), "holders": .array(r.holderIDs.map { .string($0) }),
                                     "threshold": .int(r.threshold), "fingerprint": .string(actor.principal.publicKeys.fingerprint.description)]))
            }
            Output.notice("wrote the key ceremony request for round \(id) to \(out); each of \(r.holderIDs.joined(separator: ", ")) runs `evalvault ceremony commit \((out as NSString).lastPathComponent) --as ID --key KEY --out ID.commit` and compares your fingerprint \(actor.principal.publicKeys.fingerprint) by voice")
        }
    }

    /// What a holder gives: its id, key file and passphrase.
    struct HolderOptions: ParsableArguments {
        @Argument(help: "The ceremony request from the chair.", completion: .file(extensions: ["ceremony"])) var request: String
        @OptionGroup var holderKey: HolderKeyOptions
        @Option(help: ArgumentHelp("Where to write your file (for the chair and the other holders).", valueName: "file"), completion: .file()) var out: String

        func load() throws -> (request: CeremonyRequestFile, firstUse: Bool, client: HolderClient, holder: PrincipalID) {
            let holder = try holderKey.holder()
            let client = HolderClient(state: .resolve())
            let (request, firstUse) = try client.ceremonyRequest(try Files.read(self.request, what: "ceremony request", limit: RequestFile.maxFileSize),
                                                                 file: self.request)
            return (request, firstUse, client, holder)
        }

        func unlock() throws -> PrivateKeys { try holderKey.unlock() }
    }

    struct Commit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Commit to your part of a tally round's key (a reveal holder, no vault needed).",
            discussion: """
                Checks the request is signed by the vault's chair (pinned in your state folder the first time; compare the fingerprint by voice), then writes your commitments with their proofs and an encrypted share for every other holder. Your secret part is derived from your key file each time it is needed and never written anywhere. Send the commit file to the chair and to every other holder.

                Example:
                  evalvault ceremony commit R2.ceremony --as cm-1 --key cm-1.key \\
                      --out cm-1.commit
                """)
        @OptionGroup var holder: HolderOptions
        @OptionGroup var overwrite: ForceOption
        @OptionGroup var output: OutputOptions

        func run() throws {
            try Output.checkWritable(holder.out, force: overwrite.force)
            let (request, firstUse, client, id) = try holder.load()
            if firstUse {
                Output.warning("first request from vault \(request.vault) on this machine: committing pins the chair's key (fingerprint \(request.requesterKeys.fingerprint))")
            }
            let commit = try client.commit(request, firstUse: firstUse, as: id, keys: try holder.unlock())
            try Output.writeFile(commit.bytes, to: holder.out, force: overwrite.force)
            if output.json { Output.json(.object(["round": .string(request.config.id), "holder": .string(id.rawValue), "file": .string(holder.out)])) }
            Output.notice("committed to your part of round \(request.config.id)'s key as \(id); send \(holder.out) to the chair and to \(request.holderIDs.filter { $0 != id.rawValue }.joined(separator: ", "))")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every holder's commit and your shares, and sign the joint key (a reveal holder).",
            discussion: """
                Checks each holder's commit (its signature and proofs) and opens the share each sent you, checking it against that holder's commitments: a holder who cheated is named and nothing is written. Then writes your signed statement naming the ceremony and its joint key. Send it to the chair.

                Example:
                  evalvault ceremony verify R2.ceremony --as cm-1 --key cm-1.key \\
                      --commit chair.commit --commit cm-1.commit \\
                      --commit cm-2.commit --out cm-1.verified
                """)
        @OptionGroup var holder: HolderOptions
        @Option(help: ArgumentHelp("A holder's commit file (one for every holder, yours too).", valueName: "file"), completion: .file()) var commit: [String] = []
        @OptionGroup var overwrite: ForceOption
        @OptionGroup var output: OutputOptions

        func run() throws {
            try Output.checkWritable(holder.out, force: overwrite.force)
            let (request, firstUse, _, id) = try holder.load()
            guard !firstUse else {
                throw VaultError.usage("this machine has not committed to a ceremony of vault \(request.vault): run `evalvault ceremony commit` first")
            }
            let commits = try commit.map { try CeremonyCommitFile(bytes: try Files.read($0, what: "commit", limit: RequestFile.maxFileSize), file: $0, request: request) }
            let transcript = try CeremonyTranscript(request: request, commits: commits)
            let statement = try CeremonyVerifiedFile.make(transcript: transcript, holder: id, keys: try holder.unlock())
            try Output.writeFile(statement.bytes, to: holder.out, force: overwrite.force)
            let key = Hex.encode(transcript.jointKey.encoded(compressed: true))
            if output.json {
                Output.json(.object(["round": .string(request.config.id), "holder": .string(id.rawValue), "file": .string(holder.out),
                                     "joint_key": .string(key)]))
            }
            Output.notice("checked every commit and your shares for round \(request.config.id); the joint key is \(key); send \(holder.out) to the chair")
        }
    }

    struct Finish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check and record a tally round's ceremony; then the round can be opened (chair).",
            discussion: """
                Needs every holder's commit and every holder's verified statement. All are checked again and kept in the round's signed record, with the joint key; then open the round as usual (`round open`), its holders approving.

                Example:
                  evalvault ceremony finish R2.ceremony --as chair \\
                      --commit chair.commit --commit cm-1.commit --commit cm-2.commit \\
                      --verified chair.verified --verified cm-1.verified \\
                      --verified cm-2.verified
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The ceremony request (from `ceremony start`).", completion: .file(extensions: ["ceremony"])) var request: String
        @Option(help: ArgumentHelp("A holder's commit file (one for every holder).", valueName: "file"), completion: .file()) var commit: [String] = []
        @Option(help: ArgumentHelp("A holder's verified statement (one for every holder).", valueName: "file"), completion: .file()) var verified: [String] = []

        func run() throws {
            let bytes = try Files.read(request, what: "ceremony request", limit: RequestFile.maxFileSize)
            let roundID = (try? CeremonyRequestFile(bytes: bytes, file: request).config.id) ?? "?"
            let (vault, actor) = try global.authenticate(action: "round.open", target: "round/\(roundID)")
            func read(_ files: [String], _ what: String) throws -> [(bytes: [UInt8], file: String)] {
                try files.map { (try Files.read($0, what: what, limit: RequestFile.maxFileSize), $0) }
            }
            let record = try vault.finishCeremony(request: bytes, file: request, commits: try read(commit, "commit"),
                                                  statements: try read(verified, "verified statement"), actor: actor)
            let key = Hex.encode(record.jointKey.encoded(compressed: true))
            if global.json { Output.json(.object(["round": .string(roundID), "joint_key": .string(key), "holders": .int(record.statements.count)])) }
            Output.notice("round \(roundID)'s key ceremony is recorded: \(record.statements.count) holders verified joint key \(key); open it with `evalvault round open \(roundID)`")
        }
    }
}
