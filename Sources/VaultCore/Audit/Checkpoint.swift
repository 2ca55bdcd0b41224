import Foundation
import VaultCrypto

/// A tree head in the C2SP tlog-checkpoint format, signed as a C2SP signed note (design: Audit log):
///
///     evalvault/<vault id>
///     <tree size>
///     <base64 root hash>
///
///     — <signer name> <base64(key id ‖ Ed25519 signature)>
///
/// The signature covers the three body lines with their newlines. The key id is the first
/// 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), 0x01 being the Ed25519 signature type.
public struct Checkpoint: Sendable, Equatable {
    /// The largest checkpoint note file read (`audit verify --checkpoint`); a note is a few hundred bytes.
    public static let maxNoteSize = 64 << 10

    public let origin: String
    public let size: Int
    public let root: [UInt8]

    public init(vaultID: String, size: Int, root: [UInt8]) {
        self.init(origin: "evalvault/\(vaultID)", size: size, root: root)
    }

    init(origin: String, size: Int, root: [UInt8]) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    public var body: String { "\(origin)\n\(size)\n\(Base64.encode(root))\n" }

    public static func keyID(name: String, publicKey: Curve25519.Signing.PublicKey) -> [UInt8] {
        Array(SHA256.hash(data: Array(name.utf8) + [0x0A, 0x01] + publicKey.rawRepresentation).prefix(4))
    }

    /// The signed note text.
    public func signedNote(name: String, key: Curve25519.Signing.PrivateKey) throws -> String {
        let sig = try key.signature(for: Array(body.utf8))
        return body + "\n— \(name) \(Base64.encode(Self.keyID(name: name, publicKey: key.publicKey) + sig))\n"
    }

    /// A parsed note: the checkpoint and its signature lines.
    public struct Note: Sendable {
        public let checkpoint: Checkpoint
        public let signatures: [(name: String, keyID: [UInt8], signature: [UInt8])]
        public let text: String

        /// True when a signature line by `name` verifies with `key`.
        public func isSigned(by name: String, key: Curve25519.Signing.PublicKey) -> Bool {
            let id = Checkpoint.keyID(name: name, publicKey: key)
            return signatures.contains { $0.name == name && $0.keyID == id && key.isValidSignature($0.signature, for: Array(checkpoint.body.utf8)) }
        }
    }

    /// Parses a signed note strictly; any deviation from the format is an integrity error.
    public static func parse(note text: String) throws -> Note {
        let bad = { (why: String) in VaultError.integrity("the checkpoint is malformed: \(why)") }
        guard let split = text.range(of: "\n\n") else { throw bad("no blank line before the signatures") }
        let bodyText = String(text[..<split.lowerBound]) + "\n"
        let lines = bodyText.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard lines.count >= 3 else { throw bad("the body needs origin, size and root") }
        guard lines.count == 3 else { throw bad("unexpected extension lines in the body") }
        guard let size = Int(lines[1]), size >= 0, String(size) == lines[1] else { throw bad("the tree size is not a number") }
        guard let root = Base64.decode(lines[2]), root.count == 32 else { throw bad("the root is not a base64 SHA-256 hash") }
        let sigText = text[split.upperBound...]
        guard sigText.hasSuffix("\n") else { throw bad("the last signature line has no newline") }
        var sigs: [(String, [UInt8], [UInt8])] = []
        for line in sigText.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "—", !parts[1].isEmpty, let blob = Base64.decode(parts[2]), blob.count == 68 else {
                throw bad("a signature line is not '— <name> <base64>'")
            }
            sigs.append((String(parts[1]), Array(blob.prefix(4)), Array(blob.suffix(64))))
        }
        guard !sigs.isEmpty else { throw bad("no signature") }
        let cp = Checkpoint(origin: String(lines[0]), size: size, root: root)
        guard cp.body == bodyText else { throw bad("the body is not in canonical form") }
        return Note(checkpoint: cp, signatures: sigs, text: text)
    }
}
