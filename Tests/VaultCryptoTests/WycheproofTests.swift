import Foundation
import Testing
import VaultCrypto

/// Project Wycheproof vectors (C2SP/wycheproof): every valid case passes, every invalid case is
/// rejected; "acceptable" cases may go either way (design: Cryptography, Tests/Vectors/README.md).
@Suite("Wycheproof known answers")
struct WycheproofTests {
    @Test("AES-256-GCM, 96-bit IV, 128-bit tag")
    func aesGCM() throws {
        let cases = try Vectors.wycheproof("aes_gcm_test.json") { g in
            g["keySize"] as? Int == 256 && g["ivSize"] as? Int == 96 && g["tagSize"] as? Int == 128
        }
        // The group with these sizes in aes_gcm_test.json: 39 valid and 27 invalid cases, none "acceptable".
        #expect(cases.count == 66)
        var valid = 0, invalid = 0
        for (_, t) in cases {
            let key = SymmetricKey(data: t.hex("key"))
            let nonce = try AES.GCM.Nonce(data: t.hex("iv"))
            let box = try AES.GCM.SealedBox(nonce: nonce, ciphertext: t.hex("ct"), tag: t.hex("tag"))
            let opened = try? AES.GCM.open(box, using: key, authenticating: t.hex("aad"))
            switch t.result {
            case "valid":
                valid += 1
                #expect(opened?.unsafeArray() == t.hex("msg"), "tcId \(t.tcID) must open")
                let sealed = try AES.GCM.seal(t.hex("msg"), using: key, nonce: nonce, authenticating: t.hex("aad"))
                #expect(sealed.ciphertext == t.hex("ct") && sealed.tag == t.hex("tag"), "tcId \(t.tcID) must seal to the vector")
            case "invalid":
                invalid += 1
                #expect(opened == nil, "tcId \(t.tcID) must be rejected")
            default:
                Issue.record("unexpected result \(t.result) in tcId \(t.tcID)")
            }
        }
        #expect(valid == 39 && invalid == 27, "valid \(valid), invalid \(invalid)")
        print("Wycheproof AES-256-GCM: \(valid) valid, \(invalid) invalid cases checked")
    }

    @Test("X25519")
    func x25519() throws {
        let cases = try Vectors.wycheproof("x25519_test.json")
        #expect(cases.count == 518)
        var counts = [String: Int]()
        for (_, t) in cases {
            counts[t.result, default: 0] += 1
            let result: [UInt8]? = try? {
                let priv = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: t.hex("private"))
                let pub = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: t.hex("public"))
                return try priv.sharedSecretFromKeyAgreement(with: pub).unsafeArray()
            }()
            let expected = t.hex("shared")
            switch t.result {
            case "valid":
                #expect(result == expected, "tcId \(t.tcID) must agree")
            case "acceptable":
                // Either refused or the right answer; never a wrong secret, never all zeros.
                if let result { #expect(result == expected && result != [UInt8](repeating: 0, count: 32), "tcId \(t.tcID)") }
            case "invalid":
                #expect(result == nil, "tcId \(t.tcID) must be rejected")
            default:
                Issue.record("unexpected result \(t.result)")
            }
            if expected == [UInt8](repeating: 0, count: 32) { #expect(result == nil, "tcId \(t.tcID): all-zero secret must be refused") }
        }
        print("Wycheproof X25519: \(counts) cases checked")
    }

    @Test("Ed25519 verification")
    func ed25519() throws {
        let root = try #require(Vectors.json("wycheproof/ed25519_test.json") as? [String: Any])
        let groups = try #require(root["testGroups"] as? [[String: Any]])
        var valid = 0, invalid = 0
        for g in groups {
            let pkHex = try #require((g["publicKey"] as? [String: Any])?["pk"] as? String)
            let pk = try Curve25519.Signing.PublicKey(rawRepresentation: [UInt8](hex: pkHex))
            for t in g["tests"] as? [[String: Any]] ?? [] {
                let ok = pk.isValidSignature(t.hex("sig"), for: t.hex("msg"))
                switch t.result {
                case "valid": valid += 1; #expect(ok, "tcId \(t.tcID) must verify")
                case "invalid": invalid += 1; #expect(!ok, "tcId \(t.tcID) must be rejected")
                default: Issue.record("unexpected result \(t.result)")
                }
            }
        }
        #expect(valid + invalid == 151)
        print("Wycheproof Ed25519: \(valid) valid, \(invalid) invalid cases checked")
    }

    @Test("HKDF-SHA256")
    func hkdf() throws {
        let cases = try Vectors.wycheproof("hkdf_sha256_test.json")
        #expect(cases.count == 86)
        var valid = 0, invalid = 0
        for (_, t) in cases {
            let size = try #require(t["size"] as? Int)
            let okm = try? HKDF.deriveKey(inputKeyMaterial: t.hex("ikm"), salt: t.hex("salt"), info: t.hex("info"),
                                          outputByteCount: size).unsafeArray()
            switch t.result {
            case "valid": valid += 1; #expect(okm == t.hex("okm"), "tcId \(t.tcID)")
            case "invalid": invalid += 1; #expect(okm == nil, "tcId \(t.tcID) must be rejected")
            default: Issue.record("unexpected result \(t.result)")
            }
        }
        print("Wycheproof HKDF-SHA256: \(valid) valid, \(invalid) invalid cases checked")
    }
}
