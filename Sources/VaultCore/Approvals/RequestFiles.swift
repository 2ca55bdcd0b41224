import Foundation
import VaultCrypto

// The files that pass between the chair and a round's reveal holders (docs/requests.md): an open
// request and a reveal request, made and signed by the chair, and a holder's approval of one of
// them. All three are canonical JSON (RFC 8785) plus LF, with a `format` member, signed (Ed25519)
// over the canonical JSON of every other member, as result statements are.

/// A signed canonical-JSON document read strictly: the format it claims, exactly the members it
/// may have, a 64-byte signature over the rest. Why strict: what a holder is shown and what it
/// signs must be the same bytes; an unexpected member could say something the display does not.
struct SignedDocument {
    /// "the open request open.req": how messages name the file.
    let what: String
    /// Every member but `signature`: the signed body.
    let body: [String: JSONValue]
    let signature: [UInt8]
    /// SHA-256 of the canonical JSON of the whole document, signature included: what approvals bind.
    let digest: [UInt8]

    init(bytes: [UInt8], what: String, format: String, required: Set<String>, optional: Set<String> = []) throws {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes, integersOnly: true) } catch {
            throw VaultError.invalidData("\(what) is not valid JSON (\(error))")
        }
        guard case .object(var members) = value, members["format"]?.stringValue == format else {
            throw VaultError.invalidData("\(what) is not an \(format) file")
        }
        self.what = what
        let present = Set(members.keys), allowed = required.union(optional).union(["format", "signature"])
        let missing = required.union(["signature"]).subtracting(present)
        guard missing.isEmpty else { throw VaultError.integrity("\(what) lacks \(missing.sorted().joined(separator: ", "))") }
        let extra = present.subtracting(allowed)
        guard extra.isEmpty else { throw VaultError.integrity("\(what) has unexpected members: \(extra.sorted().map { String($0.prefix(40)) }.joined(separator: ", "))") }
        digest = SHA256.hash(data: CanonicalJSON.encode(value))
        guard let sig = members.removeValue(forKey: "signature")?.stringValue.flatMap(Base64.decode),
              sig.count == Curve25519.Signing.signatureByteCount else {
            throw VaultError.integrity("\(what) has a malformed signature")
        }
        signature = sig
        body = members
    }

    func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
        key.isValidSignature(signature, for: CanonicalJSON.encode(.object(body)))
    }

    func malformed(_ member: String) -> VaultError { .integrity("\(what) has a malformed \(member)") }

    func string(_ key: String) throws -> String {
        guard let s = body[key]?.stringValue else { throw malformed(key) }
        return s
    }

    func integer(_ key: String, in range: ClosedRange<Int64>) throws -> Int {
        guard let i = body[key]?.integerValue, range.contains(i) else { throw malformed(key) }
        return Int(i)
    }

    func principal(_ key: String) throws -> PrincipalID {
        guard let s = body[key]?.stringValue, PrincipalID.isValid(s) else { throw malformed(key) }
        return try PrincipalID(s)
    }

    func base64(_ key: String, count: Int? = nil, in object: [String: JSONValue]? = nil) throws -> [UInt8] {
        guard let b = (object ?? body)[key]?.stringValue.flatMap(Base64.decode), count.map({ b.count == $0 }) ?? true else { throw malformed(key) }
        return b
    }

    func hex(_ key: String, count: Int) throws -> [UInt8] {
        guard let b = body[key]?.stringValue.flatMap(Hex.decode), b.count == count else { throw malformed(key) }
        return b
    }

    /// The signer's two public keys (members `requester_key`, `requester_x25519`).
    func requesterKeys() throws -> PublicKeys {
        do { return try PublicKeys(agreementRaw: try base64("requester_x25519", count: 32), signingRaw: try base64("requester_key", count: 32)) } catch {
            throw malformed("requester key")
        }
    }

    /// Signs `body` (which must not hold `signature`) and returns the file's bytes.
    static func sign(_ body: [String: JSONValue], with key: Curve25519.Signing.PrivateKey) throws -> [UInt8] {
        var all = body
        all["signature"] = .string(Base64.encode(try key.signature(for: CanonicalJSON.encode(.object(body)))))
        return CanonicalJSON.encode(.object(all)) + [0x0A]
    }

    /// A vault id names a file in a holder's state folder: exactly what `init` makes, never a path.
    static func isVaultID(_ s: String) -> Bool {
        s.utf8.count == 32 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// One holder's wrap of the round key (k = 1, purpose `round-key`) or of its Shamir share
/// (k > 1, `round-share`): HPKE to the holder's X25519 key, exactly as vault.db stores it.
/// Encrypted to the holder, so it is no secret in a file.
public struct HolderWrap: Sendable, Equatable {
    public let holder: PrincipalID
    public let purpose: String
    public let enc: [UInt8]
    public let ct: [UInt8]

    /// The purpose of a round's wraps for threshold k.
    static func purpose(threshold k: Int) -> String { k == 1 ? "round-key" : "round-share" }

    /// The plaintext size of a piece: a 32-byte key, or x ‖ 32 bytes of y.
    static func pieceSize(threshold k: Int) -> Int { k == 1 ? 32 : 33 }

    var json: JSONValue {
        .object(["holder": .string(holder.rawValue), "purpose": .string(purpose), "enc": .string(Base64.encode(enc)), "ct": .string(Base64.encode(ct))])
    }

    /// The list of a request: exactly one wrap per holder, in the round's holder order, each of
    /// the purpose and size threshold k gives.
    static func list(_ value: JSONValue?, holders: [PrincipalID], threshold k: Int, in doc: SignedDocument) throws -> [HolderWrap] {
        guard let items = value?.arrayValue, items.count == holders.count else { throw doc.malformed("wraps (one per holder)") }
        return try zip(items, holders).map { item, holder in
            guard case .object(let o) = item, Set(o.keys) == ["holder", "purpose", "enc", "ct"], o["holder"]?.stringValue == holder.rawValue,
                  o["purpose"]?.stringValue == purpose(threshold: k) else { throw doc.malformed("wrap for \(holder)") }
            let enc = try doc.base64("enc", count: HPKE.encapsulatedKeyByteCount, in: o)
            let ct = try doc.base64("ct", count: pieceSize(threshold: k) + AES.GCM.tagByteCount, in: o)
            return HolderWrap(holder: holder, purpose: purpose(threshold: k), enc: enc, ct: ct)
        }
    }
}

/// `round open R --request-out FILE`: what the chair asks the round's reveal holders to approve —
/// the round as it will open (definition, panel, policy version and a fresh public key) — and
/// everything needed to complete the open later: the private half of that key, wrapped (k = 1)
/// or split and wrapped (k > 1) to each holder, exactly as vault.db will store it. No secret
/// remains outside those wraps: the chair keeps nothing between request and completion.
///
/// A holder approves by signing `Round.openApprovalBytes` over `recordSHA256`, which it
/// recomputes from `round` itself, so it signs exactly the record it was shown.
public struct OpenRequestFile: Sendable {
    public static let formatName = "evalvault-open-request/1"
    public let vault: String
    /// The round as it opens: the record whose SHA-256 the holders sign.
    public let round: Round
    /// Hex SHA-256 of `round.signedBytes(vaultID:)`.
    public let recordSHA256: String
    public let wraps: [HolderWrap]
    public let requester: PrincipalID
    public let requesterKeys: PublicKeys
    public let created: String
    /// SHA-256 of the whole signed request: approvals name it.
    public let digest: [UInt8]
    /// The file as written (canonical JSON + LF).
    public let bytes: [UInt8]

    public var holders: [PrincipalID] { round.config.reveal.holders }
    public var threshold: Int { round.config.reveal.threshold }

    static func make(vault: String, round: Round, wraps: [HolderWrap], requester: Actor, created: String) throws -> OpenRequestFile {
        var fields: [String: JSONValue] = [
            "config": round.config.canonicalJSON, "state": .string(round.state.rawValue),
            "policy_version": .integer(Int64(round.policyVersion ?? 0)),
            "public_key": .string(Base64.encode(round.publicKey?.rawRepresentation ?? [])),
            "version": .integer(Int64(round.version)), "panel": .array(round.panel.map { .string($0.rawValue) }),
        ]
        // A tally round's key is its ceremony's: the holders check it against what they verified.
        if let ceremony = round.ceremony { fields["ceremony"] = .string(Base64.encode(ceremony)) }
        let record: JSONValue = .object(fields)
        let bytes = try SignedDocument.sign([
            "format": .string(formatName), "vault": .string(vault), "round": .string(round.id), "round_record": record,
            "round_record_sha256": .string(Hex.encode(SHA256.hash(data: round.signedBytes(vaultID: vault)))),
            "wraps": .array(wraps.map(\.json)), "requester": .string(requester.id.rawValue),
            "requester_key": .string(Base64.encode(requester.principal.publicKeys.signing.rawRepresentation)),
            "requester_x25519": .string(Base64.encode(requester.principal.publicKeys.agreement.rawRepresentation)),
            "created": .string(created),
        ], with: requester.keys.signing)
        return try OpenRequestFile(bytes: bytes, file: "the open request")
    }

    /// Reads a request and checks it is whole: its chair's signature (against the key it names:
    /// whether that key is trusted is for the reader to decide), the round record it shows
    /// against the hash the holders sign, and one wrap per holder.
    public init(bytes: [UInt8], file: String) throws {
        let doc = try SignedDocument(bytes: bytes, what: file, format: Self.formatName,
                                     required: ["vault", "round", "round_record", "round_record_sha256", "wraps", "requester", "requester_key",
                                                "requester_x25519", "created"])
        let vault = try doc.string("vault"), roundID = try doc.string("round")
        guard SignedDocument.isVaultID(vault) else { throw doc.malformed("vault id") }
        guard Identifier.isValid(roundID) else { throw doc.malformed("round id") }
        requesterKeys = try doc.requesterKeys()
        guard doc.isSigned(by: requesterKeys.signing) else {
            throw VaultError.integrity("\(file) does not match its signature (changed after the chair signed it)")
        }
        guard case .object(let r)? = doc.body["round_record"],
              Set(r.keys).subtracting(["ceremony"]) == ["config", "state", "policy_version", "public_key", "version", "panel"],
              let configJSON = r["config"], r["state"]?.stringValue == RoundState.open.rawValue,
              let policyVersion = r["policy_version"]?.integerValue, policyVersion >= 1,
              let version = r["version"]?.integerValue, version >= 2,
              let panelIDs = r["panel"]?.arrayValue?.map(\.stringValue), panelIDs.allSatisfy({ $0.map(PrincipalID.isValid) == true }) else {
            throw doc.malformed("round record")
        }
        let config: RoundConfig
        do { config = try RoundConfig(canonical: configJSON) } catch { throw doc.malformed("round definition") }
        // What is shown is what is hashed: the definition must be in its one canonical form.
        guard config.canonicalJSON == configJSON, config.id == roundID, !config.reveal.holders.isEmpty,
              Set(config.reveal.holders).count == config.reveal.holders.count,
              (1...config.reveal.holders.count).contains(config.reveal.threshold) else { throw doc.malformed("round definition") }
        // A sealed round has a public key and no ceremony; a tally round the other way round.
        let publicKey: Curve25519.KeyAgreement.PublicKey?
        let ceremony: [UInt8]?
        if config.mode == .tally {
            guard try doc.base64("public_key", count: 0, in: r).isEmpty, let c = try? doc.base64("ceremony", in: r) else { throw doc.malformed("round ceremony") }
            publicKey = nil
            ceremony = c
        } else {
            guard r["ceremony"] == nil else { throw doc.malformed("round record") }
            do { publicKey = try .init(rawRepresentation: try doc.base64("public_key", count: 32, in: r)) } catch { throw doc.malformed("round public key") }
            ceremony = nil
        }
        let round = Round(config: config, state: .open, policyVersion: Int(policyVersion), publicKey: publicKey, version: Int(version),
                          panel: try panelIDs.map { try PrincipalID($0!) }, ceremony: ceremony)
        let recordSHA256 = Hex.encode(SHA256.hash(data: round.signedBytes(vaultID: vault)))
        guard try doc.string("round_record_sha256") == recordSHA256 else {
            throw VaultError.integrity("\(file): its round record does not hash to the SHA-256 it asks the holders to sign")
        }
        self.vault = vault
        self.round = round
        self.recordSHA256 = recordSHA256
        if config.mode == .tally {
            guard doc.body["wraps"]?.arrayValue?.isEmpty == true else { throw doc.malformed("wraps (a tally round has none)") }
            wraps = []
        } else {
            wraps = try HolderWrap.list(doc.body["wraps"], holders: config.reveal.holders, threshold: config.reveal.threshold, in: doc)
        }
        requester = try doc.principal("requester")
        created = try doc.string("created")
        digest = doc.digest
        self.bytes = bytes
    }
}

/// `reveal request --round R …`: what the chair asks the round's reveal holders to release their
/// key pieces for — one or more reveals of a closed round, bound to the round's manifest root —
/// with what each holder needs and no vault: its wrap from vault.db, and a fresh ephemeral X25519
/// key to encrypt its piece to. The ephemeral private key travels only HPKE-wrapped to the chair
/// (`ephemeralWrap`), so the chair keeps no secret between request and completion, and only the
/// chair can open what the holders release.
public struct RevealRequestFile: Sendable {
    public static let formatName = "evalvault-reveal-request/1"

    /// One reveal asked for; `declared` says whether the round declared exactly it.
    public struct Asked: Sendable, Equatable {
        public let reveal: DeclaredReveal
        public let declared: Bool

        var json: JSONValue {
            guard case .object(var o) = reveal.canonicalJSON else { preconditionFailure("a declaration is an object") }
            o["declared"] = .bool(declared)
            return .object(o)
        }
    }

    public let vault: String
    public let round: String
    public let reveals: [Asked]
    public let manifestRoot: [UInt8]
    public let manifestBatches: Int
    public let manifestScores: Int
    public let roundPublicKey: Curve25519.KeyAgreement.PublicKey
    public let holders: [PrincipalID]
    public let threshold: Int
    public let wraps: [HolderWrap]
    /// Each holder encrypts its piece to this key (HPKE), and to nothing else.
    public let ephemeralKey: Curve25519.KeyAgreement.PublicKey
    /// The ephemeral private key, HPKE-wrapped to the requester's X25519 key.
    public let ephemeralWrap: (enc: [UInt8], ct: [UInt8])
    public let requester: PrincipalID
    public let requesterKeys: PublicKeys
    public let created: String
    public let digest: [UInt8]
    public let bytes: [UInt8]

    /// The most reveals one request may carry (a report asks two).
    static let maxReveals = 16

    static func make(vault: String, round: Round, reveals: [Asked], manifest: Manifest, wraps: [HolderWrap],
                     ephemeralKey: Curve25519.KeyAgreement.PublicKey, ephemeralWrap: (enc: [UInt8], ct: [UInt8]),
                     requester: Actor, created: String) throws -> RevealRequestFile {
        let bytes = try SignedDocument.sign([
            "format": .string(formatName), "vault": .string(vault), "round": .string(round.id),
            "reveals": .array(reveals.map(\.json)),
            "manifest_root": .string(Hex.encode(manifest.root)), "manifest_batches": .integer(Int64(manifest.items.count)),
            "manifest_scores": .integer(Int64(manifest.scoreCount)),
            "round_public_key": .string(Base64.encode(round.publicKey?.rawRepresentation ?? [])),
            "holders": .array(round.config.reveal.holders.map { .string($0.rawValue) }),
            "threshold": .integer(Int64(round.config.reveal.threshold)), "wraps": .array(wraps.map(\.json)),
            "ephemeral_key": .string(Base64.encode(ephemeralKey.rawRepresentation)),
            "ephemeral_wrap": .object(["enc": .string(Base64.encode(ephemeralWrap.enc)), "ct": .string(Base64.encode(ephemeralWrap.ct))]),
            "requester": .string(requester.id.rawValue),
            "requester_key": .string(Base64.encode(requester.principal.publicKeys.signing.rawRepresentation)),
            "requester_x25519": .string(Base64.encode(requester.principal.publicKeys.agreement.rawRepresentation)),
            "created": .string(created),
        ], with: requester.keys.signing)
        return try RevealRequestFile(bytes: bytes, file: "the reveal request")
    }

    public init(bytes: [UInt8], file: String) throws {
        let doc = try SignedDocument(bytes: bytes, what: file, format: Self.formatName,
                                     required: ["vault", "round", "reveals", "manifest_root", "manifest_batches", "manifest_scores",
                                                "round_public_key", "holders", "threshold", "wraps", "ephemeral_key", "ephemeral_wrap",
                                                "requester", "requester_key", "requester_x25519", "created"])
        vault = try doc.string("vault")
        round = try doc.string("round")
        guard SignedDocument.isVaultID(vault) else { throw doc.malformed("vault id") }
        guard Identifier.isValid(round) else { throw doc.malformed("round id") }
        requesterKeys = try doc.requesterKeys()
        guard doc.isSigned(by: requesterKeys.signing) else {
            throw VaultError.integrity("\(file) does not match its signature (changed after the chair signed it)")
        }
        guard let list = doc.body["reveals"]?.arrayValue, (1...Self.maxReveals).contains(list.count) else { throw doc.malformed("reveals") }
        reveals = try list.map { item in
            guard case .object(let o) = item, Set(o.keys).isSubset(of: ["stat", "by", "precision", "advance", "trim", "declared"]),
                  let stat = o["stat"]?.stringValue.flatMap(Statistic.init(rawValue:)),
                  let by = o["by"]?.arrayValue?.compactMap(\.stringValue), (1...2).contains(by.count), Set(by).count == by.count,
                  Set(by).isSubset(of: ["team", "criterion"]),
                  let precision = o["precision"]?.integerValue, (0...6).contains(precision), case .bool(let declared)? = o["declared"] else {
                throw doc.malformed("reveal")
            }
            var advance: Int?, trim: Fixed?
            if let a = o["advance"] { guard let i = a.integerValue, (0...1_000_000).contains(i) else { throw doc.malformed("advance") }; advance = Int(i) }
            if let t = o["trim"] {
                guard let f = t.stringValue.flatMap(Fixed.init), f.micros >= 0, f.micros < Fixed.scale / 2 else { throw doc.malformed("trim") }
                trim = f
            }
            return Asked(reveal: DeclaredReveal(stat: stat, by: by, precision: Int(precision), advance: advance, trim: trim), declared: declared)
        }
        manifestRoot = try doc.hex("manifest_root", count: 32)
        manifestBatches = try doc.integer("manifest_batches", in: 0...Int64(Int32.max))
        manifestScores = try doc.integer("manifest_scores", in: 0...Int64.max)
        do { roundPublicKey = try .init(rawRepresentation: try doc.base64("round_public_key", count: 32)) } catch { throw doc.malformed("round public key") }
        guard let ids = doc.body["holders"]?.arrayValue?.compactMap(\.stringValue), (1...255).contains(ids.count), Set(ids).count == ids.count,
              ids.allSatisfy(PrincipalID.isValid) else { throw doc.malformed("holders") }
        holders = try ids.map { try PrincipalID($0) }
        threshold = try doc.integer("threshold", in: 1...Int64(holders.count))
        wraps = try HolderWrap.list(doc.body["wraps"], holders: holders, threshold: threshold, in: doc)
        do { ephemeralKey = try .init(rawRepresentation: try doc.base64("ephemeral_key", count: 32)) } catch { throw doc.malformed("ephemeral key") }
        guard case .object(let w)? = doc.body["ephemeral_wrap"], Set(w.keys) == ["enc", "ct"] else { throw doc.malformed("ephemeral_wrap") }
        ephemeralWrap = (try doc.base64("enc", count: HPKE.encapsulatedKeyByteCount, in: w), try doc.base64("ct", count: 32 + AES.GCM.tagByteCount, in: w))
        requester = try doc.principal("requester")
        created = try doc.string("created")
        digest = doc.digest
        self.bytes = bytes
    }
}

/// A request of either kind, as a holder receives it.
public enum RequestFile: Sendable {
    case open(OpenRequestFile)
    case reveal(RevealRequestFile)
    /// A tally round's reveal: its holders release partial decryptions of cell totals.
    case tally(TallyRevealRequestFile)

    /// The largest request file read. A request holds the round's definition (a round file is at
    /// most 1 MiB), its panel and one wrap per holder: 8 MiB is far above any real one.
    public static let maxFileSize = 8 << 20

    public static func parse(_ bytes: [UInt8], file: String) throws -> RequestFile {
        let format: String?
        do { format = try JSONParser.parse(bytes, integersOnly: true)["format"]?.stringValue } catch {
            throw VaultError.invalidData("\(file) is not valid JSON (\(error))")
        }
        switch format {
        case OpenRequestFile.formatName: return .open(try OpenRequestFile(bytes: bytes, file: file))
        case RevealRequestFile.formatName: return .reveal(try RevealRequestFile(bytes: bytes, file: file))
        case TallyRevealRequestFile.formatName: return .tally(try TallyRevealRequestFile(bytes: bytes, file: file))
        default: throw VaultError.invalidData("\(file) is not an evalvault request (\(OpenRequestFile.formatName) or \(RevealRequestFile.formatName))")
        }
    }

    public var kind: ApprovalFile.Kind {
        switch self { case .open: .open; case .reveal: .reveal; case .tally: .tally }
    }
    public var vault: String {
        switch self { case .open(let r): r.vault; case .reveal(let r): r.vault; case .tally(let r): r.vault }
    }
    public var round: String {
        switch self { case .open(let r): r.round.id; case .reveal(let r): r.round; case .tally(let r): r.round }
    }
    public var requester: PrincipalID {
        switch self { case .open(let r): r.requester; case .reveal(let r): r.requester; case .tally(let r): r.requester }
    }
    public var requesterKeys: PublicKeys {
        switch self { case .open(let r): r.requesterKeys; case .reveal(let r): r.requesterKeys; case .tally(let r): r.requesterKeys }
    }
    public var holders: [PrincipalID] {
        switch self { case .open(let r): r.holders; case .reveal(let r): r.holders; case .tally(let r): r.holders }
    }
    public var threshold: Int {
        switch self { case .open(let r): r.threshold; case .reveal(let r): r.threshold; case .tally(let r): r.threshold }
    }
    public var wraps: [HolderWrap] {
        switch self { case .open(let r): r.wraps; case .reveal(let r): r.wraps; case .tally: [] }
    }
    public var digest: [UInt8] {
        switch self { case .open(let r): r.digest; case .reveal(let r): r.digest; case .tally(let r): r.digest }
    }
    public var publicKey: Curve25519.KeyAgreement.PublicKey? {
        switch self { case .open(let r): r.round.publicKey; case .reveal(let r): r.roundPublicKey; case .tally: nil }
    }
    /// The file as written.
    public var bytes: [UInt8] {
        switch self { case .open(let r): r.bytes; case .reveal(let r): r.bytes; case .tally(let r): r.bytes }
    }
    /// The reveals a reveal request asks for (none for an open request).
    public var reveals: [RevealRequestFile.Asked] {
        switch self { case .open: []; case .reveal(let r): r.reveals; case .tally(let r): r.reveals }
    }
    /// The manifest root a reveal request is bound to; nil for an open request.
    public var manifestRoot: [UInt8]? {
        switch self { case .open: nil; case .reveal(let r): r.manifestRoot; case .tally(let r): r.manifestRoot }
    }
}

/// A holder's signed consent to one request (`evalvault approve`), bound to it by its SHA-256.
/// For an open request it carries the holder's signature over the opened round's record (what
/// the round's open entry records and every client's replay checks). For a reveal request it
/// carries the manifest root the holder approved for and its key piece, HPKE-encrypted to the
/// request's ephemeral key only (info: vault, round and the request's SHA-256; AAD: holder and
/// purpose), so the piece is useless to anyone but the chair that made this request.
public struct ApprovalFile: Sendable {
    public static let formatName = "evalvault-approval/1"
    /// An approval is a few hundred bytes; a tally round's carries about 600 bytes per cell.
    public static let maxFileSize = 64 << 20

    public enum Kind: String, Sendable { case open, reveal, tally }

    public let kind: Kind
    public let vault: String
    public let round: String
    /// Hex SHA-256 of the request approved.
    public let requestSHA256: String
    public let holder: PrincipalID
    /// open: the holder's Ed25519 signature over `Round.openApprovalBytes`.
    public let roundSignature: [UInt8]?
    /// reveal: the manifest root the holder approved for, and its encrypted piece.
    public let manifestRoot: [UInt8]?
    public let piece: HolderWrap?
    /// tally: the holder's partial decryption of each cell total, with its proof.
    public let partials: [(team: String, criterion: String, decryption: Tally.PartialDecryption)]
    public let bytes: [UInt8]
    let document: SignedDocument

    static func make(kind: Kind, vault: String, round: String, requestDigest: [UInt8], holder: PrincipalID, roundSignature: [UInt8]? = nil,
                     manifestRoot: [UInt8]? = nil, piece: HolderWrap? = nil,
                     partials: [(team: String, criterion: String, decryption: Tally.PartialDecryption)] = [],
                     signer: Curve25519.Signing.PrivateKey) throws -> [UInt8] {
        var body: [String: JSONValue] = [
            "format": .string(formatName), "kind": .string(kind.rawValue), "vault": .string(vault), "round": .string(round),
            "request_sha256": .string(Hex.encode(requestDigest)), "holder": .string(holder.rawValue),
        ]
        if let roundSignature { body["round_signature"] = .string(Base64.encode(roundSignature)) }
        if let manifestRoot { body["manifest_root"] = .string(Hex.encode(manifestRoot)) }
        if let piece { body["piece"] = .object(["purpose": .string(piece.purpose), "enc": .string(Base64.encode(piece.enc)), "ct": .string(Base64.encode(piece.ct))]) }
        if kind == .tally {
            func hex(_ p: P256.Point) -> JSONValue { .string(Hex.encode(p.encoded(compressed: false))) }
            body["partials"] = .array(partials.map { p in
                .object(["team": .string(p.team), "criterion": .string(p.criterion), "share": hex(p.decryption.share), "a": hex(p.decryption.a),
                         "b": hex(p.decryption.b), "z": .string(Hex.encode(p.decryption.z.rawRepresentation))])
            })
        }
        return try SignedDocument.sign(body, with: signer)
    }

    public init(bytes: [UInt8], file: String) throws {
        let doc = try SignedDocument(bytes: bytes, what: file, format: Self.formatName,
                                     required: ["kind", "vault", "round", "request_sha256", "holder"],
                                     optional: ["round_signature", "manifest_root", "piece", "partials"])
        guard let kind = doc.body["kind"]?.stringValue.flatMap(Kind.init(rawValue:)) else { throw doc.malformed("kind") }
        self.kind = kind
        vault = try doc.string("vault")
        round = try doc.string("round")
        guard SignedDocument.isVaultID(vault), Identifier.isValid(round) else { throw doc.malformed("vault or round id") }
        requestSHA256 = Hex.encode(try doc.hex("request_sha256", count: 32))
        holder = try doc.principal("holder")
        switch kind {
        case .open:
            guard doc.body["manifest_root"] == nil, doc.body["piece"] == nil, doc.body["partials"] == nil else { throw doc.malformed("open approval") }
            roundSignature = try doc.base64("round_signature", count: Curve25519.Signing.signatureByteCount)
            manifestRoot = nil
            piece = nil
            partials = []
        case .tally:
            guard doc.body["round_signature"] == nil, doc.body["piece"] == nil, let list = doc.body["partials"]?.arrayValue else { throw doc.malformed("tally approval") }
            roundSignature = nil
            piece = nil
            manifestRoot = try doc.hex("manifest_root", count: 32)
            func point(_ v: JSONValue?) throws -> P256.Point {
                guard let b = v?.stringValue.flatMap(Hex.decode), let p = try? P256.Point(uncompressed: b) else { throw doc.malformed("partial decryption") }
                return p
            }
            partials = try list.map { p in
                guard case .object(let o) = p, Set(o.keys) == ["team", "criterion", "share", "a", "b", "z"], let team = o["team"]?.stringValue,
                      let criterion = o["criterion"]?.stringValue,
                      let z = o["z"]?.stringValue.flatMap(Hex.decode).flatMap(P256.Scalar.init(rawRepresentation:)) else { throw doc.malformed("partial decryption") }
                return (team, criterion, Tally.PartialDecryption(share: try point(o["share"]), a: try point(o["a"]), b: try point(o["b"]), z: z))
            }
        case .reveal:
            partials = []
            guard doc.body["round_signature"] == nil, doc.body["partials"] == nil, case .object(let p)? = doc.body["piece"], Set(p.keys) == ["purpose", "enc", "ct"],
                  let purpose = p["purpose"]?.stringValue, ["round-key", "round-share"].contains(purpose) else { throw doc.malformed("piece") }
            roundSignature = nil
            manifestRoot = try doc.hex("manifest_root", count: 32)
            // A piece is 32 (key) or 33 (share) bytes, plus the AEAD tag.
            let ct = try doc.base64("ct", in: p)
            guard ct.count == HolderWrap.pieceSize(threshold: purpose == "round-key" ? 1 : 2) + AES.GCM.tagByteCount else { throw doc.malformed("piece") }
            piece = HolderWrap(holder: holder, purpose: purpose, enc: try doc.base64("enc", count: HPKE.encapsulatedKeyByteCount, in: p), ct: ct)
        }
        document = doc
        self.bytes = bytes
    }

    /// Whether `key` (the holder's enrolled Ed25519 key) signed this approval.
    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool { document.isSigned(by: key) }
}

/// The HPKE labels of released pieces (design: Cryptography, signed encoding labels).
enum PieceLabels {
    /// info of a piece encrypted to a request's ephemeral key: binds vault, round and the request.
    static func pieceInfo(vault: String, round: String, requestDigest: [UInt8]) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/reveal-piece/v1")
        e.append(vault); e.append(round); e.append(requestDigest)
        return e.bytes
    }

    /// AAD of a piece: whose it is and what it is.
    static func pieceAAD(holder: PrincipalID, purpose: String) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/reveal-piece-aad/v1")
        e.append(holder.rawValue); e.append(purpose)
        return e.bytes
    }

    /// info of the ephemeral private key wrapped to the requester.
    static func ephemeralInfo(vault: String, round: String) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/reveal-ephemeral/v1")
        e.append(vault); e.append(round)
        return e.bytes
    }

    /// AAD of that wrap: the requester and the ephemeral public key it belongs to.
    static func ephemeralAAD(requester: PrincipalID, ephemeralKey: Curve25519.KeyAgreement.PublicKey) -> [UInt8] {
        var e = CanonicalEncoder(domain: "evalvault/reveal-ephemeral-aad/v1")
        e.append(requester.rawValue); e.append(ephemeralKey.rawRepresentation)
        return e.bytes
    }
}
