import Foundation
import VaultCrypto

/// The public record of a tally round's reveal (docs/tally-format.md): the ceremony's
/// commitments, every counted ciphertext with its proof, each cell's sums, the holders' partial
/// decryptions with their proofs, the totals and the statistics. Anyone can check it with the
/// format document alone; `Tests/tools/verify_tally.py` does, sharing no code with this one.
public struct TallyRecord: Sendable {
    /// One holder's ceremony commitments Fⱼ,ₜ and proofs of knowledge.
    public struct CeremonyEntry: Sendable {
        public let holder: String
        public let index: Int
        public let coefficients: [P256.Point]
        public let proofs: [Tally.SchnorrProof]
        public init(holder: String, index: Int, coefficients: [P256.Point], proofs: [Tally.SchnorrProof]) {
            self.holder = holder; self.index = index; self.coefficients = coefficients; self.proofs = proofs
        }
    }

    /// One counted score: the latest of its evaluator for its place.
    public struct Score: Sendable {
        public let evaluator: String
        public let team: String
        public let criterion: String
        public let ciphertext: Tally.EncryptedScore
        public init(evaluator: String, team: String, criterion: String, ciphertext: Tally.EncryptedScore) {
            self.evaluator = evaluator; self.team = team; self.criterion = criterion; self.ciphertext = ciphertext
        }
    }

    /// One holder's verified partial decryption of a cell total.
    public struct Partial: Sendable {
        public let holder: String
        public let index: Int
        public let decryption: Tally.PartialDecryption
        public init(holder: String, index: Int, decryption: Tally.PartialDecryption) {
            self.holder = holder; self.index = index; self.decryption = decryption
        }
    }

    public let vault: String
    public let config: RoundConfig
    public let manifestRoot: [UInt8]
    public let ceremony: [CeremonyEntry]
    public let jointKey: P256.Point
    public let scores: [Score]
    public let cells: [TallyCell]
    public let partials: [[Partial]]
    public let request: DeclaredReveal
    public let result: AggregateResult

    public init(vault: String, config: RoundConfig, manifestRoot: [UInt8], ceremony: [CeremonyEntry], jointKey: P256.Point,
                scores: [Score], cells: [TallyCell], partials: [[Partial]], request: DeclaredReveal, result: AggregateResult) {
        precondition(cells.count == partials.count)
        self.vault = vault; self.config = config; self.manifestRoot = manifestRoot; self.ceremony = ceremony; self.jointKey = jointKey
        self.scores = scores; self.cells = cells; self.partials = partials; self.request = request; self.result = result
    }

    static func hex(_ p: P256.Point) -> JSONValue { .string(Hex.encode(p.encoded(compressed: false))) }
    static func hex(_ s: P256.Scalar) -> JSONValue { .string(Hex.encode(s.rawRepresentation)) }

    /// The record as JSON, written by the one JSON writer (canonical form).
    public var json: JSONValue {
        var reveal: [String: JSONValue] = ["stat": .string(request.stat.rawValue), "by": .array(request.by.map { .string($0) }),
                                           "precision": .integer(Int64(request.precision))]
        if let a = request.advance { reveal["advance"] = .integer(Int64(a)) }
        return .object([
            "format": .string("evalvault tally record v1"),
            "vault": .string(vault), "round": .string(config.id), "manifest_root": .string(Hex.encode(manifestRoot)),
            "holders": .array(config.reveal.holders.map { .string($0.rawValue) }),
            "threshold": .integer(Int64(config.reveal.threshold)),
            "ceremony": .array(ceremony.map { e in
                .object(["holder": .string(e.holder), "index": .integer(Int64(e.index)),
                         "coefficients": .array(e.coefficients.map(Self.hex)),
                         "proofs": .array(e.proofs.map { .object(["r": Self.hex($0.r), "z": Self.hex($0.z)]) })])
            }),
            "joint_key": Self.hex(jointKey),
            "criteria": .array(config.criteria.map { c in
                .object(["id": .string(c.id), "weight": .string(c.weight.description), "min": .string(c.min.description),
                         "max": .string(c.max.description), "step": .string(c.step.description), "max_index": .integer(c.stepCount)])
            }),
            "teams": .array(config.teams.map { .string($0) }),
            "scores": .array(scores.map { s in
                .object(["evaluator": .string(s.evaluator), "team": .string(s.team), "criterion": .string(s.criterion),
                         "ciphertext": .string(Hex.encode(s.ciphertext.encoded))])
            }),
            "cells": .array(zip(cells, partials).map { cell, partials in
                .object(["team": .string(cell.team), "criterion": .string(cell.criterion), "count": .integer(Int64(cell.count)),
                         "x": Self.hex(cell.x), "y": Self.hex(cell.y), "total": .integer(Int64(cell.total ?? -1)),
                         "partials": .array(partials.map { p in
                             .object(["holder": .string(p.holder), "index": .integer(Int64(p.index)), "share": Self.hex(p.decryption.share),
                                      "a": Self.hex(p.decryption.a), "b": Self.hex(p.decryption.b), "z": Self.hex(p.decryption.z)])
                         })])
            }),
            "reveal": .object(reveal),
            "results": result.groupsJSON,
        ])
    }
}
