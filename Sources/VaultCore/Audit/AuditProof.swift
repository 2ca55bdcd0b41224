import Foundation
import VaultCrypto

/// An RFC 9162 inclusion proof of one entry against a signed checkpoint, as `audit prove`
/// prints it and `audit verify --proof` checks it:
///
///     {"checkpoint":"<signed note>","chair":"<id>","chair_key":"<base64 Ed25519>","chair_x25519":"<base64>",
///      "entry":{…},"sig":"<base64>"|null,"index":N,"proof":["<base64 hash>",…]}
public enum AuditProof {
    /// The largest proof file `audit verify --proof` reads: one entry (an export line is at most
    /// 1 MiB), a checkpoint and at most 63 hashes fit with room to spare.
    public static let maxFileSize = 2 << 20

    /// Builds the proof for entry `seq` against the latest checkpoint.
    public static func make(vault: Vault, seq: Int, chair: Principal) throws -> JSONValue {
        guard let note = try vault.latestCheckpoint() else {
            throw VaultError.notFound("the vault has no checkpoint yet (run `evalvault audit checkpoint` as the chair)")
        }
        let size = note.checkpoint.size
        guard seq >= 0, seq < size else {
            throw VaultError.notFound("entry \(seq) is not covered by the latest checkpoint (size \(size)); run `evalvault audit checkpoint`")
        }
        let leaves = vault.leaves[..<size]
        let (entry, sig) = try vault.auditEntry(seq)
        return .object([
            "checkpoint": .string(note.text), "chair": .string(chair.id.rawValue),
            "chair_key": .string(Base64.encode(chair.publicKeys.signing.rawRepresentation)),
            "chair_x25519": .string(Base64.encode(chair.publicKeys.agreement.rawRepresentation)),
            "entry": entry, "sig": sig.map { .string(Base64.encode($0)) } ?? .null, "index": .integer(Int64(seq)),
            "proof": .array(Merkle.inclusionProof(index: seq, leafHashes: leaves).map { .string(Base64.encode($0)) }),
        ])
    }

    public struct Verified: Sendable {
        public let index: Int
        public let size: Int
        public let chair: String
        public let chairFingerprint: Fingerprint
    }

    /// Checks a proof file: the checkpoint's signature by the named chair key, and the path
    /// from the entry's leaf hash to the checkpoint's root.
    public static func verify(_ bytes: [UInt8]) throws -> Verified {
        let bad = { (why: String) in VaultError.integrity("the proof \(why)") }
        let v: JSONValue
        do { v = try JSONParser.parse(bytes, integersOnly: true) } catch { throw bad("is not valid JSON (\(error))") }
        guard let text = v["checkpoint"]?.stringValue, let chair = v["chair"]?.stringValue,
              let keyRaw = v["chair_key"]?.stringValue.flatMap(Base64.decode),
              let agreementRaw = v["chair_x25519"]?.stringValue.flatMap(Base64.decode), let entry = v["entry"], case .object = entry,
              let index = v["index"]?.integerValue, let path = v["proof"]?.arrayValue else { throw bad("lacks a field") }
        let key: Curve25519.Signing.PublicKey
        do { key = try Curve25519.Signing.PublicKey(rawRepresentation: keyRaw) } catch { throw bad("has a malformed chair key") }
        let note = try Checkpoint.parse(note: text)
        guard note.isSigned(by: chair, key: key) else { throw bad("has a checkpoint not signed by \(chair)'s key") }
        guard entry["seq"]?.integerValue == index else { throw bad("is for entry \(entry["seq"]?.integerValue ?? -1), not \(index)") }
        let hashes = try path.map { h -> [UInt8] in
            guard let b = h.stringValue.flatMap(Base64.decode), b.count == 32 else { throw bad("has a malformed hash") }
            return b
        }
        let leaf = Merkle.leafHash(CanonicalJSON.encode(entry))
        guard Merkle.verifyInclusion(leafHash: leaf, index: Int(index), treeSize: note.checkpoint.size, proof: hashes, root: note.checkpoint.root) else {
            throw bad("does not lead from entry \(index) to the checkpoint's root")
        }
        return Verified(index: Int(index), size: note.checkpoint.size, chair: chair,
                        chairFingerprint: try PublicKeys(agreementRaw: agreementRaw, signingRaw: keyRaw).fingerprint)
    }
}
