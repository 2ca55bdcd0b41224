import Foundation
import VaultCrypto

/// One decrypted score, as a reveal counts it. `units` is the secret: the score in steps above
/// the criterion's minimum. Comments are never decrypted into this.
public struct OpenedScore: Sendable {
    public let evaluator: String
    public let team: String
    public let criterion: String
    public var units: Int64
    /// The signed seal time, microseconds since 1970.
    public let time: Int64
    public let batch: [UInt8]
    public let seq: Int
}

extension Vault {
    /// Rebuilds a round's private key from its holders: the whole key unwrapped by one holder
    /// when k = 1, or k Shamir shares combined. The result must match the round's chair-signed
    /// public key, so wrong or forged shares are an integrity error, never a wrong key.
    public func roundPrivateKey(_ round: Round, holders: [Actor]) throws -> Curve25519.KeyAgreement.PrivateKey {
        guard let publicKey = round.publicKey else { throw VaultError.usage("round \(round.id) has never been opened") }
        let k = round.config.reveal.threshold
        let distinct = Dictionary(holders.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        guard distinct.count >= k else {
            throw VaultError.denied(policyIDs: [])  // the policy's threshold rule says the same; this is the cryptographic floor
        }
        let info = Self.roundKeyInfo(vaultID: id, roundID: round.id)
        let purpose = k == 1 ? "round-key" : "round-share"
        var pieces: [SecureBytes] = []
        for holder in distinct.values.sorted(by: { $0.id < $1.id }) where round.config.reveal.holders.contains(holder.id) {
            let s = try database.prepare("SELECT enc, ct FROM key_wraps WHERE purpose = ? AND scope = ? AND recipient = ?")
                .bind(purpose, round.id, holder.id.rawValue)
            guard try s.step() else {
                if round.state == .shredded { throw VaultError.usage("round \(round.id) was shredded: its key is gone and its seals can never be opened") }
                throw VaultError.integrity("the \(purpose) wrap of round \(round.id) for \(holder.id) is missing")
            }
            do {
                pieces.append(try HPKE.open(s.blob(1), encapsulatedKey: s.blob(0), using: holder.keys.agreement, info: info,
                                            authenticating: Array("\(purpose):\(holder.id.rawValue)".utf8)))
            } catch {
                throw VaultError.integrity("the \(purpose) wrap of round \(round.id) for \(holder.id) does not open")
            }
            if pieces.count == k { break }
        }
        guard pieces.count >= k else { throw VaultError.denied(policyIDs: []) }
        let raw: SecureBytes
        do {
            raw = k == 1 ? pieces[0] : try Shamir.combine(pieces.map { try Shamir.Share(serialized: $0) })
        } catch {
            throw VaultError.integrity("the key shares of round \(round.id) are malformed")
        }
        guard let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw), key.publicKey == publicKey else {
            throw VaultError.integrity("the key rebuilt for round \(round.id) does not match its signed public key")
        }
        return key
    }

