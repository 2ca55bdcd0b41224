import Foundation
import VaultCrypto

// The key ceremony of a tally round as files (design: Tally rounds; docs/tally-format.md): the
// chair's request names the round, its holders and their keys; each holder answers with a commit
// file (Feldman commitments with proofs, and an encrypted share for every other holder); each
// holder then checks every commit and its own shares and signs a verified statement naming the
// transcript and the joint key. No file and no process ever holds the joint secret.
//
// The command-line steps (`evalvault ceremony …`) are not built yet: this is the protocol they
// will run, tested here end to end with real keys.

/// `ceremony start`: the chair's signed request — the round definition, its holders in order
/// with their public keys (as enrolled), and the threshold.
public struct CeremonyRequestFile: Sendable {
    public static let formatName = "evalvault-ceremony-request/1"
    public let vault: String
    public let config: RoundConfig
    /// The holders in the round's order (index i + 1), with their enrolled public keys.
    public let holders: [(id: PrincipalID, keys: PublicKeys)]
    public let requesterKeys: PublicKeys
    public let digest: [UInt8]
    public let bytes: [UInt8]

    public var threshold: Int { config.reveal.threshold }
    public var holderIDs: [String] { holders.map(\.id.rawValue) }

    public static func make(vault: String, config: RoundConfig, holders: [Principal], chair: PrivateKeys, created: String) throws -> CeremonyRequestFile {
        guard config.mode == .tally else { throw VaultError.usage("round \(config.id) is not a tally round: it needs no key ceremony") }
        guard holders.map(\.id) == config.reveal.holders else { throw VaultError.internalError("the ceremony's holders differ from the round's") }
        let bytes = try SignedDocument.sign([
            "format": .string(formatName), "vault": .string(vault), "round": .string(config.id), "config": config.canonicalJSON,
            "holders": .array(holders.map { h in
                .object(["id": .string(h.id.rawValue), "key": .string(Base64.encode(h.publicKeys.signing.rawRepresentation)),
                         "x25519": .string(Base64.encode(h.publicKeys.agreement.rawRepresentation))])
            }),
            "requester_key": .string(Base64.encode(chair.publicKeys.signing.rawRepresentation)),
            "requester_x25519": .string(Base64.encode(chair.publicKeys.agreement.rawRepresentation)),
            "created": .string(created),
        ], with: chair.signing)
        return try CeremonyRequestFile(bytes: bytes, file: "the ceremony request")
    }

    /// Reads a request and checks it is whole and signed by the key it names (whether that key
    /// is the chair's is the reader's to decide, against its pinned chair key).
    public init(bytes: [UInt8], file: String) throws {
        let doc = try SignedDocument(bytes: bytes, what: file, format: Self.formatName,
                                     required: ["vault", "round", "config", "holders", "requester_key", "requester_x25519", "created"])
        requesterKeys = try doc.requesterKeys()
        guard doc.isSigned(by: requesterKeys.signing) else {
            throw VaultError.integrity("\(file) does not match its signature (changed after the chair signed it)")
        }
        let vault = try doc.string("vault")
        guard SignedDocument.isVaultID(vault), let configJSON = doc.body["config"] else { throw doc.malformed("vault id") }
        let config: RoundConfig
        do { config = try RoundConfig(canonical: configJSON) } catch { throw doc.malformed("round definition") }
        guard config.canonicalJSON == configJSON, config.id == (try doc.string("round")), config.mode == .tally,
              (1...max(1, config.reveal.holders.count)).contains(config.reveal.threshold) else { throw doc.malformed("round definition") }
        guard let list = doc.body["holders"]?.arrayValue, list.count == config.reveal.holders.count else { throw doc.malformed("holders") }
        holders = try zip(list, config.reveal.holders).map { item, id in
            guard case .object(let o) = item, Set(o.keys) == ["id", "key", "x25519"], o["id"]?.stringValue == id.rawValue else {
                throw doc.malformed("holder \(id)")
            }
            do {
                return (id, try PublicKeys(agreementRaw: try doc.base64("x25519", count: 32, in: o), signingRaw: try doc.base64("key", count: 32, in: o)))
            } catch { throw doc.malformed("keys of holder \(id)") }
        }
        self.vault = vault
        self.config = config
        digest = doc.digest
        self.bytes = bytes
    }

