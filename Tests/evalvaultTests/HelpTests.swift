import Foundation
import TestSupport
import Testing
import VaultCore

/// Every command's `--help` rendered at 80 columns, as on a small terminal: its examples are
/// never broken mid-command (ArgumentParser wraps help at the terminal's width; a broken example
/// no longer works when copied), and each example is a command the parser knows, with options
/// the command takes.
@Suite("Help examples")
struct HelpTests {
    /// One command of ArgumentParser's description of the tool (`--experimental-dump-help`).
    struct Command {
        let path: [String]
        let options: Set<String>
        let subcommands: [String]
        let defaultSubcommand: String?
        var isLeaf: Bool { subcommands.isEmpty }
    }

    static func commands(_ dump: JSONValue) -> [Command] {
        var out: [Command] = []
        func walk(_ c: JSONValue, _ parent: [String]) {
            guard let name = c["commandName"]?.stringValue, name != "help" else { return }
            let path = parent + [name]
            let options = (c["arguments"]?.arrayValue ?? []).flatMap { a in
                (a["names"]?.arrayValue ?? []).filter { $0["kind"]?.stringValue == "long" }.compactMap { $0["name"]?.stringValue }
            }
            let subs = (c["subcommands"]?.arrayValue ?? []).compactMap { $0["commandName"]?.stringValue }.filter { $0 != "help" }
            out.append(Command(path: path, options: Set(options), subcommands: subs, defaultSubcommand: c["defaultSubcommand"]?.stringValue))
            for s in c["subcommands"]?.arrayValue ?? [] { walk(s, path) }
        }
        if let root = dump["command"] { walk(root, []) }
        return out
    }

    static func tree() throws -> [Command] {
        let r = try Subprocess.run(Subprocess.evalvaultPath, ["--experimental-dump-help"], environment: Subprocess.baseEnvironment, directory: "/")
        return commands(try JSONParser.parse(Array(r.stdout.utf8)))
    }

    /// The example block of a help text: the lines after `Example:`/`Examples:` up to a blank line.
    static func examples(in help: String) -> [String]? {
        let lines = help.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0 == "Example:" || $0 == "Examples:" }) else { return nil }
        return Array(lines[(start + 1)...].prefix { !$0.isEmpty })
    }

    /// Shell words, honouring '…' and "…".
    static func words(_ line: String) -> [String] {
        var out: [String] = [], current = "", quote: Character?, inWord = false
        for c in line {
            if let q = quote { if c == q { quote = nil } else { current.append(c) }; continue }
            if c == "'" || c == "\"" { quote = c; inWord = true } else if c == " " {
                if inWord { out.append(current); current = ""; inWord = false }
            } else { current.append(c); inWord = true }
        }
        if inWord { out.append(current) }
        return out
    }

    @Test("at 80 columns (and on a narrower terminal) no example is broken, and every example parses", arguments: ["80", "40"])
    func examplesWhole(columns: String) throws {
        let all = try Self.tree()
        #expect(all.count >= 40)
        var env = Subprocess.baseEnvironment
        env["COLUMNS"] = columns
        var checked = 0
        for command in all {
            let r = try Subprocess.run(Subprocess.evalvaultPath, Array(command.path.dropFirst()) + ["--help"], environment: env, directory: "/")
            let name = command.path.joined(separator: " ")
            #expect(r.status == 0, "\(name) --help: \(r.stderr)")
            guard let block = Self.examples(in: r.stdout), !block.isEmpty else {
                Issue.record("\(name) --help has no example")
                continue
            }
            // Join continuation lines ("\" at the end, the next line indented further).
            var commands: [String] = []
            var continuing = false
            for line in block {
                #expect(line.count <= 80, "\(name): an example line is wider than 80 columns: \(line)")
                if continuing {
                    #expect(line.hasPrefix("      ") && !line.hasPrefix("       "), "\(name): a continuation line is not indented 6: \(line)")
                    commands[commands.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
                } else {
                    // A line ArgumentParser broke starts at column 0 and is not a command.
                    #expect(line.hasPrefix("  ") && !line.hasPrefix("   "), "\(name): an example line was broken: \(line)")
                    commands.append(line.trimmingCharacters(in: .whitespaces))
                }
                continuing = commands[commands.count - 1].hasSuffix(" \\")
                if continuing { commands[commands.count - 1].removeLast(2) }
            }
            #expect(!continuing, "\(name): the last example line ends with a continuation")
            for example in commands {
                try check(example, in: all, help: name)
                checked += 1
            }
        }
        #expect(checked >= 60)
    }

    /// An example names a command the parser knows, with options that command takes.
    func check(_ example: String, in all: [Command], help: String) throws {
        var text = example
        for cut in [" # ", " > ", " && "] { if let r = text.range(of: cut) { text = String(text[..<r.lowerBound]) } }
        var words = Self.words(text)
        if words.starts(with: ["swift", "run"]) { words.removeFirst(2) }
        guard words.first == "evalvault" else { Issue.record("\(help): example is not an evalvault command: \(example)"); return }
        var path = ["evalvault"]
        var rest = words.dropFirst()
        while let next = rest.first, let here = all.first(where: { $0.path == path }), here.subcommands.contains(next) {
            path.append(next)
            rest = rest.dropFirst()
        }
        guard var command = all.first(where: { $0.path == path }) else { Issue.record("\(help): unknown command in \(example)"); return }
        if let d = command.defaultSubcommand, let sub = all.first(where: { $0.path == path + [d] }) { command = sub }
        #expect(command.isLeaf || rest.isEmpty, "\(help): example names a group without a command: \(example)")
        for w in rest where w.hasPrefix("--") {
            let option = String(w.dropFirst(2).prefix { $0 != "=" })
            #expect(command.options.contains(option), "\(help): \(command.path.joined(separator: " ")) takes no --\(option): \(example)")
        }
    }
}
