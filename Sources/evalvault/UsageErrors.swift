import ArgumentParser
import Foundation
import VaultCore

/// Argument errors as one `evalvault: ` sentence (design: Command line), with "did you mean" for a
/// mistyped command, option or option value, as git and the GitHub CLI do.
///
/// Why not ArgumentParser's own text: it prints `Error:` and the usage over several lines, and it
/// validates a command before it looks for unknown options, so `seal --rond R1` would be told to
/// "give either --round ID or --round-file FILE" instead of "did you mean '--round'?". The
/// command tree, options and values come from ArgumentParser's own description of the commands
/// (`--experimental-dump-help`), so nothing here repeats a declaration.
enum UsageErrors {
    /// One command: its subcommands, the long options it takes and the values of typed ones.
    struct Command {
        var name = ""
        var path: [String] = []
        var subcommands: [Command] = []
        var defaultSubcommand: String?
        var options: [String] = []
        var values: [String: [String]] = [:]

        func subcommand(_ name: String) -> Command? { subcommands.first { $0.name == name } }

        /// The command that runs when this one is named: its default subcommand, if it has one.
        var resolved: Command {
            if let d = defaultSubcommand, let c = subcommand(d) { return c.resolved }
            return self
        }
    }

    /// The options every command accepts without declaring them.
    static let builtIns = ["help", "version", "generate-completion-script", "experimental-dump-help"]

    static func tree() -> Command? {
        guard let dump = try? JSONParser.parse(Array(EvalVault._dumpHelp().utf8)), let root = dump["command"] else { return nil }
        func build(_ v: JSONValue, path: [String]) -> Command {
            var c = Command()
            c.name = v["commandName"]?.stringValue ?? ""
            c.path = path + [c.name]
            c.defaultSubcommand = v["defaultSubcommand"]?.stringValue
            for a in v["arguments"]?.arrayValue ?? [] {
                for n in a["names"]?.arrayValue ?? [] where n["kind"]?.stringValue == "long" {
                    guard let name = n["name"]?.stringValue else { continue }
                    c.options.append(name)
                    if let values = a["allValues"]?.arrayValue?.compactMap(\.stringValue), !values.isEmpty { c.values[name] = values }
                }
            }
            c.subcommands = (v["subcommands"]?.arrayValue ?? []).map { build($0, path: c.path) }.filter { $0.name != "help" }
            return c
        }
        return build(root, path: [])
    }

    /// The sentence for an error ArgumentParser threw while parsing `arguments` (without the
    /// program name).
    static func sentence(for error: any Error, arguments: [String]) -> String {
        let message = EvalVault.message(for: error)
        guard let root = tree() else { return plain(message, command: ["evalvault"]) }

        // Walk the words to the command they name; a word right after a command group that is
        // none of its subcommands is a mistyped command.
        var command = root
        var afterGroup = true
        let words = arguments.prefix { $0 != "--" }
        for word in words {
            if !word.hasPrefix("-"), let sub = command.subcommand(word) {
                command = sub
                afterGroup = true
                continue
            }
            if afterGroup, !command.subcommands.isEmpty, !word.hasPrefix("-") {
                let names = command.subcommands.map(\.name)
                let suggestion = nearest(word, in: names).map { "; did you mean '\($0)'?" }
                    ?? " (the commands are \(list(names, or: false)))"
                return "unknown command '\(word)' for '\(command.path.joined(separator: " "))'\(suggestion)"
            }
            afterGroup = false
        }
        let target = command.resolved
        let name = target.path.joined(separator: " ")

        for word in words where word.hasPrefix("--") && word.count > 2 {
            let option = String(word.dropFirst(2).prefix { $0 != "=" })
            guard !target.options.contains(option), !builtIns.contains(option) else { continue }
            let suggestion = nearest(option, in: target.options).map { "; did you mean '--\($0)'?" } ?? " (see '\(name) --help')"
            return "unknown option '--\(option)' for '\(name)'\(suggestion)"
        }

        // A typed option given a value it does not take: ArgumentParser names the value and the
        // option; the values come from the option's declaration.
        let first = message.split(separator: "\n").first.map(String.init) ?? message
        if let m = first.firstMatch(of: /^The value '(.*)' is invalid for '--([A-Za-z0-9-]+)/), let values = target.values[String(m.2)] {
            let value = String(m.1), option = String(m.2)
            let suggestion = nearest(value, in: values).map { "; did you mean '\($0)'?" } ?? ""
            return "--\(option) takes \(list(values, or: true)), not '\(value)'\(suggestion)"
        }
        return plain(message, command: target.path)
    }

    /// ArgumentParser's message as a sentence: its first line, in lower case like every other
    /// message, with where to read more. A message of ours (a `ValidationError`) is kept as it is.
    static func plain(_ message: String, command: [String]) -> String {
        var line = message.split(separator: "\n").first.map(String.init) ?? "invalid arguments"
        guard let c = line.first, c.isUppercase else { return line }
        if line.dropFirst().first?.isLowercase ?? true { line = c.lowercased() + line.dropFirst() }
        if line.hasSuffix(".") { line.removeLast() }
        return "\(line) (see '\(command.joined(separator: " ")) --help')"
    }

    static func list(_ values: [String], or: Bool) -> String {
        guard values.count > 1 else { return values.first ?? "" }
        return values.dropLast().joined(separator: ", ") + (or ? " or " : " and ") + values.last!
    }

    /// The candidate nearest to a mistyped word: within one edit for words of up to three
    /// letters and two for longer ones (a swap of neighbours counts as one), else the only
    /// candidate the word begins.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        let w = word.lowercased()
        let limit = w.count <= 3 ? 1 : 2
        let scored = candidates.map { ($0, distance(w, $0.lowercased())) }.filter { $0.1 <= limit }
        if let best = scored.min(by: { $0.1 < $1.1 }) { return best.0 }
        let prefixed = candidates.filter { $0.lowercased().hasPrefix(w) }
        return w.count >= 2 && prefixed.count == 1 ? prefixed[0] : nil
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    /// neighbouring characters each count one.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
