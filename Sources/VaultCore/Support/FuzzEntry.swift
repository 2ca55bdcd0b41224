import Foundation
import VaultCrypto

/// Entry points for the fuzz targets in `Fuzz/` (libFuzzer): each takes arbitrary bytes and must
/// either accept them or throw a VaultError — never crash, hang or allocate without bound. They
/// expose parsers that are otherwise internal; nothing else should call them.
@_spi(Fuzzing)
public enum FuzzEntry {
    /// The key-file reader up to the KDF (parsing, checksum, header and parameter checks).
    public static func keyFile(_ bytes: [UInt8]) throws {
        _ = try KeyFile.parse(bytes, path: "fuzz.key")
    }

    /// The audit-export reader of `audit verify`, line by line, including signature checks.
    public static func auditExport(_ bytes: [UInt8]) throws {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        guard bytes.last == 0x0A else { throw VaultError.integrity("no final newline") }
        lines.removeLast()
        var i = 0
        _ = try AuditVerifier.verify(lines: { () -> [UInt8]? in
            defer { i += 1 }
            return i < lines.count ? lines[i] : nil
        }, olderCheckpoint: nil)
    }

    /// The seal-record decoders: a score plaintext and a batch trailer.
    public static func sealRecord(_ bytes: [UInt8]) {
        let secret = SecureBytes(bytes)
        _ = secret.withUnsafeBytes { SealFormat.units(of: $0) }
        _ = SealFormat.parseTrailer(secret)
    }
}
