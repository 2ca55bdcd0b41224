import Foundation
import VaultCrypto

/// Team, criterion and round ids (they appear in AADs, file names of reports and command lines).
public enum Identifier {
    /// A team or criterion id: lower-case letters, digits, `-`, `_`, `.`, 1–64 characters,
    /// starting with a letter or digit — the alphabet of principal ids. Why lower-case only: ids
    /// are compared exactly (conflicts, CSV rows, reveals), so `Upstage` and `upstage` would be
    /// two teams, and a conflict declared for one would not stop a seal for the other.
    public static func isValidName(_ s: String) -> Bool { PrincipalID.isValid(s) }

    /// "… is not a valid team id: …", with the lower-case spelling when that is the only fault.
    public static func nameProblem(_ s: String, kind: String) -> String {
        let shown = "\"\(s.prefix(64))\""
        if isValidName(s.lowercased()) { return "\(shown) is not a valid \(kind) id: ids are lower-case (\(s.lowercased()))" }
        return "\(shown) is not a valid \(kind) id: use 1-64 lower-case letters, digits, '-', '_' or '.', starting with a letter or digit"
    }

    /// A round id: letters of either case, digits, `-`, `_`, `.`, 1–64 characters, starting with a
    /// letter or digit (`2025-R1`).
    public static func isValid(_ s: String) -> Bool {
        let u = Array(s.utf8)
        func alnum(_ c: UInt8) -> Bool { (97...122).contains(c) || (65...90).contains(c) || (48...57).contains(c) }
        guard (1...64).contains(u.count), let f = u.first, alnum(f) else { return false }
        return u.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }
}

/// One criterion of a round (design: Concepts): scores lie on the grid min, min + step, …, max.
public struct Criterion: Sendable, Equatable {
    public let id: String
    public let title: String
    public let weight: Fixed
    public let min: Fixed
    public let max: Fixed
    public let step: Fixed

    /// How many steps the range holds: scores are 0…stepCount units above min.
    public var stepCount: Int64 { (max.micros - min.micros) / step.micros }

    /// The score as a whole number of steps above min, or an error naming the grid.
    public func units(of score: Fixed) throws -> Int64 {
        guard score >= min, score <= max, (score.micros - min.micros) % step.micros == 0 else {
            throw VaultError.invalidData("score \(score) is not allowed for criterion \(id): use \(min) to \(max) in steps of \(step)")
        }
        return (score.micros - min.micros) / step.micros
    }

    /// The score a number of units stands for.
    public func score(units: Int64) -> Fixed { Fixed(micros: min.micros + units * step.micros) }
}

/// Who holds a round's reveal key and how many of them must take part (k of n).
public struct RevealRule: Sendable, Equatable {
    public let holders: [PrincipalID]
    public let threshold: Int
}

/// One reveal a round declares it will publish (a `[[publish]]` entry of the round file; design:
/// Concepts, Aggregates). Declarations are part of the chair-signed definition, so they are fixed
/// before anyone seals, and evaluators are shown them when they seal. A reveal request is
/// *declared* when it matches one entry exactly — statistic, grouping, precision, advance and
/// trim — and the default policy permits nothing else (design: Policy language).
public struct DeclaredReveal: Sendable, Equatable {
    public let stat: Statistic
    /// `["team"]` or `["team", "criterion"]`.
    public let by: [String]
    /// Decimal places, 0–6 (2 when the file leaves it out).
    public let precision: Int
    /// rank only: how many teams are marked as advancing.
    public let advance: Int?
    /// trimmed_mean only: the fraction dropped at each end.
    public let trim: Fixed?

    public static let defaultPrecision = 2

    public init(stat: Statistic, by: [String], precision: Int = DeclaredReveal.defaultPrecision, advance: Int? = nil, trim: Fixed? = nil) {
        self.stat = stat; self.by = by; self.precision = precision; self.advance = advance; self.trim = trim
    }

    /// True when a request asks exactly for this reveal. `by` compares as a set, as lists do in
    /// the policy language.
    public func matches(stat: Statistic, by: [String], precision: Int, advance: Int?, trim: Fixed?) -> Bool {
        self.stat == stat && Set(self.by) == Set(by) && self.by.count == by.count && self.precision == precision
            && self.advance == advance && self.trim == trim
    }

    /// "rank by team at precision 2, advance 4": how commands and messages name it.
    public var description: String {
        var s = "\(stat.rawValue) by \(by.joined(separator: ",")) at precision \(precision)"
        if let advance { s += ", advance \(advance)" }
        if let trim { s += ", trim \(trim)" }
        return s
    }

    public var canonicalJSON: JSONValue {
        var o: [String: JSONValue] = ["stat": .string(stat.rawValue), "by": .array(by.map { .string($0) }),
                                      "precision": .integer(Int64(precision))]
        if let advance { o["advance"] = .integer(Int64(advance)) }
        if let trim { o["trim"] = .string(trim.description) }
        return .object(o)
    }
}