    /// The index (1-based) of a holder.
    public func index(of holder: PrincipalID) throws -> Int {
        guard let i = holders.firstIndex(where: { $0.id == holder }) else {
            throw VaultError.permission("\(holder) is not a reveal holder of round \(config.id) (holders: \(holderIDs.joined(separator: ", ")))")
        }
        return i + 1
    }

    func context(index: Int) -> [UInt8] {
        Tally.Ceremony.context(vault: vault, round: config.id, holders: holderIDs, threshold: threshold, index: index)
    }

    /// The HPKE info and AAD of the share from holder `from` to holder `to`: bound to the
    /// request, so a share cannot be replayed into another ceremony or to another holder.
    func shareBinding(from: Int, to: Int) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/ceremony-share/v1")
        e.append(vault); e.append(config.id); e.append(digest); e.append(Int64(from)); e.append(Int64(to))
        return e.bytes
    }

    /// A holder's secret polynomial, re-derived whenever it is needed (never stored): HKDF of
    /// the holder's X25519 private key, bound to this request. Why derived: the holder keeps no
    /// secret file between the ceremony's steps and the reveal, and whoever could read the key
    /// file could already open every share sent to it.
    func polynomial(keys: PrivateKeys) throws -> [P256.Scalar] {
        let seed = try keys.agreement.rawRepresentation.withUnsafeBytes { ikm in
            try HKDF.deriveKey(inputKeyMaterial: ikm, salt: Array("evalvault/v2 ceremony seed".utf8), info: digest, outputByteCount: 32)
        }
        return Tally.Ceremony.polynomial(seed: seed, threshold: threshold)
    }
}

/// `ceremony commit`: one holder's commitments Fₜ with proofs of knowledge, and fⱼ(i) for every
/// other holder i, HPKE-encrypted to i's X25519 key; signed by the holder.
public struct CeremonyCommitFile: Sendable {
    public static let formatName = "evalvault-ceremony-commit/1"
    public let holder: PrincipalID
    public let index: Int
    public let coefficients: [P256.Point]
    public let proofs: [Tally.SchnorrProof]
    /// (to, enc, ct) for every other holder, in holder order.
    let shares: [(to: Int, enc: [UInt8], ct: [UInt8])]
    public let digest: [UInt8]
    public let bytes: [UInt8]

    public static func make(request: CeremonyRequestFile, holder: PrincipalID, keys: PrivateKeys) throws -> CeremonyCommitFile {
        let j = try request.index(of: holder)
        guard request.holders[j - 1].keys.signing.rawRepresentation == keys.publicKeys.signing.rawRepresentation else {
            throw VaultError.authenticationFailed("this key file is not the key enrolled for \(holder) in the ceremony request")
        }
        let polynomial = try request.polynomial(keys: keys)
        let (coefficients, proofs) = Tally.Ceremony.commit(polynomial: polynomial, context: request.context(index: j))
        var shares: [JSONValue] = []
        for (i, other) in request.holders.enumerated() where i + 1 != j {
            let share = Tally.Ceremony.share(polynomial: polynomial, for: i + 1)
            let binding = request.shareBinding(from: j, to: i + 1)
            let sealed = try HPKE.seal(share.rawRepresentation, to: other.keys.agreement, info: binding, authenticating: binding)
            shares.append(.object(["to": .integer(Int64(i + 1)), "enc": .string(Base64.encode(sealed.encapsulatedKey)),
                                   "ct": .string(Base64.encode(sealed.ciphertext))]))
        }
        let bytes = try SignedDocument.sign([
            "format": .string(formatName), "vault": .string(request.vault), "round": .string(request.config.id),
            "request_sha256": .string(Hex.encode(request.digest)), "holder": .string(holder.rawValue), "index": .integer(Int64(j)),
            "coefficients": .array(coefficients.map { .string(Hex.encode($0.encoded(compressed: false))) }),
            "proofs": .array(proofs.map { .object(["r": .string(Hex.encode($0.r.encoded(compressed: false))), "z": .string(Hex.encode($0.z.rawRepresentation))]) }),
            "shares": .array(shares),
        ], with: keys.signing)
        return try CeremonyCommitFile(bytes: bytes, file: "the commit of \(holder)", request: request)
    }

