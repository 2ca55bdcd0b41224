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

    /// The audit-export reader of `audit verify`, line by line through the same bounded line
    /// reader as a file, including signature checks.
    public static func auditExport(_ bytes: [UInt8]) throws {
        var reader = LineReader(bytes: bytes)
        _ = try AuditVerifier.verify(lines: { try reader.next() }, olderCheckpoint: nil)
    }

    /// The seal-record decoders: a score plaintext and a batch trailer.
    public static func sealRecord(_ bytes: [UInt8]) {
        let secret = SecureBytes(bytes)
        _ = secret.withUnsafeBytes { SealFormat.units(of: $0) }
        _ = SealFormat.parseTrailer(secret)
    }
}