/// How a round keeps its scores (design: Concepts, Tally rounds).
public enum RoundMode: String, Sendable, CaseIterable {
    /// Each batch is sealed to the round's key; k holders rebuild that key to reveal.
    case sealed
    /// Each score is an ElGamal ciphertext under a joint key made by the holders' ceremony, with
    /// a proof it is on the grid; only cell totals are ever decrypted.
    case tally

    /// What a tally round can reveal: statistics of cell counts and sums only.
    public static let tallyStatistics: Set<Statistic> = [.count, .mean, .weightedTotal, .rank]
}

/// A round's definition, fixed when it opens (design: Concepts, Command line's round file).
public struct RoundConfig: Sendable, Equatable {
    public let id: String
    public let title: String
    public let teams: [String]
    public let criteria: [Criterion]
    public let reveal: RevealRule
    /// The evaluators who may seal, when the round file lists them; nil: the enrolled, enabled
    /// evaluators at the moment the round opens. Either way the panel is fixed at open.
    public let panel: [PrincipalID]?
    /// The reveals the round will publish, in file order (design: Aggregates, "Declared reveals").
    public let publish: [DeclaredReveal]
    /// The programme the round belongs to (`programme` in the round file), for the results page.
    public let programme: String?
    /// Display names of teams (a `[teams]` table of id = "name"), for the results page; a team
    /// without one is shown by its id. Ids stay what seals, results and policies use.
    public let teamNames: [String: String]
    /// `mode` in the round file; `sealed` when it says nothing.
    public let mode: RoundMode

    /// How a team is shown to people: its display name, else its id.
    public func displayName(of team: String) -> String { teamNames[team] ?? team }

    /// The declared reveal a request matches, if any.
    public func declaration(stat: Statistic, by: [String], precision: Int, advance: Int?, trim: Fixed?) -> DeclaredReveal? {
        publish.first { $0.matches(stat: stat, by: by, precision: precision, advance: advance, trim: trim) }
    }

    public func criterion(_ id: String) -> Criterion? { criteria.first { $0.id == id } }

    /// The criteria by id, for code that looks one up per score.
    public var criteriaByID: [String: Criterion] { Dictionary(criteria.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }) }

    /// Canonical JSON (decimals as strings), the form stored and signed. `publish` is written only
    /// when the round declares something, `programme` and `team_names` only when the round file
    /// gives them, so a definition from before they existed encodes to the same bytes, and its
    /// chair signature still verifies. Being in this JSON, they are in the chair-signed round
    /// record (`Round.signedBytes`) and in the round descriptor evaluators check.
    public var canonicalJSON: JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id), "title": .string(title), "teams": .array(teams.map { .string($0) }),
            "criteria": .array(criteria.map { c in
                .object(["id": .string(c.id), "title": .string(c.title), "weight": .string(c.weight.description),
                         "min": .string(c.min.description), "max": .string(c.max.description), "step": .string(c.step.description)])
            }),
            "reveal": .object(["holders": .array(reveal.holders.map { .string($0.rawValue) }), "threshold": .integer(Int64(reveal.threshold))]),
        ]
        if let panel { o["panel"] = .array(panel.map { .string($0.rawValue) }) }
        if !publish.isEmpty { o["publish"] = .array(publish.map(\.canonicalJSON)) }
        if let programme { o["programme"] = .string(programme) }
        if !teamNames.isEmpty { o["team_names"] = .object(teamNames.mapValues { .string($0) }) }
        if mode != .sealed { o["mode"] = .string(mode.rawValue) }
        return .object(o)
    }

    /// Reads the stored canonical JSON back (already validated when created).
    init(canonical v: JSONValue) throws {
        let bad = VaultError.integrity("a stored round definition is malformed")
        guard let id = v["id"]?.stringValue, let title = v["title"]?.stringValue,
              let teams = v["teams"]?.arrayValue?.compactMap(\.stringValue), let criteria = v["criteria"]?.arrayValue,
              let holders = v["reveal"]?["holders"]?.arrayValue?.compactMap(\.stringValue),
              let threshold = v["reveal"]?["threshold"]?.integerValue else { throw bad }
        self.id = id
        self.title = title
        self.teams = teams
        self.criteria = try criteria.map { c in
            guard let cid = c["id"]?.stringValue, let ct = c["title"]?.stringValue,
                  let w = c["weight"]?.stringValue.flatMap(Fixed.init), let mn = c["min"]?.stringValue.flatMap(Fixed.init),
                  let mx = c["max"]?.stringValue.flatMap(Fixed.init), let st = c["step"]?.stringValue.flatMap(Fixed.init),
                  st.micros > 0 else { throw bad }
            return Criterion(id: cid, title: ct, weight: w, min: mn, max: mx, step: st)
        }
        self.reveal = RevealRule(holders: try holders.map { try PrincipalID($0) }, threshold: Int(threshold))
        if let list = v["panel"] {
            guard let ids = list.arrayValue?.compactMap(\.stringValue) else { throw bad }
            self.panel = try ids.map { try PrincipalID($0) }
        } else {
            self.panel = nil
        }
        // A definition stored before declared reveals has no `publish`: it declares nothing.
        var declared: [JSONValue] = []
        if let p = v["publish"] {
            guard let a = p.arrayValue else { throw bad }
            declared = a
        }
        // Absent in definitions from before programme names and team display names.
        if let p = v["programme"] {
            guard let name = p.stringValue else { throw bad }
            self.programme = name
        } else {
            self.programme = nil
        }
        // Absent in sealed rounds (and in every definition from before tally rounds).
        if let m = v["mode"] {
            guard let name = m.stringValue, let mode = RoundMode(rawValue: name), mode != .sealed else { throw bad }
            self.mode = mode
        } else {
            self.mode = .sealed
        }
        if let names = v["team_names"] {
            guard let o = names.objectValue, o.keys.allSatisfy(teams.contains) else { throw bad }
            self.teamNames = try o.mapValues { guard let n = $0.stringValue else { throw bad }; return n }
        } else {
            self.teamNames = [:]
        }
        self.publish = try declared.map { (d: JSONValue) throws -> DeclaredReveal in
            guard let stat = d["stat"]?.stringValue.flatMap(Statistic.init(rawValue:)),
                  let by = d["by"]?.arrayValue?.compactMap(\.stringValue), let precision = d["precision"]?.integerValue else { throw bad }
            var advance: Int?
            if let a = d["advance"] { guard let i = a.integerValue else { throw bad }; advance = Int(i) }
            var trim: Fixed?
            if let t = d["trim"] { guard let f = t.stringValue.flatMap(Fixed.init) else { throw bad }; trim = f }
            return DeclaredReveal(stat: stat, by: by, precision: Int(precision), advance: advance, trim: trim)
        }
    }

    init(id: String, title: String, teams: [String], criteria: [Criterion], reveal: RevealRule, panel: [PrincipalID]? = nil,
         publish: [DeclaredReveal] = [], programme: String? = nil, teamNames: [String: String] = [:], mode: RoundMode = .sealed) {
        self.id = id; self.title = title; self.teams = teams; self.criteria = criteria; self.reveal = reveal; self.panel = panel
        self.publish = publish; self.programme = programme; self.teamNames = teamNames; self.mode = mode
    }
}