    /// Reads a commit and checks everything anyone can: it answers this request, is signed by
    /// the holder it names (its key from the request), and every proof of knowledge holds. A
    /// failure names the holder, so a cheater is known.
    public init(bytes: [UInt8], file: String, request: CeremonyRequestFile) throws {
        let doc = try SignedDocument(bytes: bytes, what: file, format: Self.formatName,
                                     required: ["vault", "round", "request_sha256", "holder", "index", "coefficients", "proofs", "shares"])
        let holder = try doc.principal("holder")
        let j = try request.index(of: holder)
        guard doc.isSigned(by: request.holders[j - 1].keys.signing) else {
            throw VaultError.integrity("\(file) is not signed by \(holder)'s enrolled key (changed after signing, or made by someone else)")
        }
        guard try doc.string("vault") == request.vault, try doc.string("round") == request.config.id,
              try doc.hex("request_sha256", count: 32) == request.digest, try doc.integer("index", in: 1...1_000) == j else {
            throw VaultError.invalidData("\(file) answers another ceremony request (of another round, vault or version of the request)")
        }
        func point(_ v: JSONValue?) throws -> P256.Point {
            guard let b = v?.stringValue.flatMap(Hex.decode), let p = try? P256.Point(uncompressed: b) else { throw doc.malformed("point") }
            return p
        }
        guard let cs = doc.body["coefficients"]?.arrayValue, cs.count == request.threshold,
              let ps = doc.body["proofs"]?.arrayValue, ps.count == request.threshold else { throw doc.malformed("commitments (one per coefficient)") }
        coefficients = try cs.map(point)
        proofs = try ps.map { p in
            guard case .object(let o) = p, Set(o.keys) == ["r", "z"],
                  let z = o["z"]?.stringValue.flatMap(Hex.decode).flatMap(P256.Scalar.init(rawRepresentation:)) else { throw doc.malformed("proof") }
            return Tally.SchnorrProof(r: try point(o["r"]), z: z)
        }
        guard Tally.Ceremony.verifyCommitments(coefficients, proofs: proofs, context: request.context(index: j)) else {
            throw VaultError.integrity("\(holder) cheated or its commit was altered: a proof of knowledge of its commitments does not hold (\(file))")
        }
        guard let ss = doc.body["shares"]?.arrayValue, ss.count == request.holders.count - 1 else { throw doc.malformed("shares (one per other holder)") }
        let others = (1...request.holders.count).filter { $0 != j }
        shares = try zip(ss, others).map { item, to in
            guard case .object(let o) = item, Set(o.keys) == ["to", "enc", "ct"], o["to"]?.integerValue == Int64(to) else { throw doc.malformed("share for holder \(to)") }
            return (to, try doc.base64("enc", count: HPKE.encapsulatedKeyByteCount, in: o), try doc.base64("ct", count: 32 + AES.GCM.tagByteCount, in: o))
        }
        self.holder = holder
        index = j
        digest = doc.digest
        self.bytes = bytes
    }

    /// The share this commit sends to holder `to`, opened with that holder's key and checked
    /// against the commitments; a share that does not open or does not match names the sender.
    func share(for to: Int, keys: PrivateKeys, request: CeremonyRequestFile) throws -> P256.Scalar {
        guard let s = shares.first(where: { $0.to == to }) else { throw VaultError.internalError("no share for holder \(to)") }
        let binding = request.shareBinding(from: index, to: to)
        let cheated = VaultError.integrity("\(holder) cheated or its commit was altered: its share for \(request.holders[to - 1].id) does not match its commitments")
        guard let plain = try? HPKE.open(s.ct, encapsulatedKey: s.enc, using: keys.agreement, info: binding, authenticating: binding),
              let share = plain.withUnsafeBytes({ P256.Scalar(rawRepresentation: Array($0)) }),
              Tally.Ceremony.verifyShare(share, index: to, coefficients: coefficients) else { throw cheated }
        return share
    }
}

/// The ceremony's transcript: the request and every holder's commit, in holder order, each
/// checked; from it, the joint key and each holder's public key share.
public struct CeremonyTranscript: Sendable {
    public let request: CeremonyRequestFile
    public let commits: [CeremonyCommitFile]
    public let jointKey: P256.Point
    /// SHA-256 over the request's digest and each commit's, in order: what the holders sign.
    public let digest: [UInt8]

