import ArgumentParser
import Foundation
import VaultCore

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the model case end to end, in a fresh folder.",
        discussion: """
            A chair, two committee members, an auditor and nine evaluators with conflicts; five teams; a first round, refused requests, a 2-of-3 reveal of the ranking with the top 4 advancing; a second round with changed criteria for the survivors; the audit log exported and verified; an HTML report. Everything stays in the folder afterwards.

            Examples:
              swift run evalvault demo
              evalvault demo --dir ./demo
            """)
    @OptionGroup var global: GlobalOptions

    func run() throws {
        let directory: String
        if let dir = global.dir {
            guard !Files.exists(dir) || ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).isEmpty else {
                throw VaultError.usage("\(dir) is not empty; the demo needs a fresh folder")
            }
            try Files.makeDirectory(dir, mode: 0o700)
            directory = dir
        } else {
            var template = Array((NSTemporaryDirectory() + "evalvault-demo-XXXXXX").utf8CString)
            guard let made = mkdtemp(&template) else { throw VaultError.internalError("cannot make a temporary folder") }
            directory = String(cString: made)
        }
        // With --json the story is not told; the object says where everything is.
        let say: (String) -> Void = global.json ? { _ in } : { Output.line($0) }
        let outcome = try Demo(directory: directory, say: say).run()
        if global.json {
            Output.json(.object(["dir": .string(directory), "vault": .string(outcome.vault), "report": .string(outcome.report),
                                 "result": .string(outcome.resultStatement)]))
        }
    }
}
