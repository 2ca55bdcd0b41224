import Testing
import VaultCore
@Test func placeholder() { #expect(VaultCoreVersion.format == 1) }
