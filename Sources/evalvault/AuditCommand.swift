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

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the audit log as JSON Lines (verifiable) or CSV (for spreadsheets).",
            discussion: """
                Chair or auditor, per policy. When the chair exports, a fresh checkpoint covering every entry (this export's own included) is signed first; an auditor's export ends at the chair's latest checkpoint.

                Example:
                  evalvault audit export --as auditor --out audit.jsonl
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: "jsonl or csv.") var format: String = "jsonl"
        @Option(help: "Write to this file instead of stdout.") var out: String?

        func validate() throws {
            guard AuditExportFormat(rawValue: format) != nil else { throw ValidationError("--format must be jsonl or csv") }
        }

        func run() throws {
            let format = AuditExportFormat(rawValue: format)!
            let (vault, actor) = try global.authenticate(action: "audit.export", target: "audit")
            let prepared = try vault.prepareAuditExport(actor: actor, format: format)
            try Output.write(to: out) { sink in
                try vault.writeAuditExport(format: format, checkpoint: prepared.checkpoint, chairKey: actor.chairKey, to: sink)
            }
            if prepared.left > 0 {
                Output.notice(prepared.left == 1
                    ? "1 newer entry is not covered by the chair's latest checkpoint and was left out"
                    : "\(prepared.left) newer entries are not covered by the chair's latest checkpoint and were left out")
            }
            if let out { Output.notice("wrote \(prepared.checkpoint.checkpoint.size) entries to \(out)") }
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
        @Argument(help: "The exported JSON Lines file (- reads standard input).") var file: String?
        @Option(help: "An older checkpoint note the log must extend.") var checkpoint: String?
        @Option(help: "Check an inclusion proof printed by `audit prove` instead.") var proof: String?

        func validate() throws {
            guard (file == nil) != (proof == nil) else { throw ValidationError("give either an export FILE or --proof PROOF") }
            if proof != nil && checkpoint != nil { throw ValidationError("--checkpoint goes with an export FILE, not --proof") }
        }

        func run() throws {
            if let proof {
                let v = try AuditProof.verify(try Files.read(proof, what: "proof file", limit: AuditProof.maxFileSize))
                Output.line("ok: entry \(v.index) is in the log of \(v.size) entries signed by chair \(v.chair) (fingerprint \(v.chairFingerprint))")
                return
            }
            let older = try checkpoint.map {
                String(decoding: try Files.read($0, what: "checkpoint file", limit: VaultCore.Checkpoint.maxNoteSize), as: UTF8.self)
            }
            let s = try AuditVerifier.verify(path: file!, olderCheckpoint: older)
            if global.json {
                Output.json(["vault": s.vaultID, "size": String(s.size), "root": Base64.encode(s.root), "chair": s.chair,
                             "chair_fingerprint": s.chairFingerprint.description])
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
        @Option(help: "Write the note to this file.") var out: String?

        func run() throws {
            let (vault, actor) = try global.authenticate(action: "audit.checkpoint", target: "audit")
            let note = try vault.checkpointNow(actor: actor)
            try Output.write(to: out) { sink in try sink(Array(note.text.utf8)) }
            if let out { Output.notice("wrote the checkpoint of \(note.checkpoint.size) entries to \(out)") }
        }
    }

    struct Prove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an RFC 9162 inclusion proof of one entry against the latest checkpoint.",
            discussion: """
                Chair or auditor (the audit.export permission). Check it anywhere with `evalvault audit verify --proof FILE`.

                Example:
                  evalvault audit prove --as auditor 12 > entry-12.json
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The entry's sequence number.") var seq: Int

        func run() throws {
            let (vault, actor) = try global.authenticate(action: "audit.export", target: "audit/\(seq)")
            Output.line(CanonicalJSON.string(try vault.proveEntry(seq, actor: actor)))
        }
    }
}
