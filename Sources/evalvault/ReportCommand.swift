import ArgumentParser
import Foundation
import VaultCore

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a round's results as one self-contained HTML page (chair, with k holders).",
        discussion: """
            The page holds the criteria and weights, a bar chart of weighted totals with the advance line, the mean per criterion with n, the policy hash, the audit checkpoint and the signed result statement. It is made by two reveals (rank with --advance, and mean by team,criterion at precision 2): the policy decides and the audit log records them as such, so under the default policy the round must declare both.

            Example:
              evalvault report --as chair --round 2025-R1 --advance 4 --with cm-1 \\
                  --out round-1.html
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The round id.", valueName: "id"), completion: IDCompletion.rounds) var round: String
    @Option(help: ArgumentHelp("Where to write the HTML page.", valueName: "file"), completion: .file(extensions: ["html"])) var out: String
    @Option(help: "Mark the top N teams as advancing.") var advance: Int?
    @OptionGroup var holders: CoHolderOptions
    @OptionGroup var overwrite: ForceOption

    func run() throws {
        // Refused before the two reveals behind the page, which the audit log records.
        try Output.checkWritable(out, force: overwrite.force)
        let (vault, actor) = try global.authenticate(action: "reveal", target: "round/\(round)")
        let coHolders = try holders.authenticate(in: vault, target: "round/\(round)")
        let html = try vault.report(round: round, advance: advance, actor: actor, coHolders: coHolders)
        try Output.writeFile(html, to: out, force: overwrite.force)
        if global.json { Output.json(.object(["round": .string(round), "file": .string(out)])) }
        Output.notice("wrote the report of round \(round) to \(out)")
    }
}
