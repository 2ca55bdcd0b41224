import Foundation
import Testing
@_spi(KnownAnswerTests) import VaultCrypto

/// RFC 9180 test vectors for DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, base mode.
@Suite("HPKE (RFC 9180)")
struct HPKETests {
    static func baseModeVectors() throws -> [[String: Any]] {
        let all = try #require(Vectors.json("hpke/x25519_sha256_aes256gcm.json") as? [[String: Any]])
        return all.filter { $0["mode"] as? Int == 0 && $0["kem_id"] as? Int == 32 && $0["kdf_id"] as? Int == 1 && $0["aead_id"] as? Int == 2 }
    }

    @Test("every mode-0 vector: key schedule, every encryption, exports")
    func knownAnswers() throws {
        // x25519_sha256_aes256gcm.json holds one vector per mode (0-3); mode 0's has 257
        // encryptions and 3 exports.
        let vectors = try Self.baseModeVectors()
        #expect(vectors.count == 1)
        var encryptions = 0, exports = 0
        for v in vectors {
            let skR = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: v.hex("skRm"))
            #expect(skR.publicKey.rawRepresentation == v.hex("pkRm"))
            let skE = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: v.hex("skEm"))
            var sender = try HPKE.Sender(recipientKey: skR.publicKey, info: v.hex("info"), ephemeralKey: skE)
            #expect(sender.encapsulatedKey == v.hex("enc"))
            #expect(sender.sharedSecretForTests.unsafeArray() == v.hex("shared_secret"))
            #expect(sender.keyForTests.unsafeArray() == v.hex("key"))
            #expect(sender.baseNonceForTests.unsafeArray() == v.hex("base_nonce"))
            #expect(sender.exporterSecretForTests.unsafeArray() == v.hex("exporter_secret"))