    /// Orders the commits by holder; exactly one from each holder.
    public init(request: CeremonyRequestFile, commits: [CeremonyCommitFile]) throws {
        var byIndex: [Int: CeremonyCommitFile] = [:]
        for c in commits {
            guard byIndex.updateValue(c, forKey: c.index) == nil else { throw VaultError.usage("two commits from \(c.holder)") }
        }
        let missing = request.holders.indices.filter { byIndex[$0 + 1] == nil }.map { request.holders[$0].id.rawValue }
        guard missing.isEmpty else { throw VaultError.usage("the ceremony lacks the commit of \(missing.joined(separator: ", "))") }
        self.request = request
        self.commits = (1...request.holders.count).map { byIndex[$0]! }
        jointKey = Tally.Ceremony.jointKey(commitments: self.commits.map(\.coefficients))
        var e = CanonicalEncoder(domain: "evalvault/ceremony-transcript/v1")
        e.append(request.digest)
        for c in self.commits { e.append(c.digest) }
        digest = SHA256.hash(data: e.bytes)
    }

    /// Holder `index`'s public key share Kᵢ.
    public func publicShare(_ index: Int) -> P256.Point {
        Tally.Ceremony.publicShare(index: index, commitments: commits.map(\.coefficients))
    }

    /// A holder's secret key share sᵢ = fᵢ(i) + Σ fⱼ(i): its own polynomial re-derived and every
    /// other holder's share opened and checked. Throws naming the first holder whose share is bad.
    public func secretShare(of holder: PrincipalID, keys: PrivateKeys) throws -> P256.Scalar {
        let i = try request.index(of: holder)
        guard request.holders[i - 1].keys.agreement.rawRepresentation == keys.publicKeys.agreement.rawRepresentation else {
            throw VaultError.authenticationFailed("this key file is not the key enrolled for \(holder) in the ceremony request")
        }
        var s = Tally.Ceremony.share(polynomial: try request.polynomial(keys: keys), for: i)
        for c in commits where c.index != i { s = s + (try c.share(for: i, keys: keys, request: request)) }
        guard P256.Point.base(s) == publicShare(i) else {
            throw VaultError.integrity("the key share of \(holder) does not match the ceremony's commitments")
        }
        return s
    }
}

/// `ceremony verify`: a holder's signed statement that it checked every commit and every share
/// sent to it, naming the transcript and the joint key it computed.
public struct CeremonyVerifiedFile: Sendable {
    public static let formatName = "evalvault-ceremony-verified/1"
    public let holder: PrincipalID
    public let transcriptDigest: [UInt8]
    public let jointKey: [UInt8]
    public let bytes: [UInt8]

    /// Checks the transcript as `holder` (its shares open and match) and signs the statement.
    public static func make(transcript: CeremonyTranscript, holder: PrincipalID, keys: PrivateKeys) throws -> CeremonyVerifiedFile {
        _ = try transcript.secretShare(of: holder, keys: keys)
        let bytes = try SignedDocument.sign([
            "format": .string(formatName), "vault": .string(transcript.request.vault), "round": .string(transcript.request.config.id),
            "holder": .string(holder.rawValue), "transcript_sha256": .string(Hex.encode(transcript.digest)),
            "joint_key": .string(Hex.encode(transcript.jointKey.encoded(compressed: false))),
        ], with: keys.signing)
        return try CeremonyVerifiedFile(bytes: bytes, file: "the statement of \(holder)", transcript: transcript)
    }

    /// Reads a statement and checks it is the holder's, for this transcript and joint key.
    public init(bytes: [UInt8], file: String, transcript: CeremonyTranscript) throws {
        let doc = try SignedDocument(bytes: bytes, what: file, format: Self.formatName,
                                     required: ["vault", "round", "holder", "transcript_sha256", "joint_key"])
        let holder = try doc.principal("holder")
        let i = try transcript.request.index(of: holder)
        guard doc.isSigned(by: transcript.request.holders[i - 1].keys.signing) else {
            throw VaultError.integrity("\(file) is not signed by \(holder)'s enrolled key")
        }
        let digest = try doc.hex("transcript_sha256", count: 32), key = try doc.hex("joint_key", count: 65)
        guard try doc.string("vault") == transcript.request.vault, try doc.string("round") == transcript.request.config.id,
              digest == transcript.digest, key == transcript.jointKey.encoded(compressed: false) else {
            throw VaultError.integrity("\(holder) verified another transcript than this one (\(file)): a commit was changed or swapped")
        }
        self.holder = holder
        transcriptDigest = digest
        jointKey = key
        self.bytes = bytes
    }
}

