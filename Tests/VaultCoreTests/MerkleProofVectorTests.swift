import Foundation
import Testing
import VaultCrypto
@testable import VaultCore

/// RFC 9162 inclusion and consistency proofs: every transparency-dev/merkle vector file under
/// Tests/Vectors/merkle/{inclusion,consistency}, then generated trees of up to 40 leaves.
@Suite("Merkle proofs (RFC 9162 §2.1.3, §2.1.4)")
struct MerkleProofVectorTests {
    static let merkleDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Vectors/merkle")

    // The vector files, field for field. A null or absent field reads as Go's zero value, as in
    // the Go tests that load them (the single-leaf happy paths have "proof": null).
    struct InclusionVector: Decodable {
        let leafIdx: UInt64?, treeSize: UInt64?, root: String?, leafHash: String?, proof: [String]?, desc: String?, wantErr: Bool
    }

    struct ConsistencyVector: Decodable {
        let size1: UInt64?, size2: UInt64?, root1: String?, root2: String?, proof: [String]?, desc: String?, wantErr: Bool
    }

    struct VectorError: Error, CustomStringConvertible { let description: String }

    /// Every regular file below merkle/<kind>, whatever its name, relative path first.
    static func load<V: Decodable>(_ kind: String, as type: V.Type) throws -> [(path: String, vector: V)] {
        let base = merkleDirectory.appendingPathComponent(kind)
        guard let walk = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw VectorError(description: "cannot list \(base.path)")
        }
        var out: [(String, V)] = []
        for case let url as URL in walk {
            guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else { continue }
            let path = String(url.path.dropFirst(base.path.count + 1))
            do { out.append((path, try JSONDecoder().decode(V.self, from: Data(contentsOf: url)))) } catch {
                throw VectorError(description: "\(kind)/\(path): \(error)")
            }
        }
        return out.sorted { $0.0 < $1.0 }
    }

    static func bytes(_ text: String?, _ path: String) throws -> [UInt8] {
        guard let text else { return [] }
        guard let b = Base64.decode(text) else { throw VectorError(description: "\(path): bad base64 \(text)") }
        return b
    }

    /// Sizes and indices are uint64 in the files; the API takes Int. A value above Int.max (the
    /// "sub @1" variants' 2^64 − 1) reaches it as its two's-complement bit pattern, a negative
    /// number the API must refuse; such a value may only appear in a wantErr vector.
    static func int(_ v: UInt64?, _ path: String, wantErr: Bool) -> Int {
        let v = v ?? 0
        if Int(exactly: v) == nil { #expect(wantErr, "\(path): \(v) does not fit an Int in a vector that must verify") }
        return Int(truncatingIfNeeded: v)
    }

    /// The leaves the vectors' trees are built from (transparency-dev/merkle testonly/constants.go).
    static func referenceLeafHashes() throws -> [[UInt8]] {
        let data = try Data(contentsOf: merkleDirectory.appendingPathComponent("rfc9162_roots.json"))
        guard let leaves = try JSONParser.parse([UInt8](data))["leaves_hex"]?.arrayValue else {
            throw VectorError(description: "rfc9162_roots.json has no leaves_hex")
        }
        return try leaves.map { v in
            guard let b = v.stringValue.flatMap(Hex.decode) else { throw VectorError(description: "bad leaf \(v)") }
            return Merkle.leafHash(b)
        }
    }

    @Test("all 98 inclusion vector files: the 6 happy paths verify, the 92 broken variants are refused")
    func inclusionVectors() throws {
        let vectors = try Self.load("inclusion", as: InclusionVector.self)
        let reference = try Self.referenceLeafHashes()
        var happy = 0, broken = 0, regenerated = 0
        for (path, v) in vectors {
            let index = Self.int(v.leafIdx, path, wantErr: v.wantErr), size = Self.int(v.treeSize, path, wantErr: v.wantErr)
            let leaf = try Self.bytes(v.leafHash, path), root = try Self.bytes(v.root, path)
            let proof = try (v.proof ?? []).map { try Self.bytes($0, path) }
            let verified = Merkle.verifyInclusion(leafHash: leaf, index: index, treeSize: size, proof: proof, root: root)
            #expect(verified == !v.wantErr, "inclusion/\(path) (\(v.desc ?? "")): verified \(verified), wantErr \(v.wantErr)")
            if v.wantErr { broken += 1 } else { happy += 1 }
            // A happy path over the reference tree must also be what the generator produces.
            if !v.wantErr, size <= reference.count, Merkle.root(ofLeafHashes: reference[..<size]) == root {
                #expect(Merkle.inclusionProof(index: index, leafHashes: reference[..<size]) == proof, "inclusion/\(path)")
                regenerated += 1
            }
        }
        #expect(vectors.count == 98)
        #expect(happy == 6)
        #expect(broken == 92)
        #expect(regenerated == 5)
    }

    @Test("all 98 consistency vector files: the 6 happy paths verify, the 92 broken variants are refused")
    func consistencyVectors() throws {
        let vectors = try Self.load("consistency", as: ConsistencyVector.self)
        let reference = try Self.referenceLeafHashes()
        var happy = 0, broken = 0, regenerated = 0
        for (path, v) in vectors {
            let old = Self.int(v.size1, path, wantErr: v.wantErr), new = Self.int(v.size2, path, wantErr: v.wantErr)
            let oldRoot = try Self.bytes(v.root1, path), newRoot = try Self.bytes(v.root2, path)
            let proof = try (v.proof ?? []).map { try Self.bytes($0, path) }
            let verified = Merkle.verifyConsistency(oldSize: old, newSize: new, oldRoot: oldRoot, newRoot: newRoot, proof: proof)
            #expect(verified == !v.wantErr, "consistency/\(path) (\(v.desc ?? "")): verified \(verified), wantErr \(v.wantErr)")
            if v.wantErr { broken += 1 } else { happy += 1 }
            if !v.wantErr, new <= reference.count, Merkle.root(ofLeafHashes: reference[..<new]) == newRoot {
                #expect(Merkle.consistencyProof(oldSize: old, leafHashes: reference[..<new]) == proof, "consistency/\(path)")
                regenerated += 1
            }
        }
        #expect(vectors.count == 98)
        #expect(happy == 6)
        #expect(broken == 92)
        #expect(regenerated == 5)
    }

    static let maxLeaves = 40
    static let leaves = (0..<maxLeaves).map { Merkle.leafHash(Array("leaf \($0)".utf8)) }
    static let roots = (0...maxLeaves).map { Merkle.root(ofLeafHashes: leaves[..<$0]) }

    /// The proof with one bit flipped, for every bit of every hash.
    static func bitFlips(_ proof: [[UInt8]]) -> [[[UInt8]]] {
        proof.indices.flatMap { i in
            (0..<proof[i].count * 8).map { bit in
                var bent = proof
                bent[i][bit / 8] ^= 1 << (bit % 8)
                return bent
            }
        }
    }

    /// Malformed paths: a hash short or long by a byte, one hash removed, one added.
    static func malformed(_ proof: [[UInt8]], extra: [UInt8]) -> [[[UInt8]]] {
        var out = [proof + [extra], [extra] + proof]
        for i in proof.indices {
            var short = proof, long = proof, removed = proof
            short[i].removeLast()
            long[i].append(0)
            removed.remove(at: i)
            out += [short, long, removed]
        }
        return out
    }

    @Test("generated consistency proofs: every old size 0...n verifies against the new tree, and every bent proof, other old size, other root or forked history is refused",
          arguments: 0...maxLeaves)
    func consistencyProperty(newSize n: Int) {
        let (leaves, roots) = (Self.leaves, Self.roots)
        for m in 0...n {
            let proof = Merkle.consistencyProof(oldSize: m, leafHashes: leaves[..<n])
            let accepts = { (m: Int, n: Int, r1: [UInt8], r2: [UInt8], p: [[UInt8]]) in
                Merkle.verifyConsistency(oldSize: m, newSize: n, oldRoot: r1, newRoot: r2, proof: p)
            }
            guard m > 0 else {
                // Every tree extends the empty one: there is nothing to prove, and the vectors
                // require the check to be refused rather than pass vacuously.
                #expect(proof.isEmpty)
                #expect(!accepts(0, n, roots[0], roots[n], proof))
                continue
            }
            #expect(accepts(m, n, roots[m], roots[n], proof), "\(m) → \(n)")
            #expect(proof.isEmpty == (m == n))
            #expect(!accepts(n, m, roots[n], roots[m], proof) || m == n, "reversed \(m) → \(n)")

            let bent = Self.bitFlips(proof).filter { accepts(m, n, roots[m], roots[n], $0) }
            #expect(bent.isEmpty, "\(m) → \(n): \(bent.count) proofs with a flipped bit accepted")
            let malformed = Self.malformed(proof, extra: roots[m]).filter { accepts(m, n, roots[m], roots[n], $0) }
            #expect(malformed.isEmpty, "\(m) → \(n): \(malformed.count) malformed paths accepted")

            // Another old size, with its own root or with this one. (The new size is bound to its
            // root by the signed checkpoint; a new size with a root not its own can pass the
            // path, as in RFC 9162, so the other new sizes are checked with their own roots.)
            for m2 in -1...(n + 1) where m2 != m {
                #expect(!accepts(m2, n, roots[m], roots[n], proof), "\(m) → \(n) as old size \(m2)")
                if (0...n).contains(m2) { #expect(!accepts(m2, n, roots[m2], roots[n], proof), "\(m) → \(n) as old size \(m2)") }
            }
            for n2 in 0...Self.maxLeaves where n2 != n {
                #expect(!accepts(m, n2, roots[m], roots[n2], proof), "\(m) → \(n) as new size \(n2)")
            }
            #expect(!accepts(m, Int.max, roots[m], roots[n], proof))
            #expect(!accepts(Int.min, n, roots[m], roots[n], proof))

            // Wrong roots, and a fork: the new log rewrote one of the first m entries.
            var flipped = roots[m]
            flipped[31] ^= 0x80
            #expect(!accepts(m, n, flipped, roots[n], proof))
            flipped = roots[n]
            flipped[0] ^= 1
            #expect(!accepts(m, n, roots[m], flipped, proof))
            #expect(!accepts(m, n, roots[n], roots[m], proof) || m == n)
            for rewritten in 0..<m {
                var fork = Array(leaves[..<n])
                fork[rewritten] = Merkle.leafHash(Array("forged \(rewritten)".utf8))
                let forkProof = Merkle.consistencyProof(oldSize: m, leafHashes: fork[...])
                let forkRoot = Merkle.root(ofLeafHashes: fork[...])
                #expect(!accepts(m, n, roots[m], forkRoot, forkProof), "\(m) → \(n) forked at \(rewritten)")
                #expect(accepts(m, n, Merkle.root(ofLeafHashes: fork[..<m]), forkRoot, forkProof))
            }
        }
    }

    @Test("generated inclusion proofs: every leaf of every tree verifies, and every bent proof, other leaf, index, tree or root is refused",
          arguments: 1...maxLeaves)
    func inclusionProperty(treeSize n: Int) {
        let (leaves, roots) = (Self.leaves, Self.roots)
        let accepts = { (leaf: [UInt8], i: Int, n: Int, p: [[UInt8]], root: [UInt8]) in
            Merkle.verifyInclusion(leafHash: leaf, index: i, treeSize: n, proof: p, root: root)
        }
        for i in 0..<n {
            let proof = Merkle.inclusionProof(index: i, leafHashes: leaves[..<n])
            #expect(accepts(leaves[i], i, n, proof, roots[n]), "leaf \(i) of \(n)")

            let bent = Self.bitFlips(proof).filter { accepts(leaves[i], i, n, $0, roots[n]) }
            #expect(bent.isEmpty, "leaf \(i) of \(n): \(bent.count) proofs with a flipped bit accepted")
            let malformed = Self.malformed(proof, extra: roots[n]).filter { accepts(leaves[i], i, n, $0, roots[n]) }
            #expect(malformed.isEmpty, "leaf \(i) of \(n): \(malformed.count) malformed paths accepted")

            for j in -1...n where j != i {
                #expect(!accepts(leaves[i], j, n, proof, roots[n]), "leaf \(i) of \(n) as index \(j)")
                if (0..<n).contains(j) { #expect(!accepts(leaves[j], i, n, proof, roots[n]), "leaf \(j) as leaf \(i) of \(n)") }
            }
            // Another tree size, with that tree's root (see consistencyProperty on sizes).
            for n2 in 0...Self.maxLeaves where n2 != n {
                #expect(!accepts(leaves[i], i, n2, proof, roots[n2]), "leaf \(i) of \(n) in a tree of \(n2)")
            }
            #expect(!accepts(leaves[i], i, Int.min, proof, roots[n]))
            var flipped = roots[n]
            flipped[7] ^= 4
            #expect(!accepts(leaves[i], i, n, proof, flipped))
            flipped = leaves[i]
            flipped[31] ^= 1
            #expect(!accepts(flipped, i, n, proof, roots[n]))
            #expect(!accepts(Array(leaves[i].dropLast()), i, n, proof, roots[n]))
            #expect(!accepts(leaves[i], i, n, proof, Array(roots[n].dropLast())))
        }
    }
}
