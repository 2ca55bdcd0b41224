import Foundation
import VaultCrypto

/// `principal import FILE.csv` (design: Command line): bulk enrolment, all or nothing.
extension Vault {
    /// What an import enrolled, in file order, and the conflict team ids accepted without a check
    /// because the vault has no round yet (the caller warns).
    public struct ImportedPrincipals: Sendable {
        public let principals: [Principal]
        public let unchecked: [String]
    }

    /// The columns of an import file. `id`, `role` and `pubkey` are required; `conflicts` (team
    /// ids separated by `;`) and `identity` may be left out or empty.
    public static let importColumns = ["id", "role", "pubkey", "conflicts", "identity"]

    /// Enrols every principal of a CSV file in one transaction, each with its own chair-signed
    /// record and log entry (action `principal.import`, with the `enrolled` detail that lets a
    /// verifier learn its key). Every line is checked first — id free and well formed (or left
    /// empty: generated), role, the `.pub` file (a path relative to the CSV file's folder) and its
    /// key not enrolled yet, conflicts as `principal add` checks them, nothing twice in the file —
    /// and up to 20 problems are reported as `FILE:LINE: …`; then nothing is enrolled.
    /// Why all or nothing: a half-imported panel is easy to miss and awkward to repair.
    /// No message ever quotes an identity: it is a real name.
    public func importPrincipals(_ bytes: [UInt8], file: String, actor: Actor) throws -> ImportedPrincipals {
        let action = "principal.import", target = "principals"
        let decision = try authorize(PolicyRequest(principal: Self.attributes(of: actor.principal), action: action,
                                                   resource: ["target": .string(target)]), actor: actor, target: target)
        try requireChair(actor, action: action, target: target, decision: decision)
        func refuse(_ error: VaultError, _ details: [String: JSONValue]) throws -> Never {
            try recordAttempt(AuditRecord(actor: actor, action: action, target: target, decision: decision, outcome: .failed, details: details),
                              signer: actor.keys.signing)
            throw error
        }
        let records: [CSVReader.Record]
        do { records = try CSVReader.parse(bytes, file: file) } catch let e as VaultError { try refuse(e, ["reason": .string("malformed csv")]) }
        let folder = (file as NSString).deletingLastPathComponent

        struct Row { let line: Int; let id: PrincipalID?; let role: Role; let keys: PublicKeys; let conflicts: [String]; let identity: String? }
        var problems: [String] = []
        func problem(_ line: Int, _ why: String) { if problems.count < 21 { problems.append("\(file):\(line): \(why)") } }
        var rows: [Row] = []
        var unchecked = Set<String>()
        if let header = records.first {
            let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            var column: [String: Int] = [:]
            for (i, n) in names.enumerated() {
                if !Self.importColumns.contains(n) { problem(header.line, "unknown column \"\(n.prefix(40))\" (columns: \(Self.importColumns.joined(separator: ", ")))") }
                else if column[n] != nil { problem(header.line, "column \(n) is given twice") }
                else { column[n] = i }
            }
            for n in ["id", "role", "pubkey"] where column[n] == nil { problem(header.line, "the header has no \(n) column (header: \(Self.importColumns.joined(separator: ",")); conflicts and identity may be left out)") }
            if problems.isEmpty {
                var ids = [PrincipalID: Int](), keys = [[UInt8]: Int]()
                let knownTeams = try teamsOfAllRounds()
                for r in records.dropFirst() {
                    guard r.fields.count == names.count else { problem(r.line, "has \(r.fields.count) fields, the header \(names.count)"); continue }
                    func field(_ n: String) -> String { column[n].map { r.fields[$0].trimmingCharacters(in: .whitespaces) } ?? "" }
                    var ok = true
                    func bad(_ why: String) { problem(r.line, why); ok = false }
                    var pid: PrincipalID?
                    var idTaken = false
                    if !field("id").isEmpty {
                        if let p = try? PrincipalID(field("id")) {
                            pid = p
                            if let earlier = ids[p] { bad("id \(p) is already on line \(earlier)") }
                            else if try principalRowExists(p) || log.head(.principal, p.rawValue) != nil { bad("a principal \(p) already exists"); idTaken = true }
                            ids[p] = ids[p] ?? r.line
                        } else {
                            bad("\"\(field("id").prefix(64))\" is not a valid id: use 1-64 lower-case letters, digits, '-', '_' or '.', starting with a letter or digit")
                        }
                    }
                    let role = Role(rawValue: field("role"))
                    if role == nil || role == .chair { bad("role must be evaluator, committee or auditor") }
                    var publicKeys: PublicKeys?
                    if field("pubkey").isEmpty {
                        bad("pubkey is empty: give the path of its .pub file (relative to this file's folder)")
                    } else {
                        let path = field("pubkey").hasPrefix("/") || folder.isEmpty ? field("pubkey") : folder + "/" + field("pubkey")
                        do {
                            let k = try PublicKeys.load(path: path)
                            publicKeys = k
                            let halves = [k.signing.rawRepresentation, k.agreement.rawRepresentation]
                            if let earlier = halves.lazy.compactMap({ keys[$0] }).first { bad("its public key is already on line \(earlier)") }
                            else if !idTaken, let holder = try principalID(enrolling: k) { bad("its public key is already enrolled as \(holder)") }
                            for h in halves where keys[h] == nil { keys[h] = r.line }
                        } catch let e as VaultError {
                            bad(e.message)
                        }
                    }
                    let conflicts = field("conflicts").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                    do { unchecked.formUnion(try Self.checkConflictTeams(conflicts, known: knownTeams)) } catch let e as VaultError { bad(e.message) }
                    let identity = field("identity")
                    if ok, let role, let publicKeys {
                        rows.append(Row(line: r.line, id: pid, role: role, keys: publicKeys, conflicts: conflicts, identity: identity.isEmpty ? nil : identity))
                    }
                }
            }
        }
        if problems.isEmpty && rows.isEmpty { problems.append("\(file): no principals to import (a header line, then one line per principal)") }
        guard problems.isEmpty else {
            var shown = Array(problems.prefix(20))
            if problems.count > 20 { shown.append("\(file): … and more") }
            try refuse(.invalidData((shown + ["nothing was enrolled"]).joined(separator: "\n")), ["problems": .integer(Int64(problems.count))])
        }

        let identityKey = try unwrapIdentityKey(as: actor.id, keys: actor.keys)
        var taken = Set(rows.compactMap(\.id))
        let prefixes: [Role: String] = [.evaluator: "ev", .committee: "cm", .auditor: "au"]
        var made: [(Principal, Int, Bool)] = []
        for row in rows {
            var pid = row.id ?? PrincipalID.random(prefix: prefixes[row.role]!)
            func isTaken(_ p: PrincipalID) throws -> Bool { try taken.contains(p) || principalRowExists(p) || log.head(.principal, p.rawValue) != nil }
            while try row.id == nil && isTaken(pid) {
                pid = PrincipalID.random(prefix: prefixes[row.role]!)
            }
            taken.insert(pid)
            made.append((Principal(id: pid, role: row.role, publicKeys: row.keys,
                                   identityCiphertext: try row.identity.map { try encryptIdentity($0, of: pid, key: identityKey) },
                                   conflicts: row.conflicts, enabled: true, version: 1), row.line, row.identity != nil))
        }
        try write {
            for (p, line, hasIdentity) in made {
                guard log.head(.principal, p.id.rawValue) == nil else { throw VaultError.usage("a principal \(p.id) was enrolled meanwhile; nothing was enrolled") }
                var objects = [try insert(p, signedBy: actor.keys.signing)]
                if p.role == .auditor { objects.append(try wrapIdentityKey(identityKey, to: p)) }
                try appendAudit(AuditRecord(actor: actor, action: action, target: "principal/\(p.id)", decision: decision,
                                            details: ["enrolled": Self.enrolment(p), "conflicts": .integer(Int64(p.conflicts.count)),
                                                      "identity": .bool(hasIdentity), "line": .integer(Int64(line))]),
                                signer: actor.keys.signing, objects: objects)
            }
        }
        return ImportedPrincipals(principals: made.map(\.0), unchecked: unchecked.sorted())
    }
}
