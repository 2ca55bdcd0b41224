import Foundation
import VaultCrypto

/// The Merkle tree of RFC 9162 §2.1: leaf = SHA-256(0x00 ‖ entry), node = SHA-256(0x01 ‖ left ‖ right),
/// the left subtree of n leaves holding the largest power of two below n.
public enum Merkle {
    public static func leafHash(_ entry: some ContiguousBytes) -> [UInt8] {
        var h = SHA256.Hasher()
        h.update(data: [0x00])
        h.update(data: entry)
        return h.finalize()
    }

    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var h = SHA256.Hasher()
        h.update(data: [0x01])
        h.update(data: left)
        h.update(data: right)
        return h.finalize()
    }

    /// The root of the empty tree: SHA-256 of nothing.
    public static let emptyRoot = SHA256.hash(data: [UInt8]())

    /// MTH(D[n]) computed directly from leaf hashes (RFC 9162 §2.1.1), for checks and proofs.
    public static func root(ofLeafHashes leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        switch leaves.count {
        case 0: return emptyRoot
        case 1: return leaves[leaves.startIndex]
        default:
            let k = largestPowerOfTwo(below: leaves.count)
            let mid = leaves.startIndex + k
            return nodeHash(root(ofLeafHashes: leaves[leaves.startIndex..<mid]), root(ofLeafHashes: leaves[mid...]))
        }
    }

    /// The largest power of two strictly less than n (n ≥ 2).
    static func largestPowerOfTwo(below n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// The inclusion proof of leaf `index` in the tree of `leaves` (RFC 9162 §2.1.3.1). Each level
    /// hashes only the sibling subtree, so a proof costs fewer than n hashes.
    public static func inclusionProof(index: Int, leafHashes leaves: ArraySlice<[UInt8]>) -> [[UInt8]] {
        precondition(index >= 0 && index < leaves.count, "leaf \(index) is not in a tree of \(leaves.count)")
        guard leaves.count > 1 else { return [] }
        let k = largestPowerOfTwo(below: leaves.count)
        let mid = leaves.startIndex + k
        if index < k {
            return inclusionProof(index: index, leafHashes: leaves[..<mid]) + [root(ofLeafHashes: leaves[mid...])]
        }
        return inclusionProof(index: index - k, leafHashes: leaves[mid...]) + [root(ofLeafHashes: leaves[..<mid])]
    }

    /// Verifies an inclusion proof exactly as RFC 9162 §2.1.3.2 does. The leaf hash, the root and
    /// every path hash must be 32 bytes, and 0 ≤ index < treeSize. The path binds the index but
    /// not the size: callers take (treeSize, root) together from a signed checkpoint.
    public static func verifyInclusion(leafHash: [UInt8], index: Int, treeSize: Int, proof: [[UInt8]], root: [UInt8]) -> Bool {
        guard index >= 0, index < treeSize, leafHash.count == 32, root.count == 32 else { return false }
        var fn = index, sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard p.count == 32, sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1; sn >>= 1
        }
        return sn == 0 && ConstantTime.equals(r, root)
    }

    /// PROOF(m, D[n]) of RFC 9162 §2.1.4.1: the subtree hashes showing that the tree of `leaves`
    /// extends its first `oldSize` leaves unchanged. Empty when there is nothing to prove
    /// (oldSize 0, or the whole tree). Fewer than n hashes, like an inclusion proof.
    public static func consistencyProof(oldSize: Int, leafHashes leaves: ArraySlice<[UInt8]>) -> [[UInt8]] {
        precondition(oldSize >= 0 && oldSize <= leaves.count, "old size \(oldSize) is not within a tree of \(leaves.count)")
        return oldSize == 0 ? [] : subproof(oldSize, leaves, whole: true)
    }

    /// SUBPROOF(m, D[n], b); `whole` is b: whether the m leaves are the old tree itself, whose
    /// root the verifier already holds.
    private static func subproof(_ m: Int, _ leaves: ArraySlice<[UInt8]>, whole: Bool) -> [[UInt8]] {
        if m == leaves.count { return whole ? [] : [root(ofLeafHashes: leaves)] }
        let k = largestPowerOfTwo(below: leaves.count)
        let mid = leaves.startIndex + k
        if m <= k { return subproof(m, leaves[..<mid], whole: whole) + [root(ofLeafHashes: leaves[mid...])] }
        return subproof(m - k, leaves[mid...], whole: false) + [root(ofLeafHashes: leaves[..<mid])]
    }

    /// Verifies a consistency proof exactly as RFC 9162 §2.1.4.2 does: that the tree of `newSize`
    /// leaves with `newRoot` begins with the tree of `oldSize` leaves with `oldRoot`. This is why
    /// a client that kept a checkpoint refuses a rolled-back or forked vault log: only an
    /// append-only extension of what it saw has such a proof. As in transparency-dev/merkle,
    /// equal sizes need an empty proof and equal roots, and oldSize 0 is refused (every tree
    /// extends the empty one; there is nothing to check, so callers handle it themselves).
    public static func verifyConsistency(oldSize: Int, newSize: Int, oldRoot: [UInt8], newRoot: [UInt8], proof: [[UInt8]]) -> Bool {
        guard oldSize > 0, oldSize <= newSize else { return false }
        guard oldSize < newSize else { return proof.isEmpty && ConstantTime.equals(oldRoot, newRoot) }
        guard !proof.isEmpty, oldRoot.count == 32, newRoot.count == 32, proof.allSatisfy({ $0.count == 32 }) else { return false }
        // Step 2: when the old tree is a perfect subtree, its root is the path's first node.
        let path = oldSize & (oldSize - 1) == 0 ? [oldRoot] + proof : proof
        var fn = oldSize - 1, sn = newSize - 1
        while fn & 1 == 1 { fn >>= 1; sn >>= 1 }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                while fn & 1 == 0 && fn != 0 { fn >>= 1; sn >>= 1 }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1; sn >>= 1
        }
        return sn == 0 && ConstantTime.equals(fr, oldRoot) && ConstantTime.equals(sr, newRoot)
    }
}

