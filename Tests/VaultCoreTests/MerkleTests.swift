import Foundation
import Testing
import VaultCrypto
@testable import VaultCore

@Suite("Merkle tree (RFC 9162 §2.1)")
struct MerkleTests {
    static let vectorsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Vectors")

    @Test("every root in Tests/Vectors/merkle/rfc9162_roots.json, by recursion and by the frontier")
    func vectorRoots() throws {
        let data = try Data(contentsOf: Self.vectorsDirectory.appendingPathComponent("merkle/rfc9162_roots.json"))
        guard case .object(let root) = try JSONParser.parse([UInt8](data)), let leavesHex = root["leaves_hex"]?.arrayValue,
              let roots = root["roots_hex"]?.objectValue else { Issue.record("malformed vector file"); return }
        let leaves = leavesHex.map { Hex.decode($0.stringValue!)! }
        #expect(roots.count == leaves.count + 1)
        var frontier = MerkleFrontier()
        for n in 0...leaves.count {
            let expected = Hex.decode(roots[String(n)]!.stringValue!)!
            #expect(Merkle.root(ofLeafHashes: leaves.prefix(n).map { Merkle.leafHash($0) }[...]) == expected, "size \(n)")
            #expect(frontier.root == expected, "frontier at size \(n)")
            if n < leaves.count { frontier.append(Merkle.leafHash(leaves[n])) }
        }
        print("RFC 9162 roots: \(roots.count) tree sizes reproduced")
    }

    @Test("frontier root equals the recursive root for 0...300 leaves; it holds one node per set bit")
    func frontier() throws {
        var frontier = MerkleFrontier()
        var leaves: [[UInt8]] = []
        for n in 0...300 {
            #expect(frontier.root == Merkle.root(ofLeafHashes: leaves[...]), "size \(n)")
            #expect(frontier.levels.count == n.nonzeroBitCount)
            #expect(try MerkleFrontier(size: n, levels: frontier.levels) == frontier)
            let leaf = Merkle.leafHash(Array("entry \(n)".utf8))
            leaves.append(leaf)
            frontier.append(leaf)
        }
        #expect(throws: VaultError.self) { try MerkleFrontier(size: 5, levels: [0: [UInt8](repeating: 0, count: 32)]) }
    }

    @Test("inclusion proofs verify for every (index, size) up to 40; a wrong leaf, index, hash or path length fails")
    func inclusion() {
        let leaves = (0..<40).map { Merkle.leafHash(Array("leaf \($0)".utf8)) }
        var checked = 0
        for size in 1...40 {
            let root = Merkle.root(ofLeafHashes: leaves[..<size])
            for index in 0..<size {
                let proof = Merkle.inclusionProof(index: index, leafHashes: leaves[..<size])
                #expect(Merkle.verifyInclusion(leafHash: leaves[index], index: index, treeSize: size, proof: proof, root: root))
                #expect(!Merkle.verifyInclusion(leafHash: leaves[(index + 1) % 40], index: index, treeSize: size, proof: proof, root: root))
                if size > 1 {
                    #expect(!Merkle.verifyInclusion(leafHash: leaves[index], index: (index + 1) % size, treeSize: size, proof: proof, root: root))
                    var bent = proof
                    bent[0][0] ^= 1
                    #expect(!Merkle.verifyInclusion(leafHash: leaves[index], index: index, treeSize: size, proof: bent, root: root))
                }
                // The size itself is bound by the signed checkpoint, not the path; but an index
                // outside the tree, or a path with a hash added or removed, must fail.
                #expect(!Merkle.verifyInclusion(leafHash: leaves[index], index: size, treeSize: size, proof: proof, root: root))
                #expect(!Merkle.verifyInclusion(leafHash: leaves[index], index: index, treeSize: size, proof: proof + [root], root: root))
                if !proof.isEmpty {
                    #expect(!Merkle.verifyInclusion(leafHash: leaves[index], index: index, treeSize: size, proof: Array(proof.dropLast()), root: root))
                }
                checked += 1
            }
        }
        #expect(checked == 820)
    }
}

@Suite("Canonical JSON (RFC 8785) and the strict parser")
struct CanonicalJSONTests {
    @Test("members sort by UTF-16 code units (RFC 8785 §3.2.3 example)")
    func sorting() throws {
        let keys = ["\u{20ac}", "\r", "\u{fb33}", "1", "\u{1F600}", "\u{80}", "\u{f6}"]
        let value = JSONValue.object(Dictionary(uniqueKeysWithValues: keys.map { ($0, .string("x")) }))
        let text = CanonicalJSON.string(value)
        let order = ["\\r", "1", "\u{80}", "\u{f6}", "\u{20ac}", "\u{1F600}", "\u{fb33}"].map { "\"\($0)\":\"x\"" }
        #expect(text == "{" + order.joined(separator: ",") + "}")
    }

    @Test("string escapes are the minimal ones")
    func escapes() {
        let s = JSONValue.string("\"\\/\u{08}\u{0C}\n\r\t\u{01}\u{1f}\u{7f}é€😀")
        #expect(CanonicalJSON.string(s) == "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}é€😀\"")
        #expect(CanonicalJSON.string(.array([.integer(-7), .integer(0), .bool(true), .null, .object([:])])) == "[-7,0,true,null,{}]")
    }

    @Test("parse then encode is the identity on canonical text; non-canonical text is detected")
    func roundTrip() throws {
        let canonical = #"{"a":[1,{"b":null}],"c":"\u0000é","d":true}"#
        #expect(CanonicalJSON.string(try JSONParser.parse(Array(canonical.utf8))) == canonical)
        for variant in [#"{ "a":[1,{"b":null}],"c":"\u0000é","d":true}"#, #"{"d":true,"a":[1,{"b":null}],"c":"\u0000é"}"#,
                        #"{"a":[1,{"b":null}],"c":"\u0000\u00e9","d":true}"#] {
            // The verifier's rule: text is canonical only if re-encoding its value gives it back.
            let reencoded = CanonicalJSON.encode(try JSONParser.parse(Array(variant.utf8)))
            #expect(reencoded == Array(canonical.utf8))
            #expect(reencoded != Array(variant.utf8), "a non-canonical variant re-encodes to itself")
        }
    }

    @Test("the parser refuses duplicates, trailing data, lone surrogates, bad numbers and deep nesting", arguments: [
        #"{"a":1,"a":2}"#, #"{"a":1} x"#, #""\ud800""#, #"01"#, #"1."#, #"[1,]"#, #"{"a"}"#, "\"a\u{01}\"",
        String(repeating: "[", count: 100) + String(repeating: "]", count: 100), #"99999999999999999999"#, "",
    ])
    func strictness(text: String) {
        #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse(Array(text.utf8)) }
    }
}
