import ArgumentParser
import Foundation
import VaultCore

// Typed option values: one declaration gives parsing, the values listed in --help, "did you
// mean" for a mistyped value (EvalVault.main) and shell completion.

extension Statistic: ExpressibleByArgument {}
extension RevealFormat: ExpressibleByArgument {}
extension AuditExportFormat: ExpressibleByArgument {}

/// `principal add --role`: the roles one enrols (the chair is made by `init`).
enum EnrolledRole: String, CaseIterable, ExpressibleByArgument {
    case evaluator, committee, auditor

    var role: Role {
        switch self {
        case .evaluator: .evaluator
        case .committee: .committee
        case .auditor: .auditor
        }
    }
}

/// `--by`: a comma-separated grouping. Help and completion offer the two the design allows
/// (`team`, `team,criterion`); any list of the policy schema's groupings parses, so that asking
/// for `team,evaluator` still reaches the policy and is refused there and audited, as the design's
/// invariant 3 demands (a parse error would leave no trace of the attempt).
struct Grouping: ExpressibleByArgument, CustomStringConvertible {
    let fields: [String]

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.allSatisfy(PolicySchema.groupings.contains) else { return nil }
        fields = parts
    }

    init(_ fields: [String]) { self.fields = fields }

    static let team = Grouping(["team"])

    var description: String { fields.joined(separator: ",") }
    static var allValueStrings: [String] { ["team", "team,criterion"] }
    static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}

/// Completion of ids for the shells: the shell runs `evalvault` again to ask (ArgumentParser's
/// `CompletionKind.custom`). The ids are those of the vault folder named on the command line
/// (`--dir`), else `$EVALVAULT_DIR`, else `./vault`, as this person's client last verified its
/// log (`ClientState.knownIDs`): no passphrase, vault.db not opened, nothing written, nothing
/// printed when there is nothing to offer.
enum IDCompletion {
    static let rounds = CompletionKind.custom { words, _, prefix in ids(.round, words: words, prefix: prefix) }
    static let principals = CompletionKind.custom { words, _, prefix in ids(.principal, words: words, prefix: prefix) }

    static func ids(_ kind: ObjectRecord.Kind, words: [String], prefix: String) -> [String] {
        var dir: String?
        for (i, w) in words.enumerated() {
            if w == "--dir", i + 1 < words.count { dir = words[i + 1] }
            if w.hasPrefix("--dir=") { dir = String(w.dropFirst(6)) }
        }
        // Words come as typed; a quoted folder name is taken without its quotes.
        dir = dir.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) }
        let folder = VaultLocation.resolve(option: dir).directory
        return ClientState.resolve().knownIDs(kind, inVaultAt: folder).filter { $0.hasPrefix(prefix) }
    }
}