/// The right edge of the tree: the roots of the perfect subtrees that make up the first
/// `size` leaves, one per set bit of `size`. Appending touches O(log n) of them, and the root
/// is folded from them, so the log never has to be re-read to grow (issue: append is O(log n)).
public struct MerkleFrontier: Sendable, Equatable {
    /// levels[h] is the root of the perfect subtree of 2^h leaves at the right edge, if present.
    public private(set) var levels: [Int: [UInt8]] = [:]
    public private(set) var size: Int = 0

    public init() {}

    public init(size: Int, levels: [Int: [UInt8]]) throws {
        guard levels.keys.sorted() == (0..<Int.bitWidth).filter({ size >> $0 & 1 == 1 }) else {
            throw VaultError.integrity("the stored Merkle frontier does not match the log size \(size)")
        }
        self.size = size
        self.levels = levels
    }

    /// Adds a leaf hash. Returns the levels that changed (removed, then the one added) so a
    /// store can persist only those.
    @discardableResult
    public mutating func append(_ leafHash: [UInt8]) -> (removed: [Int], added: (level: Int, hash: [UInt8])) {
        var carry = leafHash
        var level = 0
        var removed: [Int] = []
        while let left = levels[level] {
            carry = Merkle.nodeHash(left, carry)
            levels[level] = nil
            removed.append(level)
            level += 1
        }
        levels[level] = carry
        size += 1
        return (removed, (level, carry))
    }

    /// The tree head: the subtrees folded right to left (smaller, later subtrees on the right).
    public var root: [UInt8] {
        // The set bits of size are exactly the levels present, smallest first (no sorting: this
        // runs once per signed entry when a log is verified).
        var acc: [UInt8]?
        var level = 0
        while size >> level != 0 {
            if size >> level & 1 == 1, let hash = levels[level] {
                acc = acc.map { Merkle.nodeHash(hash, $0) } ?? hash
            }
            level += 1
        }
        return acc ?? Merkle.emptyRoot
    }
}
