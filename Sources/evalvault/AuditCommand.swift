import ArgumentParser
import Foundation
import VaultCore

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Export, verify and prove the audit log.",
        discussion: """
            Examples:
              evalvault audit export --as chair --out audit.jsonl
              evalvault audit verify audit.jsonl --checkpoint last-month.checkpoint
            """,
        subcommands: [Export.self, Verify.self, Checkpoint.self, Prove.self]
    )

    /// A checkpoint in a command's JSON: how many entries it covers and their root.
    static func json(_ c: VaultCore.Checkpoint) -> JSONValue {
        .object(["size": .int(c.size), "root": .string(Base64.encode(c.root))])
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the audit log as JSON Lines (verifiable) or CSV (for spreadsheets).",
            discussion: """
                Chair or auditor, per policy. When the chair exports, a fresh checkpoint covering every entry (this export's own included) is signed first; an auditor's export ends at the chair's latest checkpoint. With --json, give --out: the export goes to the file and the JSON says what was written.

                Example:
                  evalvault audit export --as auditor --out audit.jsonl
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "The export's format.") var format: AuditExportFormat = .jsonl
        @Option(help: ArgumentHelp("Write to this file instead of stdout.", valueName: "file"), completion: .file()) var out: String?
        @OptionGroup var overwrite: ForceOption

        func validate() throws {
            if global.json && out == nil { throw ValidationError("--json describes the export written with --out FILE; without --out the export itself is printed") }
            if overwrite.force && out == nil { throw ValidationError("--force goes with --out FILE") }
        }

        func run() throws {
            try Output.checkWritable(out, force: overwrite.force)
            let (vault, actor) = try global.authenticate(action: "audit.export", target: "audit")
            let prepared = try vault.prepareAuditExport(actor: actor, format: format)
            try Output.write(to: out, force: overwrite.force) { sink in
                try vault.writeAuditExport(format: format, checkpoint: prepared.checkpoint, chairKey: actor.chairKey, to: sink)
            }
            if prepared.left > 0 {
                Output.warning(prepared.left == 1
                    ? "1 newer entry is not covered by the chair's latest checkpoint and was left out"
                    : "\(prepared.left) newer entries are not covered by the chair's latest checkpoint and were left out")
            }
            guard let out else { return }
            if global.json {
                Output.json(.object(["file": .string(out), "format": .string(format.rawValue), "entries": .int(prepared.checkpoint.checkpoint.size),
                                     "left_out": .int(prepared.left), "checkpoint": AuditCommand.json(prepared.checkpoint.checkpoint)]))
            }
            Output.notice("wrote \(prepared.checkpoint.checkpoint.size) entries to \(out)")
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an exported audit log, or an inclusion proof, offline: no vault, no passphrase.",
            discussion: """
                Recomputes every leaf and the root, checks every signature and the checkpoint's, and with --checkpoint OLD proves the log only grew since OLD. Exits 65 naming the first bad line.

                Examples:
                  evalvault audit verify audit.jsonl
                  evalvault audit verify audit.jsonl --checkpoint last-month.checkpoint
                  evalvault audit verify --proof entry-12.json
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The exported JSON Lines file (- reads standard input).", completion: .file(extensions: ["jsonl"])) var file: String?
        @Option(help: ArgumentHelp("An older checkpoint note the log must extend.", valueName: "file"), completion: .file()) var checkpoint: String?
        @Option(help: ArgumentHelp("Check an inclusion proof printed by `audit prove` instead.", valueName: "file"), completion: .file()) var proof: String?

        func validate() throws {
            guard (file == nil) != (proof == nil) else { throw ValidationError("give either an export FILE or --proof PROOF") }
            if proof != nil && checkpoint != nil { throw ValidationError("--checkpoint goes with an export FILE, not --proof") }
        }

        func run() throws {
            if let proof {
                let v = try AuditProof.verify(try Files.read(proof, what: "proof file", limit: AuditProof.maxFileSize))
                if global.json {
                    Output.json(.object(["entry": .int(v.index), "size": .int(v.size), "chair": .string(v.chair),
                                         "chair_fingerprint": .string(v.chairFingerprint.description)]))
                    return
                }
                Output.line("ok: entry \(v.index) is in the log of \(v.size) entries signed by chair \(v.chair) (fingerprint \(v.chairFingerprint))")
                return
            }
            let older = try checkpoint.map {
                String(decoding: try Files.read($0, what: "checkpoint file", limit: VaultCore.Checkpoint.maxNoteSize), as: UTF8.self)
            }
            let s = try AuditVerifier.verify(path: file!, olderCheckpoint: older)
            if global.json {
                Output.json(.object(["vault": .string(s.vaultID), "size": .int(s.size), "root": .string(Base64.encode(s.root)), "chair": .string(s.chair),
                                     "chair_fingerprint": .string(s.chairFingerprint.description), "extends": .optional(s.extends)]))
            } else {
                Output.line("ok: \(s.size) entries, root \(Base64.encode(s.root))")
                Output.line("vault \(s.vaultID), checkpoint signed by chair \(s.chair) (fingerprint \(s.chairFingerprint))")
                if let e = s.extends { Output.line("the log extends the older checkpoint of \(e) entries") }
            }
        }
    }

    struct Checkpoint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a checkpoint of the log as it is now (chair).",
            discussion: """
                Prints the C2SP signed note (or writes it to --out). Keep it: `audit verify --checkpoint` later proves the log only grew since.

                Example:
                  evalvault audit checkpoint --as chair --out 2025-11.checkpoint
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Write the note to this file.", valueName: "file"), completion: .file()) var out: String?
        @OptionGroup var overwrite: ForceOption

        func validate() throws {
            if overwrite.force && out == nil { throw ValidationError("--force goes with --out FILE") }
        }

        func run() throws {
            // Refused before signing: the checkpoint the README says to keep is never replaced by accident.
            try Output.checkWritable(out, force: overwrite.force)
            let (vault, actor) = try global.authenticate(action: "audit.checkpoint", target: "audit")
            let note = try vault.checkpointNow(actor: actor)
            if let out {
                try Output.writeFile(Array(note.text.utf8), to: out, force: overwrite.force)
            }
            if global.json {
                guard case .object(var o) = AuditCommand.json(note.checkpoint) else { return }
                o["note"] = .string(note.text)
                o["file"] = .optional(out)
                Output.json(.object(o))
            } else if let out {
                Output.notice("wrote the checkpoint of \(note.checkpoint.size) entries to \(out)")
            } else {
                FileHandle.standardOutput.write(Data(note.text.utf8))
            }
        }
    }

    struct Prove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an RFC 9162 inclusion proof of one entry against the latest checkpoint.",
            discussion: """
                Chair or auditor (the audit.export permission). Check it anywhere with `evalvault audit verify --proof FILE`. The proof is JSON already; --json prints it the same.

                Example:
                  evalvault audit prove --as auditor 12 > entry-12.json
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The entry's sequence number.") var seq: Int

        func run() throws {
            let (vault, actor) = try global.authenticate(action: "audit.export", target: "audit/\(seq)")
            Output.json(try vault.proveEntry(seq, actor: actor))
        }
    }
}