/// A finished ceremony as the round record keeps it: the request, every holder's commit and
/// every holder's verified statement, each as the file it was. Read back, everything is checked
/// again (signatures, proofs, that each statement names this transcript and joint key).
public struct CeremonyRecord: Sendable {
    public static let formatName = "evalvault-ceremony/1"
    public let transcript: CeremonyTranscript
    public let statements: [CeremonyVerifiedFile]
    /// Canonical JSON: the format and the three kinds of file, base64.
    public let bytes: [UInt8]

    public var jointKey: P256.Point { transcript.jointKey }

    /// The files of a ceremony, checked: one commit and one verified statement from every holder.
    public init(request: CeremonyRequestFile, commits: [(bytes: [UInt8], file: String)], statements: [(bytes: [UInt8], file: String)]) throws {
        let transcript = try CeremonyTranscript(request: request, commits: try commits.map {
            try CeremonyCommitFile(bytes: $0.bytes, file: $0.file, request: request)
        })
        var byHolder: [PrincipalID: CeremonyVerifiedFile] = [:]
        for s in statements {
            let v = try CeremonyVerifiedFile(bytes: s.bytes, file: s.file, transcript: transcript)
            guard byHolder.updateValue(v, forKey: v.holder) == nil else { throw VaultError.usage("two statements from \(v.holder)") }
        }
        let missing = request.holders.map(\.id).filter { byHolder[$0] == nil }
        guard missing.isEmpty else {
            throw VaultError.usage("every holder must verify the ceremony; missing the statement of \(missing.map(\.rawValue).joined(separator: ", "))")
        }
        self.transcript = transcript
        self.statements = request.holders.map { byHolder[$0.id]! }
        bytes = CanonicalJSON.encode(.object([
            "format": .string(Self.formatName), "request": .string(Base64.encode(request.bytes)),
            "commits": .array(transcript.commits.map { .string(Base64.encode($0.bytes)) }),
            "statements": .array(self.statements.map { .string(Base64.encode($0.bytes)) }),
        ]))
    }

    /// Reads a stored record back, checking all of it.
    public init(bytes: [UInt8]) throws {
        let bad = VaultError.integrity("a stored key ceremony is malformed")
        guard let v = try? JSONParser.parse(bytes, integersOnly: true), v["format"]?.stringValue == Self.formatName,
              let request = v["request"]?.stringValue.flatMap(Base64.decode),
              let commits = v["commits"]?.arrayValue?.compactMap({ $0.stringValue.flatMap(Base64.decode) }),
              let statements = v["statements"]?.arrayValue?.compactMap({ $0.stringValue.flatMap(Base64.decode) }) else { throw bad }
        let r = try CeremonyRequestFile(bytes: request, file: "the ceremony request")
        try self.init(request: r, commits: commits.map { ($0, "a ceremony commit") }, statements: statements.map { ($0, "a ceremony statement") })
        guard self.bytes == bytes else { throw bad }
    }
}

/// The holder's side of a ceremony on its own machine (`ceremony commit`, `ceremony verify`):
/// no vault, its key file and its client state, where the chair's key is pinned on first use
/// as for approvals, so a request signed by any other key is refused.
extension HolderClient {
    /// A ceremony request read and checked against this client's chair pin; `firstUse` when
    /// nothing was pinned for its vault (committing pins the request's key).
    public func ceremonyRequest(_ bytes: [UInt8], file: String) throws -> (request: CeremonyRequestFile, firstUse: Bool) {
        let request = try CeremonyRequestFile(bytes: bytes, file: file)
        guard let known = try state.load(vaultID: request.vault), let pinned = known.chairKey else { return (request, true) }
        guard pinned == request.requesterKeys.signing else {
            throw VaultError.integrity("\(file) is signed with key \(Base64.encode(request.requesterKeys.signing.rawRepresentation)), but this client pinned chair \(known.chairID ?? "?") with key \(Base64.encode(pinned.rawRepresentation)) for vault \(request.vault): not your vault's chair, or a forged request (compare fingerprints by voice)")
        }
        return (request, false)
    }

    /// `ceremony commit`: this holder's commit file, pinning the chair's key on first use.
    public func commit(_ request: CeremonyRequestFile, firstUse: Bool, as holder: PrincipalID, keys: PrivateKeys) throws -> CeremonyCommitFile {
        let commit = try CeremonyCommitFile.make(request: request, holder: holder, keys: keys)
        if firstUse {
            var pin = LogState(vaultID: request.vault)
            pin.chairKey = request.requesterKeys.signing
            try state.save(pin)
        }
        return commit
    }
}