            var recipient = try HPKE.Recipient(privateKey: skR, encapsulatedKey: v.hex("enc"), info: v.hex("info"))
            let list = try #require(v["encryptions"] as? [[String: Any]])
            for (k, e) in list.enumerated() {
                #expect(sender.sequenceNumber == UInt64(k))
                let ct = try sender.seal(e.hex("pt"), authenticating: e.hex("aad"))
                #expect(ct == e.hex("ct"), "encryption \(k)")
                #expect(try recipient.open(e.hex("ct"), authenticating: e.hex("aad")).unsafeArray() == e.hex("pt"))
                #expect(try recipient.open(e.hex("ct"), sequenceNumber: UInt64(k), authenticating: e.hex("aad")).unsafeArray() == e.hex("pt"))
                encryptions += 1
            }
            for x in v["exports"] as? [[String: Any]] ?? [] {
                let l = try #require(x["L"] as? Int)
                #expect(try recipient.exportSecret(context: x.hex("exporter_context"), outputByteCount: l).unsafeArray() == x.hex("exported_value"))
                #expect(try sender.exportSecret(context: x.hex("exporter_context"), outputByteCount: l).unsafeArray() == x.hex("exported_value"))
                #expect(try HPKE.exportedSecret(privateKey: skR, encapsulatedKey: v.hex("enc"), info: v.hex("info"),
                                                context: x.hex("exporter_context"), outputByteCount: l).unsafeArray() == x.hex("exported_value"))
                exports += 1
            }
        }
        #expect(encryptions == 257 && exports == 3, "encryptions \(encryptions), exports \(exports)")
        print("RFC 9180 base mode: \(vectors.count) vector(s), \(encryptions) encryptions, \(exports) exports checked")
    }

    @Test("a message opened at the wrong position, with the wrong AAD or a flipped byte fails")
    func bindings() throws {
        let recipientKey = Curve25519.KeyAgreement.PrivateKey()
        var sender = try HPKE.Sender(recipientKey: recipientKey.publicKey, info: Array("info".utf8))
        let c0 = try sender.seal(Array("first".utf8), authenticating: [1])
        let c1 = try sender.seal(Array("second".utf8), authenticating: [2])
        let r = try HPKE.Recipient(privateKey: recipientKey, encapsulatedKey: sender.encapsulatedKey, info: Array("info".utf8))
        #expect(try r.open(c1, sequenceNumber: 1, authenticating: [2]).unsafeArray() == Array("second".utf8))
        #expect(throws: CryptoError.authenticationFailure) { try r.open(c1, sequenceNumber: 0, authenticating: [2]) }
        #expect(throws: CryptoError.authenticationFailure) { try r.open(c0, sequenceNumber: 0, authenticating: [9]) }
        var flipped = c0; flipped[0] ^= 1
        #expect(throws: CryptoError.authenticationFailure) { try r.open(flipped, sequenceNumber: 0, authenticating: [1]) }
        let other = Curve25519.KeyAgreement.PrivateKey()
        let wrong = try HPKE.Recipient(privateKey: other, encapsulatedKey: sender.encapsulatedKey, info: Array("info".utf8))
        #expect(throws: CryptoError.authenticationFailure) { try wrong.open(c0, sequenceNumber: 0, authenticating: [1]) }
        let wrongInfo = try HPKE.Recipient(privateKey: recipientKey, encapsulatedKey: sender.encapsulatedKey, info: [])
        #expect(throws: CryptoError.authenticationFailure) { try wrongInfo.open(c0, sequenceNumber: 0, authenticating: [1]) }
    }

    @Test("a reserved range seals exactly what sequential seals would, on any thread; its indexes are bounded and never reused")
    func reservedRange() throws {
        let vectors = try Self.baseModeVectors()
        #expect(vectors.count == 1)
        var sealed = 0
        for v in vectors {
            let skR = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: v.hex("skRm"))
            let skE = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: v.hex("skEm"))
            var sender = try HPKE.Sender(recipientKey: skR.publicKey, info: v.hex("info"), ephemeralKey: skE)
            let list = try #require(v["encryptions"] as? [[String: Any]])
            let range = try sender.reserve(list.count)
            #expect(range.sequenceNumbers == 0..<UInt64(list.count) && sender.sequenceNumber == UInt64(list.count))
            let recipient = try HPKE.Recipient(privateKey: skR, encapsulatedKey: v.hex("enc"), info: v.hex("info"))
            let opener = try recipient.makeOpener()
            // Sealed in reverse order, from two sealers: the vector's ciphertexts all the same.
            let sealers = [try range.makeSealer(), try range.makeSealer()]
            for (k, e) in list.enumerated().reversed() {
                let pt = e.hex("pt"), aad = e.hex("aad")
                var ct = [UInt8](repeating: 0, count: pt.count + 16)
                try pt.withUnsafeBytes { p in try aad.withUnsafeBytes { a in try ct.withUnsafeMutableBytes { try sealers[k % 2].seal(index: k, p, authenticating: a, into: $0) } } }
                #expect(ct == e.hex("ct"), "encryption \(k)")
                var out = [UInt8](repeating: 0, count: pt.count)
                let ok = ct.withUnsafeBytes { c in aad.withUnsafeBytes { a in out.withUnsafeMutableBytes { opener.open(c, sequenceNumber: UInt64(k), authenticating: a, into: $0) } } }
                #expect(ok && out == pt)
                var bent = ct; bent[bent.count - 1] ^= 1
                out = [UInt8](repeating: 7, count: pt.count)
                let refused = bent.withUnsafeBytes { c in aad.withUnsafeBytes { a in out.withUnsafeMutableBytes { opener.open(c, sequenceNumber: UInt64(k), authenticating: a, into: $0) } } }
                #expect(!refused && out.allSatisfy { $0 == 0 }, "a failed open leaves no plaintext")
                sealed += 1
            }
            // Outside the range: refused. The next sequential seal continues after the range.
            var room = [UInt8](repeating: 0, count: 17)
            #expect(throws: CryptoError.self) {
                try [UInt8](repeating: 1, count: 1).withUnsafeBytes { p in try room.withUnsafeMutableBytes { try sealers[0].seal(index: list.count, p, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: $0) } }
            }
            let next = try sender.seal([1], authenticating: [])
            #expect(try recipient.open(next, sequenceNumber: UInt64(list.count), authenticating: []).unsafeArray() == [1])
        }
        #expect(sealed == 257)
    }

    @Test("single-shot seal and open")
    func singleShot() throws {
        let k = Curve25519.KeyAgreement.PrivateKey()
        let (enc, ct) = try HPKE.seal(Array("round key".utf8), to: k.publicKey, info: [7], authenticating: [8])
        #expect(try HPKE.open(ct, encapsulatedKey: enc, using: k, info: [7], authenticating: [8]).unsafeArray() == Array("round key".utf8))
        #expect(throws: (any Error).self) { try HPKE.open(ct, encapsulatedKey: enc, using: k, info: [7], authenticating: [9]) }
    }
}
