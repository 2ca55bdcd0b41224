import Foundation
import Testing
@testable import VaultCore
import VaultCrypto

/// The key ceremony of a tally round as files, with real keys: the request, each holder's
/// commit, each holder's verified statement; the joint key is the same for everyone and no one
/// holds its secret; any 2 of 3 holders' key shares decrypt; a holder who cheats is named; a
/// swapped or replayed file is refused.
@Suite("Tally key ceremony")
struct CeremonyTests {
    static let roundFile = """
        id = "R2"
        mode = "tally"
        teams = ["lg-ai-research", "upstage"]
        [reveal]
        holders = ["chair", "cm-1", "cm-2"]
        threshold = 2
        [[criteria]]
        id = "reasoning"
        weight = 1
        min = 0
        max = 100
        step = 0.5
        [[publish]]
        stat = "rank"
        by = ["team"]
        """

    struct People {
        let config: RoundConfig
        let keys: [PrivateKeys]
        let request: CeremonyRequestFile
        let ids: [PrincipalID]

        init(vault: String = String(repeating: "ab", count: 16)) throws {
            config = try RoundFile.parse(CeremonyTests.roundFile, file: "R2.round")
            ids = config.reveal.holders
            keys = ids.map { _ in PrivateKeys.generate() }
            let principals = zip(ids, keys).map { id, k in
                Principal(id: id, role: id.rawValue == "chair" ? .chair : .committee, publicKeys: k.publicKeys, identityCiphertext: nil,
                          conflicts: [], enabled: true, version: 1)
            }
            request = try CeremonyRequestFile.make(vault: vault, config: config, holders: principals, chair: keys[0], created: "2026-11-30T00:00:00Z")
        }

        /// Each holder's commit, as the file it sends and the chair reads back.
        func commits() throws -> [CeremonyCommitFile] {
            try zip(ids, keys).map { id, k in
                let made = try CeremonyCommitFile.make(request: request, holder: id, keys: k)
                return try CeremonyCommitFile(bytes: made.bytes, file: "\(id).commit", request: request)
            }
        }
    }

