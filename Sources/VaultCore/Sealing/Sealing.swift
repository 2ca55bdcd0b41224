import Foundation
import VaultCrypto

/// One score to seal, as the evaluator wrote it.
public struct ScoreInput: Sendable {
    public let team: String
    public let criterion: String
    public let score: Fixed
    public let comment: String?
    /// The CSV line it came from, for error messages.
    public let line: Int?

    public init(team: String, criterion: String, score: Fixed, comment: String?, line: Int? = nil) {
        self.team = team; self.criterion = criterion; self.score = score; self.comment = comment; self.line = line
    }

    /// Reads `team,criterion,score[,comment]` CSV (RFC 4180) with that header.
    public static func fromCSV(_ bytes: [UInt8], file: String) throws -> [ScoreInput] {
        let records = try CSVReader.parse(bytes, file: file)
        guard let header = records.first else { throw VaultError.invalidData("\(file) is empty (expected the header team,criterion,score[,comment])") }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard names == ["team", "criterion", "score"] || names == ["team", "criterion", "score", "comment"] else {
            throw VaultError.invalidData("\(file):\(header.line): the header must be team,criterion,score or team,criterion,score,comment")
        }
        var problems: [String] = []
        var out: [ScoreInput] = []
        out.reserveCapacity(records.count - 1)
        for r in records.dropFirst() {
            guard r.fields.count == names.count else {
                problems.append("\(file):\(r.line): expected \(names.count) fields, found \(r.fields.count)")
                continue
            }
            guard let score = Fixed(r.fields[2].trimmingCharacters(in: .whitespaces)) else {
                problems.append("\(file):\(r.line): \"\(r.fields[2].prefix(20))\" is not a number")
                continue
            }
            out.append(ScoreInput(team: r.fields[0], criterion: r.fields[1], score: score,
                                  comment: names.count == 4 && !r.fields[3].isEmpty ? r.fields[3] : nil, line: r.line))
            if problems.count >= 20 { break }
        }
        if !problems.isEmpty { throw VaultError.invalidData(problems.joined(separator: "\n") + "\nnothing was sealed") }
        guard !out.isEmpty else { throw VaultError.invalidData("\(file) holds no scores") }
        return out
    }
}

/// What `seal` reports.
public struct SealReceipt: Sendable {
    public let batchID: String
    public let count: Int
    public let round: String
}