    /// Opens and verifies every batch of a round. For each batch: the trailer opens (HPKE,
    /// its AAD); every score opens with the AAD of the place stored beside it; the positions run
    /// 0…count−1; the evaluator's signature over the batch digest verifies against an enrolled,
    /// enabled evaluator (checked with `chairKey`); values lie on their criterion's grid. Any
    /// failure stops everything with an integrity error naming the batch. The number of batches
    /// must equal the number of successful `seal` entries the audit log records for the round.
    public func openRound(_ round: Round, privateKey: Curve25519.KeyAgreement.PrivateKey,
                          chairKey: Curve25519.Signing.PublicKey, progress: ((Int, Int) -> Void)? = nil) throws -> [OpenedScore] {
        guard let roundKey = round.publicKey else { throw VaultError.usage("round \(round.id) has never been opened") }
        let info = SealFormat.info(vaultID: id, roundID: round.id, roundKey: roundKey)
        var evaluators: [String: Principal] = [:]
        func evaluator(_ name: String, batch: String) throws -> Principal {
            if let p = evaluators[name] { return p }
            guard let pid = try? PrincipalID(name) else { throw VaultError.integrity("batch \(batch): malformed evaluator id") }
            let p: Principal
            do { p = try principal(pid, verifiedWith: chairKey) } catch VaultError.notFound {
                throw VaultError.integrity("batch \(batch): sealed by \(name), who is not enrolled")
            }
            guard p.role == .evaluator else { throw VaultError.integrity("batch \(batch): sealed by \(name), who is not an evaluator") }
            guard p.enabled else { throw VaultError.integrity("batch \(batch): sealed by \(name), who is disabled") }
            evaluators[name] = p
            return p
        }

        let (batchCount, scoreCount) = try sealCounts(round.id)
        let audited = try database.prepare("""
            SELECT count(*) FROM audit_log WHERE json_extract(CAST(entry AS TEXT), '$.action') = 'seal'
              AND json_extract(CAST(entry AS TEXT), '$.outcome') = 'ok' AND json_extract(CAST(entry AS TEXT), '$.target') = ?
            """).bind("round/\(round.id)")
        _ = try audited.step()
        guard audited.int(0) == batchCount else {
            throw VaultError.integrity("round \(round.id) holds \(batchCount) batches but the audit log records \(audited.int(0)) seals")
        }

        var out: [OpenedScore] = []
        out.reserveCapacity(scoreCount)
        let teams = Set(round.config.teams), criteria = round.config.criteriaByID
        let batches = try database.prepare("SELECT id, enc, count, trailer FROM batches WHERE round = ? ORDER BY id").bind(round.id)
        let seals = try database.prepare("SELECT seq, team, criterion, ct FROM seals WHERE batch = ? ORDER BY seq")
        var opened = 0
        while try batches.step() {
            let batchID = batches.blob(0), enc = batches.blob(1), count = batches.int(2), trailerCT = batches.blob(3)
            let name = Hex.encode(batchID.prefix(8))
            let fail = { (why: String) in VaultError.integrity("batch \(name) of round \(round.id): \(why)") }
            guard batchID.count == 16, count >= 1 else { throw fail("malformed batch record") }
            let recipient: HPKE.Recipient
            do { recipient = try HPKE.Recipient(privateKey: privateKey, encapsulatedKey: enc, info: info) } catch {
                throw fail("its encapsulated key is invalid")
            }
            let trailer: SealFormat.Trailer
            do {
                let plain = try recipient.open(trailerCT, sequenceNumber: UInt64(count),
                                               authenticating: SealFormat.trailerAAD(vaultID: id, roundID: round.id, batchID: batchID, count: count))
                guard let t = SealFormat.parseTrailer(plain) else { throw fail("its trailer is malformed") }
                trailer = t
            } catch let e as VaultError { throw e } catch { throw fail("its trailer does not open (changed, moved or re-keyed)") }

            var places: [(team: String, criterion: String, ct: [UInt8])] = []
            var batchScores: [OpenedScore] = []
            seals.reset()
            try seals.bind(batchID)
            while try seals.step() {
                let seq = seals.int(0), team = seals.text(1), criterion = seals.text(2), ct = seals.blob(3)
                guard seq == places.count else { throw fail("score \(places.count) is missing or out of place") }
                guard teams.contains(team), let c = criteria[criterion] else {
                    throw fail("score \(seq) is placed at an unknown team or criterion")
                }
                let plain: SecureBytes
                do {
                    plain = try recipient.open(ct, sequenceNumber: UInt64(seq),
                                               authenticating: SealFormat.scoreAAD(vaultID: id, roundID: round.id, batchID: batchID,
                                                                                   seq: seq, team: team, criterion: criterion))
                } catch { throw fail("score \(seq) does not open (changed, or moved to another place)") }
                guard let units = SealFormat.units(of: plain), units >= 0, units <= c.stepCount else {
                    throw fail("score \(seq) is malformed or off its criterion's grid")
                }
                places.append((team, criterion, ct))
                batchScores.append(OpenedScore(evaluator: trailer.evaluator, team: team, criterion: criterion, units: units,
                                               time: trailer.time, batch: batchID, seq: seq))
            }
            guard places.count == count else { throw fail("it should hold \(count) scores but holds \(places.count)") }
            let who = try evaluator(trailer.evaluator, batch: name)
            let digest = SealFormat.digest(vaultID: id, roundID: round.id, batchID: batchID, enc: enc, evaluator: trailer.evaluator,
                                           time: trailer.time, places: places)
            guard who.publicKeys.signing.isValidSignature(trailer.signature, for: digest) else {
                throw fail("the evaluator's signature does not verify")
            }
            out += batchScores
            opened += 1
            progress?(opened, batchCount)
        }
        return out
    }

    /// Keeps only the latest score per (evaluator, team, criterion): re-sealing supersedes
    /// (SPEC §3). "Latest" is by the signed seal time, then batch id, then position, so a writer
    /// of vault.db cannot change which one counts without breaking a signature.
    public static func latestOnly(_ scores: [OpenedScore]) -> [OpenedScore] {
        func isNewer(_ a: OpenedScore, than b: OpenedScore) -> Bool {
            if a.time != b.time { return a.time > b.time }
            if a.batch != b.batch { return b.batch.lexicographicallyPrecedes(a.batch) }
            return a.seq > b.seq
        }
        var best: [String: OpenedScore] = [:]
        for s in scores {
            let key = s.evaluator + "\u{0}" + s.team + "\u{0}" + s.criterion
            if let b = best[key], !isNewer(s, than: b) { continue }
            best[key] = s
        }
        return Array(best.values)
    }
}