    @Test("three holders make one joint key; each checks its shares; any two key shares decrypt, one does not")
    func ceremonyRuns() throws {
        let p = try People()
        // The request travels as bytes and is read back whole.
        let request = try CeremonyRequestFile(bytes: p.request.bytes, file: "R2.ceremony")
        #expect(request.digest == p.request.digest && request.holderIDs == ["chair", "cm-1", "cm-2"])
        let commits = try p.commits()
        let transcript = try CeremonyTranscript(request: request, commits: commits.reversed())
        #expect(transcript.commits.map(\.index) == [1, 2, 3])
        // Each holder verifies and signs the same transcript and joint key.
        let statements = try zip(p.ids, p.keys).map { id, k in
            let v = try CeremonyVerifiedFile.make(transcript: transcript, holder: id, keys: k)
            return try CeremonyVerifiedFile(bytes: v.bytes, file: "\(id).verified", transcript: transcript)
        }
        #expect(Set(statements.map(\.jointKey)).count == 1)
        // The commits are deterministic in the key: a holder re-deriving its polynomial commits
        // to the same coefficients (so it keeps no secret between steps).
        let again = try CeremonyCommitFile.make(request: request, holder: p.ids[1], keys: p.keys[1])
        #expect(again.coefficients == commits[1].coefficients)
        // Threshold decryption with the holders' shares from the transcript.
        let shares = try zip(p.ids, p.keys).map { try transcript.secretShare(of: $0, keys: $1) }
        let key = Tally.PublicKey(transcript.jointKey)
        let grid = Tally.Grid(maxIndex: 200)
        let scores = [17, 200, 3].map { Tally.encrypt(index: $0, grid: grid, key: key, context: [UInt8($0)]) }
        let x = scores.dropFirst().reduce(scores[0].x) { $0 + $1.x }, y = scores.dropFirst().reduce(scores[0].y(grid: grid)) { $0 + $1.y(grid: grid) }
        let log = Tally.DiscreteLog(bound: 600)
        for pair in [[1, 2], [1, 3], [2, 3]] {
            #expect(log.solve(Tally.combine(y: y, shares: pair.map { ($0, x.multiplied(by: shares[$0 - 1])) })) == 220)
        }
        for i in 1...3 { #expect(log.solve(y - x.multiplied(by: shares[i - 1])) == nil) }
    }

    @Test("a holder who sends a bad share, a commitment it cannot prove, or a file signed by another is named")
    func cheatersNamed() throws {
        let p = try People()
        let commits = try p.commits()
        // cm-2 re-signs its commit after changing the encrypted share for the chair.
        let doc = try SignedDocument(bytes: commits[2].bytes, what: "cm-2.commit", format: CeremonyCommitFile.formatName,
                                     required: ["vault", "round", "request_sha256", "holder", "index", "coefficients", "proofs", "shares"])
        var body = doc.body
        guard case .array(var shares) = body["shares"]!, case .object(var first) = shares[0] else { Issue.record("shape"); return }
        let forged = try HPKE.seal(P256.Scalar.random().rawRepresentation, to: p.keys[0].publicKeys.agreement,
                                   info: p.request.shareBinding(from: 3, to: 1), authenticating: p.request.shareBinding(from: 3, to: 1))
        first["enc"] = .string(Base64.encode(forged.encapsulatedKey)); first["ct"] = .string(Base64.encode(forged.ciphertext))
        shares[0] = .object(first); body["shares"] = .array(shares)
        let cheat = try CeremonyCommitFile(bytes: try SignedDocument.sign(body, with: p.keys[2].signing), file: "cm-2.commit", request: p.request)
        let transcript = try CeremonyTranscript(request: p.request, commits: [commits[0], commits[1], cheat])
        #expect { try CeremonyVerifiedFile.make(transcript: transcript, holder: p.ids[0], keys: p.keys[0]) } throws: { error in
            "\(error)".contains("cm-2 cheated") && (error as? VaultError)?.exitStatus.rawValue == 65
        }
        // cm-1, whose share from cm-2 is fine, can still verify: the failure is the victim's to report.
        _ = try CeremonyVerifiedFile.make(transcript: transcript, holder: p.ids[1], keys: p.keys[1])

        // A commitment swapped for another point (its proof no longer holds), re-signed by cm-1.
        var body2 = try SignedDocument(bytes: commits[1].bytes, what: "x", format: CeremonyCommitFile.formatName,
                                       required: ["vault", "round", "request_sha256", "holder", "index", "coefficients", "proofs", "shares"]).body
        body2["coefficients"] = .array([.string(Hex.encode(P256.Point.base(.random()).encoded(compressed: false)))] +
                                       Array(body2["coefficients"]!.arrayValue!.dropFirst()))
        #expect { try CeremonyCommitFile(bytes: try SignedDocument.sign(body2, with: p.keys[1].signing), file: "cm-1.commit", request: p.request) } throws: { error in
            "\(error)".contains("cm-1 cheated")
        }
        // cm-1's commit signed by the chair's key instead: not cm-1's.
        #expect { try CeremonyCommitFile(bytes: try SignedDocument.sign(body2, with: p.keys[0].signing), file: "cm-1.commit", request: p.request) } throws: { error in
            "\(error)".contains("not signed by cm-1")
        }
    }

    @Test("files of another ceremony, a changed request, a swapped commit and a wrong key file are refused")
    func replaysRefused() throws {
        let p = try People(), other = try People()
        let commits = try p.commits()
        // A commit made for another ceremony (another vault) does not answer this request.
        let foreign = try CeremonyCommitFile.make(request: other.request, holder: other.ids[1], keys: other.keys[1])
        #expect(throws: VaultError.self) { try CeremonyCommitFile(bytes: foreign.bytes, file: "cm-1.commit", request: p.request) }
        // One byte of the request changed: its signature fails.
        var changed = p.request.bytes
        changed[changed.count / 2] ^= 1
        #expect(throws: VaultError.self) { try CeremonyRequestFile(bytes: changed, file: "R2.ceremony") }
        // A statement over a transcript with one commit swapped for a fresh one of the same holder.
        let statement = try CeremonyVerifiedFile.make(transcript: try CeremonyTranscript(request: p.request, commits: commits), holder: p.ids[1], keys: p.keys[1])
        var fresh = commits
        let rekeyed = try People()  // cm-2 with another key file cannot sign for this request
        #expect(throws: VaultError.self) { try CeremonyCommitFile.make(request: p.request, holder: p.ids[2], keys: rekeyed.keys[2]) }
        fresh[2] = commits[2]
        let tampered = try CeremonyTranscript(request: p.request, commits: [commits[0], try CeremonyCommitFile(bytes: commits[1].bytes, file: "a", request: p.request), commits[2]])
        #expect(tampered.digest == statement.transcriptDigest)
        let otherTranscript = try CeremonyTranscript(request: other.request, commits: try other.commits())
        #expect(throws: VaultError.self) { try CeremonyVerifiedFile(bytes: statement.bytes, file: "cm-1.verified", transcript: otherTranscript) }
        // A commit missing or given twice.
        #expect(throws: VaultError.self) { try CeremonyTranscript(request: p.request, commits: Array(commits.prefix(2))) }
        #expect(throws: VaultError.self) { try CeremonyTranscript(request: p.request, commits: commits + [commits[0]]) }
        // A sealed round needs no ceremony.
        let sealed = try RoundFile.parse(Self.roundFile.replacingOccurrences(of: "mode = \"tally\"\n", with: ""), file: "R2.round")
        #expect(sealed.mode == .sealed)
    }
}