/// The lifecycle of design: Concepts.
public enum RoundState: String, Sendable, CaseIterable {
    case draft, open, closed, shredded
}

/// A round as stored: its definition, state, the policy version it opened under and its
/// public key, all signed by the chair.
public struct Round: Sendable {
    public let config: RoundConfig
    public let state: RoundState
    public let policyVersion: Int?
    public let publicKey: Curve25519.KeyAgreement.PublicKey?
    public let version: Int
    /// The evaluators who may seal, fixed and approved by k reveal holders when the round
    /// opened; empty while it is a draft.
    public let panel: [PrincipalID]
    /// A tally round's key ceremony (`CeremonyRecord`'s bytes) once its holders finished it;
    /// nil for a sealed round. Its joint key is the round's key.
    public let ceremony: [UInt8]?

    public init(config: RoundConfig, state: RoundState, policyVersion: Int?, publicKey: Curve25519.KeyAgreement.PublicKey?, version: Int,
                panel: [PrincipalID], ceremony: [UInt8]? = nil) {
        self.config = config; self.state = state; self.policyVersion = policyVersion; self.publicKey = publicKey; self.version = version
        self.panel = panel; self.ceremony = ceremony
    }

    public var id: String { config.id }

    /// The same round in its next state (one version higher); everything else is kept.
    func moved(to state: RoundState) -> Round {
        Round(config: config, state: state, policyVersion: policyVersion, publicKey: publicKey, version: version + 1, panel: panel, ceremony: ceremony)
    }

    /// What each approving reveal holder signs when a round opens: the opened round's record,
    /// so the approval covers its definition, panel, public key and policy version exactly.
    static func openApprovalBytes(vaultID: String, roundID: String, recordSHA256: String) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/round-open-approval/v1")
        e.append(vaultID); e.append(roundID); e.append(recordSHA256)
        return e.bytes
    }

    /// The bytes the chair signs.
    func signedBytes(vaultID: String) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/round/v1")
        e.append(vaultID)
        e.append(config.id)
        e.append(CanonicalJSON.encode(config.canonicalJSON))
        e.append(state.rawValue)
        e.append(Int64(policyVersion ?? 0))
        e.append(publicKey?.rawRepresentation ?? [])
        e.append(Int64(version))
        e.append(Int64(panel.count))
        for p in panel { e.append(p.rawValue) }
        // Only a tally round has a ceremony, so every other round's record signs the same bytes.
        if let ceremony { e.append(SHA256.hash(data: ceremony)) }
        return e.bytes
    }

    /// The policy attributes `resource.round`.
    public var policyAttributes: PolicyValue {
        .record(["id": .string(id), "state": .string(state.rawValue), "threshold": .long(Int64(config.reveal.threshold))])
    }
}