extension Vault {
    /// `seal`: checks every score against its criterion's grid and the round's teams, asks the
    /// policy for each (team, criterion) in the batch, then seals the batch to the round key
    /// with one HPKE encapsulation and stores it — all rows, or none — with its audit entry.
    ///
    /// The evaluator needs only its own key: the round key is public, and it is accepted only if
    /// the chair the evaluator pinned signed it.
    public func seal(_ inputs: [ScoreInput], round roundID: String, actor: Actor, file: String? = nil,
                     progress: ((Int, Int) -> Void)? = nil) throws -> SealReceipt {
        let target = "round/\(roundID)"
        let round = try recordingFailure(actor: actor.id.rawValue, action: "seal", target: target) {
            try self.round(roundID, verifiedWith: actor.chairKey)
        }
        // Validate everything before anything is sealed.
        var problems: [String] = []
        var units: [Int64] = []
        units.reserveCapacity(inputs.count)
        var seen: [String: Int] = [:]
        let teams = Set(round.config.teams)
        let criteria = round.config.criteriaByID
        for (index, s) in inputs.enumerated() {
            let at = s.line.map { "\(file ?? "input"):\($0): " } ?? ""
            if let first = seen.updateValue(index, forKey: s.team + "\u{0}" + s.criterion) {
                problems.append("\(at)team \(s.team.prefix(64)), criterion \(s.criterion.prefix(64)) is scored twice in this batch (first \(inputs[first].line.map { "at line \($0)" } ?? "earlier"))")
                continue
            }
            guard teams.contains(s.team) else {
                problems.append("\(at)team \"\(s.team.prefix(64))\" is not in round \(roundID) (teams: \(round.config.teams.joined(separator: ", ")))")
                continue
            }
            guard let c = criteria[s.criterion] else {
                problems.append("\(at)criterion \"\(s.criterion.prefix(64))\" is not in round \(roundID) (criteria: \(round.config.criteria.map(\.id).joined(separator: ", ")))")
                continue
            }
            if let comment = s.comment, comment.utf8.count > SealFormat.maxCommentBytes {
                problems.append("\(at)the comment is longer than \(SealFormat.maxCommentBytes) bytes")
                continue
            }
            do { units.append(try c.units(of: s.score)) } catch let e as VaultError { problems.append(at + e.message) }
            if problems.count >= 20 { break }
        }
        if !problems.isEmpty {
            try recordAttempt(AuditRecord(actor: actor.id.rawValue, authenticated: true, action: "seal", target: target, outcome: .failed,
                                          details: ["reason": .string("invalid scores"), "problems": .integer(Int64(problems.count))]),
                              signer: actor.keys.signing)
            throw VaultError.invalidData(problems.joined(separator: "\n") + (inputs.count > 1 ? "\nnothing was sealed" : ""))
        }
        // The policy decides each distinct place; one denial refuses the whole batch.
        let principal = Self.attributes(of: actor.principal)
        let requests = inputs.map {
            PolicyRequest(principal: principal, action: "seal",
                          resource: ["round": round.policyAttributes, "team": .string($0.team), "criterion": .string($0.criterion)])
        }
        let decision = try authorize(requests, actor: actor, target: target, details: ["scores": .integer(Int64(inputs.count))])
        guard let roundKey = round.publicKey else { throw VaultError.integrity("round \(roundID) is open but has no public key") }

        // Seal: one encapsulation, one AEAD message per score, then the signed trailer.
        let batchID = SecureRandom.bytes(count: 16)
        var sender = try HPKE.Sender(recipientKey: roundKey, info: SealFormat.info(vaultID: id, roundID: roundID, roundKey: roundKey))
        var places: [(team: String, criterion: String, ct: [UInt8])] = []
        places.reserveCapacity(inputs.count)
        for (i, s) in inputs.enumerated() {
            var comment = Array((s.comment ?? "").utf8)
            let plaintext = SealFormat.scorePlaintext(units: units[i], comment: comment)
            secureWipe(&comment)
            let aad = SealFormat.scoreAAD(vaultID: id, roundID: roundID, batchID: batchID, seq: i, team: s.team, criterion: s.criterion)
            places.append((s.team, s.criterion, try sender.seal(plaintext, authenticating: aad)))
            if let progress, i % 4096 == 0 { progress(i, inputs.count) }
        }
        for i in units.indices { units[i] = 0 }
        // Microseconds: re-seals by one evaluator are separate commands (each with a KDF), so
        // their signed times differ and the later one supersedes.
        let time = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let digest = SealFormat.digest(vaultID: id, roundID: roundID, batchID: batchID, enc: sender.encapsulatedKey,
                                       evaluator: actor.id.rawValue, time: time, places: places)
        let trailer = try sender.seal(SealFormat.trailerPlaintext(.init(evaluator: actor.id.rawValue, time: time,
                                                                        signature: try actor.keys.signing.signature(for: digest))),
                                      authenticating: SealFormat.trailerAAD(vaultID: id, roundID: roundID, batchID: batchID, count: inputs.count))
        try database.transaction {
            try database.prepare("INSERT INTO batches (id, round, enc, count, trailer) VALUES (?, ?, ?, ?, ?)")
                .bind(batchID, roundID, sender.encapsulatedKey, inputs.count, trailer).run()
            let insert = try database.prepare("INSERT INTO seals (batch, seq, team, criterion, ct) VALUES (?, ?, ?, ?, ?)")
            for (i, p) in places.enumerated() {
                try insert.bind(batchID, i, p.team, p.criterion, p.ct).run()
            }
            try appendAudit(AuditRecord(actor: actor, action: "seal", target: target, decision: decision,
                                        details: ["scores": .integer(Int64(inputs.count))]), signer: actor.keys.signing)
        }
        progress?(inputs.count, inputs.count)
        return SealReceipt(batchID: Hex.encode(batchID), count: inputs.count, round: roundID)
    }
}
